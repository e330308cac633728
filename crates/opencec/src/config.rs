//! Configuration: TOML file plus `OPENCEC_<SECTION>__<KEY>` environment overrides, validated
//! before anything starts so that a bad value fails fast with the field and the reason.

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

/// Prefix of environment variables that override configuration keys.
const ENV_PREFIX: &str = "OPENCEC_";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Syntax { origin: String, message: String },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub sip: SipConfig,
    pub media: MediaConfig,
    pub http: HttpConfig,
    pub database: DatabaseConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipConfig {
    pub listen: Vec<String>,
    pub public_address: String,
    pub tls: Option<TlsConfig>,
    /// Digest realm of our challenges.
    pub realm: String,
    /// Digest algorithms offered, most preferred first (RFC 8760): "SHA-256", "MD5".
    pub digest_algorithms: Vec<String>,
    /// Answer OPTIONS 200 from any source; otherwise only trunks and registered phones get
    /// 200 and everyone else 403.
    pub answer_options_from_anyone: bool,
    /// RFC 3261 timers in milliseconds.
    pub t1_ms: u64,
    pub t2_ms: u64,
    pub t4_ms: u64,
    /// Per-source message rate limit (messages per second; bursts of twice that).
    pub rate_limit_per_source: u32,
    /// Live SIP server transactions above which new requests get 503 (load shedding).
    pub max_transactions: usize,
    /// Registration intervals the registrar grants (seconds): shorter asks get 423.
    pub min_expires: u32,
    pub max_expires: u32,
    /// SIP peers (carrier and enterprise trunks). Moves to the database with storage.
    pub trunks: Vec<TrunkConfig>,
    /// SIP users that may register (agents' phones). Moves to the database with storage.
    pub users: Vec<UserConfig>,
    /// User part of the Request-URI that reaches the echo test (`""` disables it).
    pub echo_number: String,
    /// The echo test rings this long (180) before it answers, in milliseconds.
    pub echo_ring_ms: u64,
    /// The echo test hangs up (BYE) after this many seconds.
    pub echo_max_duration_s: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkConfig {
    pub name: String,
    /// `ip:port` of the peer.
    pub address: String,
    #[serde(default = "default_transport")]
    pub transport: String,
    /// Source networks (CIDR or single addresses) accepted as this trunk; default: the
    /// address's IP.
    #[serde(default)]
    pub allow_from: Vec<String>,
    /// Seconds between OPTIONS probes; 0 disables probing.
    #[serde(default = "default_probe_interval")]
    pub probe_interval_s: u64,
    #[serde(default = "default_failure_threshold")]
    pub failure_threshold: u32,
    #[serde(default)]
    pub accept_any_response: bool,
    /// Register to this trunk (carriers that want a registration before they deliver calls).
    #[serde(default)]
    pub register: bool,
    /// Digest credentials for the trunk's challenges (registration and our calls).
    pub username: Option<String>,
    pub password: Option<String>,
    /// Registration interval to ask for, seconds.
    #[serde(default = "default_register_expires")]
    pub register_expires: u32,
}

fn default_register_expires() -> u32 {
    3600
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub user: String,
    /// Plain password (hashed at load, never logged), or the stored HA1 values.
    pub password: Option<String>,
    pub ha1_md5: Option<String>,
    pub ha1_sha256: Option<String>,
    /// Digest algorithms offered to this user, overriding `sip.digest_algorithms` (phones on
    /// libre before 2.0, e.g. Debian 12's baresip, give up when any challenge is not MD5).
    pub digest_algorithms: Option<Vec<String>>,
}

fn default_transport() -> String {
    "udp".into()
}

fn default_probe_interval() -> u64 {
    60
}

fn default_failure_threshold() -> u32 {
    3
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert: String,
    pub key: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    pub rtp_ports: String,
    /// How the media shards move datagrams.
    pub io: MediaIo,
    /// A call whose customer or agent leg receives no RTP for this long is released.
    pub rtp_timeout_s: u64,
}

/// `media.io`: `auto` (io_uring where the kernel allows it, else epoll), `io_uring` (falls
/// back to epoll, logged, where refused) or `epoll`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaIo {
    #[default]
    Auto,
    IoUring,
    Epoll,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub listen: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            sip: SipConfig::default(),
            media: MediaConfig {
                rtp_ports: "20000-29999".into(),
                io: MediaIo::Auto,
                rtp_timeout_s: 30,
            },
            http: HttpConfig {
                listen: "0.0.0.0:8080".into(),
            },
            database: DatabaseConfig {
                url: "sqlite://data/opencec.db".into(),
            },
        }
    }
}

impl Default for SipConfig {
    fn default() -> Self {
        Self {
            listen: vec!["udp:0.0.0.0:5060".into(), "tcp:0.0.0.0:5060".into()],
            public_address: String::new(),
            tls: None,
            realm: "opencec".into(),
            digest_algorithms: vec!["SHA-256".into(), "MD5".into()],
            answer_options_from_anyone: false,
            t1_ms: 500,
            t2_ms: 4000,
            t4_ms: 5000,
            rate_limit_per_source: 200,
            max_transactions: 200_000,
            min_expires: 60,
            max_expires: 3600,
            trunks: Vec::new(),
            users: Vec::new(),
            echo_number: "echo".into(),
            echo_ring_ms: 1000,
            echo_max_duration_s: 120,
        }
    }
}

impl Default for MediaConfig {
    fn default() -> Self {
        Config::default().media
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Config::default().http
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Config::default().database
    }
}

/// A SIP listener as written in `sip.listen`: `udp:0.0.0.0:5060`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipListener {
    pub transport: SipTransport,
    pub addr: SocketAddr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipTransport {
    Udp,
    Tcp,
    Tls,
}

impl Config {
    /// Loads the file (if any), applies environment overrides and validates the result.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let file_text = match path {
            Some(path) => std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.display().to_string(),
                source,
            })?,
            None => String::new(),
        };
        let origin = path.map_or_else(|| "<defaults>".to_owned(), |p| p.display().to_string());
        Self::from_sources(&file_text, &origin, std::env::vars())
    }

    /// Builds a configuration from TOML text and `(name, value)` environment pairs.
    pub fn from_sources(
        toml_text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table: toml::Table =
            toml_text
                .parse()
                .map_err(|e: toml::de::Error| ConfigError::Syntax {
                    origin: origin.to_owned(),
                    message: e.to_string(),
                })?;
        for (name, raw) in env {
            let Some(path) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let Some((section, key)) = path.split_once("__") else {
                continue;
            };
            apply_override(
                &mut table,
                &section.to_ascii_lowercase(),
                &key.to_ascii_lowercase(),
                &raw,
            )?;
        }
        let config: Config =
            toml::Value::Table(table)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Syntax {
                    origin: origin.to_owned(),
                    message: e.message().to_owned(),
                })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.sip.listen.is_empty() {
            return Err(invalid("sip.listen", "at least one listener is required"));
        }
        for (index, spec) in self.sip.listen.iter().enumerate() {
            let listener = parse_listener(spec)
                .map_err(|reason| invalid(format!("sip.listen[{index}]"), reason))?;
            if listener.transport == SipTransport::Tls && self.sip.tls.is_none() {
                return Err(invalid(
                    format!("sip.listen[{index}]"),
                    "a tls listener needs [sip.tls] cert and key",
                ));
            }
        }
        if let Some(tls) = &self.sip.tls {
            for (field, path) in [("sip.tls.cert", &tls.cert), ("sip.tls.key", &tls.key)] {
                if !Path::new(path).is_file() {
                    return Err(invalid(field, format!("{path:?} is not a readable file")));
                }
            }
        }
        self.validate_sip()?;
        parse_port_range(&self.media.rtp_ports)
            .map_err(|reason| invalid("media.rtp_ports", reason))?;
        if !(5..=3600).contains(&self.media.rtp_timeout_s) {
            return Err(invalid("media.rtp_timeout_s", "must be 5..=3600 seconds"));
        }
        self.http
            .listen
            .parse::<SocketAddr>()
            .map_err(|e| invalid("http.listen", format!("not a socket address: {e}")))?;
        let url = &self.database.url;
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://")) {
            return Err(invalid(
                "database.url",
                "must start with sqlite: or postgres://",
            ));
        }
        Ok(())
    }

    fn validate_sip(&self) -> Result<(), ConfigError> {
        let sip = &self.sip;
        if sip.realm.trim().is_empty() || sip.realm.contains('"') {
            return Err(invalid("sip.realm", "must be non-empty and without quotes"));
        }
        if !valid_algorithms(&sip.digest_algorithms) {
            return Err(invalid(
                "sip.digest_algorithms",
                "a non-empty list of \"SHA-256\" and \"MD5\"",
            ));
        }
        if !(1..=60_000).contains(&sip.t1_ms) || sip.t2_ms < sip.t1_ms || sip.t4_ms == 0 {
            return Err(invalid(
                "sip.t1_ms",
                "need 1 <= t1_ms <= 60000, t2_ms >= t1_ms, t4_ms > 0",
            ));
        }
        if sip.min_expires == 0 || sip.max_expires < sip.min_expires {
            return Err(invalid(
                "sip.min_expires",
                "need 1 <= min_expires <= max_expires",
            ));
        }
        if sip.max_transactions < 100 {
            return Err(invalid("sip.max_transactions", "must be at least 100"));
        }
        if sip.rate_limit_per_source == 0 {
            return Err(invalid("sip.rate_limit_per_source", "must be at least 1"));
        }
        if !sip.public_address.is_empty() && sip.public_address.parse::<std::net::IpAddr>().is_err()
        {
            return Err(invalid(
                "sip.public_address",
                "must be an IP address or empty",
            ));
        }
        let mut names = std::collections::HashSet::new();
        for (i, trunk) in sip.trunks.iter().enumerate() {
            let field = |key: &str| format!("sip.trunks[{i}].{key}");
            if trunk.name.trim().is_empty() || !names.insert(trunk.name.as_str()) {
                return Err(invalid(field("name"), "must be non-empty and unique"));
            }
            trunk
                .address
                .parse::<SocketAddr>()
                .map_err(|e| invalid(field("address"), format!("not ip:port: {e}")))?;
            if !matches!(trunk.transport.as_str(), "udp" | "tcp" | "tls") {
                return Err(invalid(field("transport"), "udp, tcp or tls"));
            }
            for network in &trunk.allow_from {
                parse_network(network).map_err(|reason| invalid(field("allow_from"), reason))?;
            }
            if trunk.register && (trunk.username.is_none() || trunk.password.is_none()) {
                return Err(invalid(
                    field("register"),
                    "registration needs username and password",
                ));
            }
            if trunk.register_expires < 60 {
                return Err(invalid(
                    field("register_expires"),
                    "must be at least 60 seconds",
                ));
            }
            if trunk.failure_threshold == 0 {
                return Err(invalid(field("failure_threshold"), "must be at least 1"));
            }
        }
        let mut users = std::collections::HashSet::new();
        for (i, user) in sip.users.iter().enumerate() {
            let field = |key: &str| format!("sip.users[{i}].{key}");
            if user.user.is_empty()
                || user.user.contains(['@', ':', ' '])
                || !users.insert(user.user.as_str())
            {
                return Err(invalid(
                    field("user"),
                    "must be a unique user name without '@', ':' or spaces",
                ));
            }
            if user
                .digest_algorithms
                .as_ref()
                .is_some_and(|a| !valid_algorithms(a))
            {
                return Err(invalid(
                    field("digest_algorithms"),
                    "a non-empty list of \"SHA-256\" and \"MD5\"",
                ));
            }
            if user.password.is_none() && user.ha1_md5.is_none() && user.ha1_sha256.is_none() {
                return Err(invalid(
                    field("password"),
                    "set password, ha1_md5 or ha1_sha256",
                ));
            }
            for (key, value, len) in [
                ("ha1_md5", &user.ha1_md5, 32),
                ("ha1_sha256", &user.ha1_sha256, 64),
            ] {
                if value
                    .as_ref()
                    .is_some_and(|v| v.len() != len || !v.bytes().all(|b| b.is_ascii_hexdigit()))
                {
                    return Err(invalid(field(key), format!("must be {len} hex digits")));
                }
            }
        }
        Self::validate_echo(sip)
    }

    fn validate_echo(sip: &SipConfig) -> Result<(), ConfigError> {
        let number = &sip.echo_number;
        // The user part is matched byte for byte against Request-URIs, so it must be
        // something a phone can dial without escaping.
        let dialable = number
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'()&=+$,?/".contains(&b));
        if number.len() > 64 || !dialable {
            return Err(invalid(
                "sip.echo_number",
                "up to 64 letters, digits or -_.!~*'()&=+$,?/ (empty disables the echo test)",
            ));
        }
        if !number.is_empty() && sip.users.iter().any(|u| u.user == *number) {
            return Err(invalid(
                "sip.echo_number",
                format!("{number:?} is also a SIP user; pick another echo number"),
            ));
        }
        if sip.echo_ring_ms > 10_000 {
            return Err(invalid("sip.echo_ring_ms", "must be 0..=10000"));
        }
        if !(1..=3600).contains(&sip.echo_max_duration_s) {
            return Err(invalid("sip.echo_max_duration_s", "must be 1..=3600"));
        }
        Ok(())
    }

    pub fn sip_listeners(&self) -> Vec<SipListener> {
        // Validated at load time, so every entry parses.
        self.sip
            .listen
            .iter()
            .filter_map(|spec| parse_listener(spec).ok())
            .collect()
    }

    /// One line per section, for logs and `check-config`.
    pub fn summary(&self) -> String {
        format!(
            "sip.listen = {:?}\nmedia.rtp_ports = {}\nhttp.listen = {}\ndatabase.url = {}",
            self.sip.listen,
            self.media.rtp_ports,
            self.http.listen,
            redact_url(&self.database.url)
        )
    }
}

/// Sets `section.key` from an environment value, read as a TOML value when it is one
/// (`5060`, `true`, `["udp:…"]`) and as a plain string otherwise.
fn apply_override(
    table: &mut toml::Table,
    section: &str,
    key: &str,
    raw: &str,
) -> Result<(), ConfigError> {
    let value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()));
    let entry = table
        .entry(section.to_owned())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let toml::Value::Table(section_table) = entry else {
        return Err(invalid(section, "is not a table"));
    };
    // A list key given one plain string means a one-element list.
    let value = match (key, value) {
        ("listen", toml::Value::String(s)) if section == "sip" => toml::Value::Array(
            s.split(',')
                .map(|part| toml::Value::String(part.trim().to_owned()))
                .collect(),
        ),
        (_, value) => value,
    };
    section_table.insert(key.to_owned(), value);
    Ok(())
}

pub fn parse_listener(spec: &str) -> Result<SipListener, String> {
    let (transport, addr) = spec
        .split_once(':')
        .ok_or_else(|| format!("{spec:?} is not transport:host:port"))?;
    let transport = match transport.to_ascii_lowercase().as_str() {
        "udp" => SipTransport::Udp,
        "tcp" => SipTransport::Tcp,
        "tls" => SipTransport::Tls,
        other => return Err(format!("unknown transport {other:?} (udp, tcp or tls)")),
    };
    let addr = addr
        .parse::<SocketAddr>()
        .map_err(|e| format!("{addr:?} is not a socket address: {e}"))?;
    Ok(SipListener { transport, addr })
}

fn valid_algorithms(names: &[String]) -> bool {
    !names.is_empty()
        && names
            .iter()
            .all(|a| matches!(a.to_ascii_uppercase().as_str(), "SHA-256" | "MD5"))
}

/// Parses `10.0.0.0/8`, `2001:db8::/32` or a single address (a /32 or /128).
pub fn parse_network(spec: &str) -> Result<(std::net::IpAddr, u8), String> {
    let (ip, prefix) = match spec.split_once('/') {
        Some((ip, prefix)) => (ip, Some(prefix)),
        None => (spec, None),
    };
    let ip: std::net::IpAddr = ip
        .trim()
        .parse()
        .map_err(|_| format!("{spec:?} is not an IP address or CIDR network"))?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => p
            .trim()
            .parse::<u8>()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("{spec:?}: prefix must be 0..={max}"))?,
        None => max,
    };
    Ok((ip, prefix))
}

/// Parses `first-last`; RTP wants an even first port and room for RTCP on the odd one.
pub fn parse_port_range(spec: &str) -> Result<(u16, u16), String> {
    let (first, last) = spec
        .split_once('-')
        .ok_or_else(|| format!("{spec:?} is not first-last"))?;
    let first: u16 = first
        .trim()
        .parse()
        .map_err(|_| format!("{first:?} is not a port"))?;
    let last: u16 = last
        .trim()
        .parse()
        .map_err(|_| format!("{last:?} is not a port"))?;
    if first < 1024 || last <= first {
        return Err(format!(
            "{spec:?}: need 1024 <= first < last (RTP takes pairs of ports)"
        ));
    }
    Ok((first, last))
}

pub(crate) fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests;
