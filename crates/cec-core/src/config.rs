//! The configuration the Switch routes by: a read-only snapshot of tenants, trunks, access
//! codes, called routes, skill queues and agents. The runtime builds it from the store
//! (names resolved, secrets as HA1) and replaces it when the configuration changes; calls in
//! progress keep what they started with.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use cec_acd::Skill;
use cec_sip_auth::Ha1;

/// Limits of one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantLimits {
    /// Concurrent calls.
    pub max_calls: u32,
    /// New calls per second.
    pub max_cps: u32,
}

/// 100rel towards a trunk (RFC 3262).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rel100 {
    /// Reliable 183 with early media when the trunk's INVITE supports 100rel.
    #[default]
    Supported,
    /// Always reliable 183 (the trunk must support 100rel).
    Required,
    /// Plain 180 Ringing.
    Off,
}

/// How the caller's side is renegotiated when an agent answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RenegotiationMethod {
    /// RFC 3311 UPDATE (falls back to re-INVITE when the trunk does not allow UPDATE).
    #[default]
    Update,
    /// re-INVITE.
    Reinvite,
}

/// Where the called number is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalledSource {
    /// History-Info (first entry) or Diversion (last, the original) header.
    OriginalCalled,
    /// Request-URI user part.
    RequestUri,
    /// To user part.
    To,
}

/// Digest credentials a trunk must present.
#[derive(Debug, Clone, PartialEq)]
pub struct TrunkDigest {
    /// User name.
    pub username: String,
    /// HA1 (MD5) for the SIP realm.
    pub ha1_md5: Option<Ha1>,
    /// HA1 (SHA-256).
    pub ha1_sha256: Option<Ha1>,
}

/// A SIP trunk as the call path sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Trunk {
    /// Tenant name.
    pub tenant: String,
    /// Trunk name.
    pub name: String,
    /// Source networks (address, prefix length) calls may come from.
    pub networks: Vec<(IpAddr, u8)>,
    /// Digest credentials required on INVITE, if any.
    pub digest: Option<TrunkDigest>,
    /// Concurrent calls.
    pub max_calls: u32,
    /// New calls per second.
    pub max_cps: u32,
    /// 100rel policy.
    pub rel100: Rel100,
    /// Renegotiation method.
    pub renegotiation: RenegotiationMethod,
    /// Called-number sources in order.
    pub called_number_from: Vec<CalledSource>,
    /// Voice codecs in preference order (`PCMA`, `PCMU`).
    pub codecs: Vec<String>,
}

impl Trunk {
    /// Whether `ip` is one of the trunk's sources.
    pub fn admits(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|n| in_network(ip, *n))
    }
}

/// Whether `ip` lies in `network`.
pub fn in_network(ip: IpAddr, (network, prefix): (IpAddr, u8)) -> bool {
    match (ip, network) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.min(32)))
                .unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix.min(128)))
                .unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Where a called route (or a queue overflow) sends a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A skill queue (by name).
    Queue(String),
    /// An IVR flow (by name); refused with 480 until the IVR exists.
    Flow(String),
    /// An external number (outbound calls are a later issue: refused with 480).
    External(String),
    /// Release, after an optional prompt, with this SIP status if not yet answered.
    Release {
        /// Prompt name.
        prompt: Option<String>,
        /// SIP status (400–699).
        status: u16,
    },
}

/// A skill queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    /// Tenant name.
    pub tenant: String,
    /// Queue name.
    pub name: String,
    /// Most calls waiting; a new call beyond goes to `on_full`.
    pub max_waiting: u32,
    /// Longest wait; then `on_wait_timeout`.
    pub max_wait: Duration,
    /// After-call work time.
    pub wrap_up: Duration,
    /// How long an agent's phone rings.
    pub ring_timeout: Duration,
    /// No agent signed in with this skill.
    pub on_no_agents: Target,
    /// The queue is full.
    pub on_full: Target,
    /// Waited too long.
    pub on_wait_timeout: Target,
    /// Hold music prompt name (`None`: the default tone pattern).
    pub hold_music: Option<String>,
    /// How idle agents are picked.
    pub strategy: cec_acd::Strategy,
    /// A prompt played to waiting callers every so often (between hold music).
    pub announcement: Option<(String, Duration)>,
}

/// An agent account.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentAccount {
    /// Tenant name.
    pub tenant: String,
    /// Work number.
    pub work_no: String,
    /// SIP user of the agent's phone.
    pub sip_user: String,
    /// Queues served.
    pub skills: Vec<Skill>,
    /// Default of auto-answer.
    pub auto_answer: bool,
}

/// The whole snapshot.
#[derive(Debug, Clone, Default)]
pub struct SwitchConfig {
    /// Tenant limits by tenant name.
    pub tenants: HashMap<String, TenantLimits>,
    /// Trunks, matched in order by source.
    pub trunks: Vec<Trunk>,
    /// Access codes: (tenant, trunk name) → numbers.
    pub access_codes: HashMap<(String, String), Vec<String>>,
    /// Called routes: (tenant, access code, extension) → target.
    pub routes: HashMap<(String, String, String), Target>,
    /// Queues by (tenant, name).
    pub queues: HashMap<(String, String), Queue>,
    /// Agents by (tenant, work number).
    pub agents: HashMap<(String, String), AgentAccount>,
}

impl SwitchConfig {
    /// The trunks `ip` may send from, in configuration order.
    pub fn trunks_from(&self, ip: IpAddr) -> impl Iterator<Item = &Trunk> {
        self.trunks.iter().filter(move |t| t.admits(ip))
    }

    /// The route for `called` on `trunk`: the longest access code of the trunk that
    /// prefixes the number, the rest being the extension. Returns the access code, the
    /// extension and the target.
    pub fn route(&self, trunk: &Trunk, called: &str) -> Option<(String, String, Target)> {
        let codes = self
            .access_codes
            .get(&(trunk.tenant.clone(), trunk.name.clone()))?;
        let mut candidates: Vec<&String> = codes
            .iter()
            .filter(|c| called.starts_with(c.as_str()))
            .collect();
        candidates.sort_by_key(|c| std::cmp::Reverse(c.len()));
        candidates.into_iter().find_map(|code| {
            let extension = &called[code.len()..];
            self.routes
                .get(&(trunk.tenant.clone(), code.clone(), extension.to_owned()))
                .map(|t| (code.clone(), extension.to_owned(), t.clone()))
        })
    }

    /// A queue.
    pub fn queue(&self, tenant: &str, name: &str) -> Option<&Queue> {
        self.queues.get(&(tenant.to_owned(), name.to_owned()))
    }

    /// An agent account.
    pub fn agent(&self, tenant: &str, work_no: &str) -> Option<&AgentAccount> {
        self.agents.get(&(tenant.to_owned(), work_no.to_owned()))
    }
}
