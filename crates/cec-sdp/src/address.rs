//! Addresses: `o=` origin, `c=` connection, address types.

use std::fmt;
use std::net::IpAddr;

/// Address type of `o=` / `c=` (`IP4`, `IP6`, other).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AddressType {
    /// `IP4` (also accepted as `ip4`).
    Ip4,
    /// `IP6` (also accepted as `ip6`).
    Ip6,
    /// Anything else, verbatim.
    Other(String),
}

impl AddressType {
    pub(crate) fn parse(s: &str) -> Self {
        if s.eq_ignore_ascii_case("IP4") {
            Self::Ip4
        } else if s.eq_ignore_ascii_case("IP6") {
            Self::Ip6
        } else {
            Self::Other(s.to_owned())
        }
    }

    /// The address type matching an IP address.
    pub fn of(ip: IpAddr) -> Self {
        if ip.is_ipv4() { Self::Ip4 } else { Self::Ip6 }
    }
}

impl fmt::Display for AddressType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip4 => f.write_str("IP4"),
            Self::Ip6 => f.write_str("IP6"),
            Self::Other(s) => f.write_str(s),
        }
    }
}

/// Normalises the network type: `in` (any case) becomes `IN`.
pub(crate) fn net_type(s: &str) -> String {
    if s.eq_ignore_ascii_case("IN") {
        "IN".to_owned()
    } else {
        s.to_owned()
    }
}

/// Parses an address as an IP, accepting IPv6 with or without brackets and a
/// multicast `/ttl` or `/count` suffix.
pub(crate) fn parse_ip(address: &str) -> Option<IpAddr> {
    let base = address.split('/').next().unwrap_or(address);
    let base = base
        .strip_prefix('[')
        .and_then(|b| b.strip_suffix(']'))
        .unwrap_or(base);
    base.parse().ok()
}

/// `c=<nettype> <addrtype> <connection-address>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Connection {
    /// Network type, `IN` in practice.
    pub net_type: String,
    /// Address type.
    pub addr_type: AddressType,
    /// Address verbatim (may carry `/ttl` or `/count`, may be an FQDN).
    pub address: String,
}

impl Connection {
    /// `IN IP4|IP6 <ip>`.
    pub fn new(ip: IpAddr) -> Self {
        Self {
            net_type: "IN".to_owned(),
            addr_type: AddressType::of(ip),
            address: ip.to_string(),
        }
    }

    pub(crate) fn from_parts(net: &str, addr_type: &str, address: &str) -> Self {
        Self {
            net_type: net_type(net),
            addr_type: AddressType::parse(addr_type),
            address: address.to_owned(),
        }
    }

    /// The address as an IP (brackets and `/ttl` stripped); `None` for an FQDN.
    pub fn ip(&self) -> Option<IpAddr> {
        parse_ip(&self.address)
    }

    /// `0.0.0.0` (RFC 2543 hold) or `::`.
    pub fn is_hold_address(&self) -> bool {
        self.ip().is_some_and(|ip| ip.is_unspecified())
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.net_type, self.addr_type, self.address)
    }
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>`.
///
/// Session id and version are kept as decimal strings: carriers send values longer than
/// 64 bits (e.g. `12345678901234567890123`). Use the numeric accessors when they fit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// User name, `-` when none.
    pub username: String,
    /// Session id: one or more ASCII digits.
    pub session_id: String,
    /// Session version: one or more ASCII digits.
    pub session_version: String,
    /// Network type, `IN` in practice.
    pub net_type: String,
    /// Address type.
    pub addr_type: AddressType,
    /// Unicast address, verbatim.
    pub address: String,
}

impl Origin {
    /// Origin `- <id> <version> IN IP4|IP6 <ip>`.
    pub fn new(session_id: u64, session_version: u64, ip: IpAddr) -> Self {
        Self {
            username: "-".to_owned(),
            session_id: session_id.to_string(),
            session_version: session_version.to_string(),
            net_type: "IN".to_owned(),
            addr_type: AddressType::of(ip),
            address: ip.to_string(),
        }
    }

    /// Session id as `u64`, if it fits.
    pub fn session_id_u64(&self) -> Option<u64> {
        self.session_id.parse().ok()
    }

    /// Session id as `u128`, if it fits.
    pub fn session_id_u128(&self) -> Option<u128> {
        self.session_id.parse().ok()
    }

    /// Session version as `u64`, if it fits.
    pub fn session_version_u64(&self) -> Option<u64> {
        self.session_version.parse().ok()
    }

    /// Session version as `u128`, if it fits.
    pub fn session_version_u128(&self) -> Option<u128> {
        self.session_version.parse().ok()
    }
}
