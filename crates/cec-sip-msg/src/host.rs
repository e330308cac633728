//! Hosts and `host[:port]` (RFC 3261 §25.1, RFC 5118 for IPv6 quirks).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::Bytes;

use crate::error::Res;
use crate::text::cut;

/// A host: domain name, IPv4 address or IPv6 reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A host name, as written.
    Domain(Bytes),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 address (printed inside `[ ]`).
    Ipv6(Ipv6Addr),
}

impl Host {
    /// The address, if the host is an IP literal.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Domain(_) => None,
            Host::Ipv4(a) => Some(IpAddr::V4(*a)),
            Host::Ipv6(a) => Some(IpAddr::V6(*a)),
        }
    }

    /// Writes the host in URI form (IPv6 in brackets).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        use std::io::Write;
        // Writing to a Vec cannot fail.
        let _ = match self {
            Host::Domain(d) => {
                out.extend_from_slice(d);
                Ok(())
            }
            Host::Ipv4(a) => write!(out, "{a}"),
            Host::Ipv6(a) => write!(out, "[{a}]"),
        };
    }
}

impl From<IpAddr> for Host {
    fn from(a: IpAddr) -> Self {
        match a {
            IpAddr::V4(a) => Host::Ipv4(a),
            IpAddr::V6(a) => Host::Ipv6(a),
        }
    }
}

/// Parses an IPv6 address text, tolerating the RFC 5118 §4.10 three-colon
/// form that the RFC 3261 ABNF wrongly allowed.
pub(crate) fn parse_ipv6(s: &[u8]) -> Option<Ipv6Addr> {
    let text = std::str::from_utf8(s).ok()?;
    text.parse().ok().or_else(|| {
        if text.contains(":::") {
            text.replacen(":::", "::", 1).parse().ok()
        } else {
            None
        }
    })
}

/// Dotted-quad IPv4, as strict as `std` (four octets, no leading zeros) but straight from
/// bytes: hosts are parsed on every Via, From, To and Contact, so this is a hot path.
pub(crate) fn parse_ipv4(s: &[u8]) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut parts = s.split(|&b| b == b'.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || (part.len() > 1 && part.first() == Some(&b'0')) {
            return None;
        }
        let mut value = 0u16;
        for &digit in part {
            if !digit.is_ascii_digit() {
                return None;
            }
            value = value * 10 + u16::from(digit - b'0');
        }
        *octet = u8::try_from(value).ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(Ipv4Addr::from(octets))
}

/// Parses a host without port.
pub(crate) fn parse_host(base: &Bytes, s: &[u8]) -> Res<Host> {
    if let Some(inner) = s.strip_prefix(b"[") {
        let inner = inner.strip_suffix(b"]").ok_or("unclosed IPv6 reference")?;
        return parse_ipv6(inner)
            .map(Host::Ipv6)
            .ok_or("invalid IPv6 reference");
    }
    if s.is_empty() {
        return Err("empty host");
    }
    if s.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
        return parse_ipv4(s).map(Host::Ipv4).ok_or("invalid IPv4 address");
    }
    // Underscore is not in the grammar but common in the wild; harmless.
    if s.iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        Ok(Host::Domain(cut(base, s)))
    } else {
        Err("invalid character in host")
    }
}

pub(crate) fn parse_port(s: &[u8]) -> Res<u16> {
    if s.is_empty() || s.len() > 5 || !s.iter().all(u8::is_ascii_digit) {
        return Err("invalid port");
    }
    let v = s
        .iter()
        .fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'));
    u16::try_from(v).map_err(|_| "port out of range")
}

/// Parses `host [":" port]`. An unbracketed IPv6 address is rejected
/// (RFC 5118 §4.2): its first colon reads as a port separator.
pub(crate) fn parse_hostport(base: &Bytes, s: &[u8]) -> Res<(Host, Option<u16>)> {
    let (host, port) = if s.first() == Some(&b'[') {
        let close = memchr::memchr(b']', s).ok_or("unclosed IPv6 reference")?;
        let (h, rest) = s.split_at(close + 1);
        match rest {
            [] => (h, None),
            [b':', p @ ..] => (h, Some(p)),
            _ => return Err("garbage after IPv6 reference"),
        }
    } else {
        match memchr::memchr(b':', s) {
            Some(i) => (
                s.get(..i).unwrap_or_default(),
                Some(s.get(i + 1..).unwrap_or_default()),
            ),
            None => (s, None),
        }
    };
    let host = parse_host(base, host)?;
    let port = port.map(parse_port).transpose()?;
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hp(s: &'static str) -> Res<(Host, Option<u16>)> {
        let b = Bytes::from_static(s.as_bytes());
        parse_hostport(&b, &b)
    }

    #[test]
    fn hosts() {
        assert_eq!(
            hp("example.com:5060").unwrap(),
            (Host::Domain(Bytes::from_static(b"example.com")), Some(5060))
        );
        let (h, p) = hp("[2001:db8::10]:5070").unwrap();
        assert_eq!(h, Host::Ipv6("2001:db8::10".parse().unwrap()));
        assert_eq!(p, Some(5070));
        let (h, p) = hp("[2001:db8::10:5070]").unwrap();
        assert_eq!(h, Host::Ipv6("2001:db8::10:5070".parse().unwrap()));
        assert_eq!(p, None);
        let (h, _) = hp("[2001:db8:::192.0.2.1]").unwrap();
        assert_eq!(h, Host::Ipv6("2001:db8::192.0.2.1".parse().unwrap()));
        assert!(hp("2001:db8::10").is_err());
        assert!(hp("host:99999").is_err());
        assert!(hp("ho st").is_err());
        assert!(hp("").is_err());
        assert_eq!(
            hp("192.0.2.1").unwrap().0,
            Host::Ipv4([192, 0, 2, 1].into())
        );
    }

    #[test]
    fn prints_brackets() {
        let mut out = Vec::new();
        Host::Ipv6("::1".parse().unwrap()).write_to(&mut out);
        assert_eq!(out, b"[::1]");
    }

    proptest::proptest! {
        /// The fast IPv4 parser agrees with `std` on any string of digits and dots.
        #[test]
        fn ipv4_matches_std(text in "[0-9.]{0,20}") {
            let ours = parse_ipv4(text.as_bytes());
            let std_parse = text.parse::<Ipv4Addr>().ok();
            proptest::prop_assert_eq!(ours, std_parse);
        }
    }

    #[test]
    fn ipv4_edge_cases() {
        for ok in ["0.0.0.0", "255.255.255.255", "192.0.2.1", "10.0.0.10"] {
            assert_eq!(parse_ipv4(ok.as_bytes()), ok.parse().ok(), "{ok}");
        }
        for bad in [
            "256.0.0.1",
            "1.2.3",
            "1.2.3.4.5",
            "01.2.3.4",
            "1..2.3",
            "",
            "1.2.3.4.",
        ] {
            assert_eq!(parse_ipv4(bad.as_bytes()), None, "{bad}");
        }
    }
}
