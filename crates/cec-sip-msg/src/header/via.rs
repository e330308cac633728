//! Via (RFC 3261 §20.42, RFC 3581 rport, RFC 5118 §4.5 received).

use std::net::IpAddr;

use bytes::Bytes;

use crate::error::Res;
use crate::host::{Host, parse_hostport, parse_ipv6};
use crate::print::Print;
use crate::text::{
    Cursor, Param, cut, find_param, is_ws, parse_header_params, set_param, write_params,
};

/// The RFC 3261 branch prefix.
pub const MAGIC_COOKIE: &[u8] = b"z9hG4bK";

/// Via transport. Unknown transports are not an error (RFC 4475 §3.1.1.10).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// UDP
    Udp,
    /// TCP
    Tcp,
    /// TLS
    Tls,
    /// SCTP
    Sctp,
    /// TLS-SCTP
    TlsSctp,
    /// WS (RFC 7118)
    Ws,
    /// WSS (RFC 7118)
    Wss,
    /// Anything else, as written.
    Other(Bytes),
}

impl Transport {
    fn from_base(base: &Bytes, s: &[u8]) -> Transport {
        let known = [
            (&b"UDP"[..], Transport::Udp),
            (b"TCP", Transport::Tcp),
            (b"TLS", Transport::Tls),
            (b"SCTP", Transport::Sctp),
            (b"TLS-SCTP", Transport::TlsSctp),
            (b"WS", Transport::Ws),
            (b"WSS", Transport::Wss),
        ];
        known
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(s))
            .map_or_else(|| Transport::Other(cut(base, s)), |(_, t)| t)
    }

    /// The transport token in upper case (others as written).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Transport::Udp => b"UDP",
            Transport::Tcp => b"TCP",
            Transport::Tls => b"TLS",
            Transport::Sctp => b"SCTP",
            Transport::TlsSctp => b"TLS-SCTP",
            Transport::Ws => b"WS",
            Transport::Wss => b"WSS",
            Transport::Other(b) => b,
        }
    }

    /// Whether the transport is reliable (no retransmissions needed).
    pub fn is_reliable(&self) -> bool {
        !matches!(self, Transport::Udp)
    }
}

/// One Via value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Via {
    /// Protocol name (`SIP`).
    pub protocol: Bytes,
    /// Protocol version (`2.0`); not checked here so a 505 can still be routed.
    pub version: Bytes,
    /// Transport.
    pub transport: Transport,
    /// sent-by host.
    pub host: Host,
    /// sent-by port.
    pub port: Option<u16>,
    /// Parameters (branch, received, rport, maddr, ttl, others), as written.
    pub params: Vec<Param>,
}

impl Via {
    /// A `SIP/2.0/<transport> host[:port];branch=<branch>` value.
    pub fn new(transport: Transport, host: Host, port: Option<u16>, branch: &[u8]) -> Via {
        Via {
            protocol: Bytes::from_static(b"SIP"),
            version: Bytes::from_static(b"2.0"),
            transport,
            host,
            port,
            params: vec![Param::new(
                Bytes::from_static(b"branch"),
                Some(Bytes::copy_from_slice(branch)),
            )],
        }
    }

    /// A parameter by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&Param> {
        find_param(&self.params, name)
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&Bytes> {
        self.param("branch").and_then(|p| p.value.as_ref())
    }

    /// Whether the branch is RFC 3261 style: the magic cookie followed by
    /// something (a bare `z9hG4bK` is not unique, RFC 4475 §3.2.1).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch()
            .is_some_and(|b| b.len() > MAGIC_COOKIE.len() && b.starts_with(MAGIC_COOKIE))
    }

    /// `received`, accepting a bare IPv6 address or one in `[ ]`.
    pub fn received(&self) -> Option<IpAddr> {
        let v = self.param("received")?.value.as_deref()?;
        let inner = v
            .strip_prefix(b"[")
            .and_then(|r| r.strip_suffix(b"]"))
            .unwrap_or(v);
        if let Some(a) = std::str::from_utf8(inner)
            .ok()
            .and_then(|t| t.parse::<std::net::Ipv4Addr>().ok())
        {
            return Some(IpAddr::V4(a));
        }
        parse_ipv6(inner).map(IpAddr::V6)
    }

    /// `rport`: `None` if absent, `Some(None)` without value, `Some(Some(p))`.
    pub fn rport(&self) -> Option<Option<u16>> {
        let p = self.param("rport")?;
        Some(
            p.value
                .as_deref()
                .and_then(|v| crate::host::parse_port(v).ok()),
        )
    }

    /// `maddr` parameter.
    pub fn maddr(&self) -> Option<&Bytes> {
        self.param("maddr").and_then(|p| p.value.as_ref())
    }

    /// `ttl` parameter.
    pub fn ttl(&self) -> Option<u8> {
        let v = self.param("ttl")?.value.as_deref()?;
        std::str::from_utf8(v).ok()?.parse().ok()
    }

    /// Sets `received` (IPv6 written bare, as RFC 5118 §4.5 recommends).
    pub fn set_received(&mut self, addr: IpAddr) {
        set_param(
            &mut self.params,
            "received",
            Some(Bytes::from(addr.to_string())),
        );
    }

    /// Sets `rport` to the given port.
    pub fn set_rport(&mut self, port: u16) {
        set_param(
            &mut self.params,
            "rport",
            Some(Bytes::from(port.to_string())),
        );
    }

    /// Sets a parameter (replacing it if present).
    pub fn set_param(&mut self, name: &str, value: Option<Bytes>) {
        set_param(&mut self.params, name, value);
    }
}

/// Whether a Via value has a usable sent-protocol and sent-by, i.e. a
/// response could be routed even if its parameters are malformed.
pub(crate) fn via_is_routable(base: &Bytes, s: &[u8]) -> bool {
    let mut c = Cursor::new(s);
    sent_by(base, &mut c).is_ok()
}

type SentBy<'a> = (&'a [u8], &'a [u8], &'a [u8], Host, Option<u16>);

fn sent_by<'a>(base: &Bytes, c: &mut Cursor<'a>) -> Res<SentBy<'a>> {
    c.skip_ws();
    let protocol = c.token();
    c.skip_ws();
    if protocol.is_empty() || !c.eat(b'/') {
        return Err("bad sent-protocol");
    }
    c.skip_ws();
    let version = c.token();
    c.skip_ws();
    if version.is_empty() || !c.eat(b'/') {
        return Err("bad sent-protocol");
    }
    c.skip_ws();
    let transport = c.token();
    if transport.is_empty() {
        return Err("missing transport");
    }
    c.skip_ws();
    let sent_by = c.take_while(|b| !is_ws(b) && b != b';' && b != b',');
    if sent_by.is_empty() {
        return Err("missing sent-by");
    }
    let (host, port) = parse_hostport(base, sent_by)?;
    Ok((protocol, version, transport, host, port))
}

/// Parses one Via value (already split at commas).
pub(crate) fn parse_via(base: &Bytes, s: &[u8]) -> Res<Via> {
    let mut c = Cursor::new(s);
    let (protocol, version, transport, host, port) = sent_by(base, &mut c)?;
    let params = parse_header_params(base, &mut c)?;
    Ok(Via {
        protocol: cut(base, protocol),
        version: cut(base, version),
        transport: Transport::from_base(base, transport),
        host,
        port,
        params,
    })
}

impl Print for Via {
    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.protocol);
        out.push(b'/');
        out.extend_from_slice(&self.version);
        out.push(b'/');
        out.extend_from_slice(self.transport.as_bytes());
        out.push(b' ');
        self.host.write_to(out);
        if let Some(p) = self.port {
            out.extend_from_slice(format!(":{p}").as_bytes());
        }
        write_params(out, &self.params);
    }
}

crate::print::display_via_print!(Via);

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &'static [u8]) -> Res<Via> {
        let b = Bytes::from_static(s);
        parse_via(&b, &b)
    }

    #[test]
    fn folded_with_lws() {
        let v = p(b"SIP  /   2.0\r\n /UDP\r\n    192.0.2.2;branch=390skdjuw").unwrap();
        assert_eq!(v.transport, Transport::Udp);
        assert_eq!(v.host, Host::Ipv4([192, 0, 2, 2].into()));
        assert_eq!(v.branch().map(|b| &b[..]), Some(&b"390skdjuw"[..]));
        assert!(!v.has_rfc3261_branch());
        let w = p(b"SIP  / 2.0  / TCP     spindle.example.com   ;\r\n  branch  =   z9hG4bK9ikj8")
            .unwrap();
        assert!(w.has_rfc3261_branch());
    }

    #[test]
    fn params() {
        let v = p(b"SIP/2.0/UDP [2001:db8::9:1]:5070;branch=z9hG4bKas3-111;received=2001:db8::9:255;rport;ttl=3;maddr=x.example").unwrap();
        assert_eq!(v.port, Some(5070));
        assert_eq!(v.received(), Some("2001:db8::9:255".parse().unwrap()));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.ttl(), Some(3));
        assert_eq!(v.maddr().map(|b| &b[..]), Some(&b"x.example"[..]));
        let d = p(b"SIP/2.0/UDP h;received=[2001:db8::9:255];rport=9").unwrap();
        assert_eq!(d.received(), Some("2001:db8::9:255".parse().unwrap()));
        assert_eq!(d.rport(), Some(Some(9)));
        let u = p(b"SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en").unwrap();
        assert_eq!(
            u.transport,
            Transport::Other(Bytes::from_static(b"UNKNOWN"))
        );
    }

    #[test]
    fn rejects_and_round_trips() {
        assert!(p(b"SIP/2.0/UDP 192.0.2.15;;").is_err());
        assert!(p(b"SIP/2.0 host").is_err());
        assert!(p(b"SIP/2.0/UDP").is_err());
        let mut v = p(b"SIP/2.0/TCP host:5060;branch=z9hG4bK1").unwrap();
        v.set_received("::1".parse().unwrap());
        v.set_rport(1234);
        let out = Bytes::from(v.to_vec());
        assert_eq!(parse_via(&out, &out).unwrap(), v);
    }
}
