//! SIP trunks (peers): where calls come from and go to.

use serde::{Deserialize, Serialize};

use super::name;
use crate::error::Problems;
use crate::resource::{Kind, Resource};

/// Transport of a trunk address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TrunkTransport {
    /// UDP (default).
    #[default]
    Udp,
    /// TCP.
    Tcp,
    /// TLS.
    Tls,
}

/// One address of a trunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrunkAddress {
    /// Host name or IP address.
    pub host: String,
    /// Port; default 5060 (5061 for TLS).
    #[serde(default)]
    pub port: Option<u16>,
    /// Transport.
    #[serde(default)]
    pub transport: TrunkTransport,
}

/// Reliable provisional responses (RFC 3262) towards this trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Rel100 {
    /// Use 100rel when the peer supports it (default).
    #[default]
    Supported,
    /// Insist on 100rel.
    Required,
    /// Never use 100rel.
    Off,
}

/// How media changes are renegotiated with this trunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Renegotiation {
    /// RFC 3311 UPDATE (default).
    #[default]
    Update,
    /// re-INVITE.
    Reinvite,
}

/// Where the called number of an inbound call is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CalledNumberSource {
    /// The original called number from History-Info or Diversion.
    OriginalCalled,
    /// The Request-URI user part.
    RequestUri,
    /// The To header's user part.
    To,
}

/// A SIP trunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrunkSpec {
    /// Unique name within the tenant.
    pub name: String,
    /// Where the peer is (1..=16 addresses, tried in order).
    pub addresses: Vec<TrunkAddress>,
    /// Source networks calls may come from (CIDR or single address); default: the addresses.
    #[serde(default)]
    pub allowed_sources: Vec<String>,
    /// User name the peer must authenticate with (digest), if it must.
    #[serde(default)]
    pub inbound_username: Option<String>,
    /// Password for `inbound_username` (write-only; stored as HA1).
    #[serde(default, skip_serializing)]
    pub inbound_password: Option<String>,
    /// Register to the peer.
    #[serde(default)]
    pub register: bool,
    /// User name for registering to / authenticating at the peer.
    #[serde(default)]
    pub outbound_username: Option<String>,
    /// Password for `outbound_username` (write-only).
    #[serde(default, skip_serializing)]
    pub outbound_password: Option<String>,
    /// Requested registration lifetime, 60..=86400 s.
    #[serde(default = "default_register_expires")]
    pub register_expires_s: u32,
    /// OPTIONS probe interval: 0 (off) or 5..=3600 s; default 60.
    #[serde(default = "default_probe_interval")]
    pub probe_interval_s: u32,
    /// Failed probes before the link is Down, 1..=20; default 3.
    #[serde(default = "default_failure_threshold")]
    pub failure_threshold: u32,
    /// Any final response to a probe counts as Up (not only 200).
    #[serde(default)]
    pub accept_any_response: bool,
    /// Concurrent calls, 1..=100000; default 100.
    #[serde(default = "default_max_calls")]
    pub max_concurrent_calls: u32,
    /// New calls per second, 1..=10000; default 10.
    #[serde(default = "default_max_cps")]
    pub max_cps: u32,
    /// Codecs in order of preference (PCMA, PCMU, telephone-event implied).
    #[serde(default = "default_codecs")]
    pub codecs: Vec<String>,
    /// 100rel policy.
    #[serde(default)]
    pub rel100: Rel100,
    /// Renegotiation method.
    #[serde(default)]
    pub renegotiation: Renegotiation,
    /// Where to read the called number from, in order of preference.
    #[serde(default = "default_called_number_from")]
    pub called_number_from: Vec<CalledNumberSource>,
}

fn default_register_expires() -> u32 {
    3600
}
fn default_probe_interval() -> u32 {
    60
}
fn default_failure_threshold() -> u32 {
    3
}
fn default_max_calls() -> u32 {
    100
}
fn default_max_cps() -> u32 {
    10
}
fn default_codecs() -> Vec<String> {
    vec!["PCMA".to_owned(), "PCMU".to_owned()]
}
fn default_called_number_from() -> Vec<CalledNumberSource> {
    vec![
        CalledNumberSource::OriginalCalled,
        CalledNumberSource::RequestUri,
        CalledNumberSource::To,
    ]
}

/// Checks a host name or IP literal.
fn host(p: &mut Problems, field: &str, value: &str) {
    let is_ip = value.parse::<std::net::IpAddr>().is_ok();
    let is_name = !value.is_empty()
        && value.len() <= 253
        && value.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    p.check(
        is_ip || is_name,
        field,
        "must be an IP address or a host name",
    );
}

/// Parses `a.b.c.d/n`, `v6/n` or a single address.
pub fn parse_network(value: &str) -> Option<(std::net::IpAddr, u8)> {
    let (addr, bits) = match value.split_once('/') {
        Some((a, b)) => (a, Some(b.parse::<u8>().ok()?)),
        None => (value, None),
    };
    let ip: std::net::IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((ip, bits))
}

impl Resource for TrunkSpec {
    const KIND: Kind = Kind::Trunk;

    fn validate(&self, p: &mut Problems) {
        name(p, "name", &self.name, 64);
        if self.addresses.is_empty() || self.addresses.len() > 16 {
            p.add("addresses", "must list 1 to 16 addresses");
        }
        for (i, a) in self.addresses.iter().enumerate() {
            host(p, &format!("addresses[{i}].host"), &a.host);
            if a.port == Some(0) {
                p.add(format!("addresses[{i}].port"), "must be 1 to 65535");
            }
        }
        if self.allowed_sources.len() > 64 {
            p.add("allowed_sources", "must list at most 64 networks");
        }
        for (i, net) in self.allowed_sources.iter().enumerate() {
            p.check(
                parse_network(net).is_some(),
                format!("allowed_sources[{i}]"),
                "must be an IP address or CIDR network (192.0.2.0/24)",
            );
        }
        if let Some(user) = &self.inbound_username {
            p.length("inbound_username", user, 1, 64);
        }
        if self.inbound_password.is_some() && self.inbound_username.is_none() {
            p.add("inbound_username", "is required with inbound_password");
        }
        if let Some(user) = &self.outbound_username {
            p.length("outbound_username", user, 1, 64);
        }
        if let Some(pw) = self
            .inbound_password
            .as_deref()
            .or(self.outbound_password.as_deref())
        {
            p.check(
                (1..=128).contains(&pw.len()),
                "password",
                "must be 1 to 128 characters",
            );
        }
        if self.register && self.outbound_username.is_none() {
            p.add("outbound_username", "is required when register is true");
        }
        p.range("register_expires_s", self.register_expires_s, 60, 86_400);
        p.check(
            self.probe_interval_s == 0 || (5..=3600).contains(&self.probe_interval_s),
            "probe_interval_s",
            "must be 0 (off) or 5 to 3600",
        );
        p.range("failure_threshold", self.failure_threshold, 1, 20);
        p.range(
            "max_concurrent_calls",
            self.max_concurrent_calls,
            1,
            100_000,
        );
        p.range("max_cps", self.max_cps, 1, 10_000);
        if self.codecs.is_empty() {
            p.add("codecs", "must name at least one codec");
        }
        for (i, codec) in self.codecs.iter().enumerate() {
            p.check(
                matches!(codec.as_str(), "PCMA" | "PCMU"),
                format!("codecs[{i}]"),
                "must be PCMA or PCMU",
            );
        }
        if self.called_number_from.is_empty() {
            p.add("called_number_from", "must name at least one source");
        }
    }

    fn natural_key(&self) -> String {
        self.name.clone()
    }

    fn take_secrets(&mut self, realm: &str) -> Option<serde_json::Value> {
        let mut secrets = serde_json::Map::new();
        if let (Some(pw), Some(user)) = (self.inbound_password.take(), &self.inbound_username) {
            let (md5, sha256) = crate::credentials::sip_ha1_pair(user, realm, &pw);
            secrets.insert("inbound_ha1_md5".into(), md5.into());
            secrets.insert("inbound_ha1_sha256".into(), sha256.into());
        }
        if let Some(pw) = self.outbound_password.take() {
            // Sent to the carrier in digest answers, so it must be kept in a usable form.
            secrets.insert("outbound_password".into(), pw.into());
        }
        (!secrets.is_empty()).then_some(serde_json::Value::Object(secrets))
    }
}
