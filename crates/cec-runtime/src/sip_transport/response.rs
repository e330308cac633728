//! Where a response goes: RFC 3261 §18.2.2 with RFC 3581 §4.

use std::net::{IpAddr, SocketAddr};

use cec_sip_msg::Host;

use super::types::{Received, Target};

/// The destination of responses to a received request.
///
/// - TCP/TLS: the connection the request came on; if it has closed by the
///   time of sending, a connection to the `received` address (else the
///   sent-by address) at the sent-by port (default 5060, 5061 for TLS), with
///   the sent-by host as TLS server name when it is a domain.
/// - UDP: `maddr` (an IP literal) at the sent-by port if present; else the
///   `received` address at the `rport` value if present, else at the sent-by
///   port, else 5060.
///
/// A request whose top Via does not parse is answered to its source
/// address (on its connection, if any).
pub fn response_target(received: &Received) -> Target {
    let kind = received.kind;
    let fallback = Target {
        kind,
        addr: received.source,
        connection: received.connection,
        server_name: None,
    };
    let Ok(via) = received.message.top_via() else {
        return fallback;
    };
    let source_ip = received.source.ip().to_canonical();
    let ip = via
        .received()
        .or_else(|| via.host.ip())
        .unwrap_or(source_ip);
    let sent_by_port = via.port.unwrap_or_else(|| kind.default_port());
    if kind.is_reliable() {
        let server_name = match &via.host {
            Host::Domain(name) => std::str::from_utf8(name).ok().map(str::to_owned),
            Host::Ipv4(_) | Host::Ipv6(_) => None,
        };
        return Target {
            addr: SocketAddr::new(ip, sent_by_port),
            server_name,
            ..fallback
        };
    }
    let maddr = via
        .maddr()
        .and_then(|m| std::str::from_utf8(m).ok())
        .and_then(|m| {
            m.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<IpAddr>()
                .ok()
        });
    if let Some(maddr) = maddr {
        return Target {
            addr: SocketAddr::new(maddr, sent_by_port),
            ..fallback
        };
    }
    let port = match via.rport() {
        Some(Some(rport)) => rport,
        _ => sent_by_port,
    };
    Target {
        addr: SocketAddr::new(ip, port),
        ..fallback
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip_transport::types::{ConnectionId, TransportKind};
    use cec_sip_msg::bytes::Bytes;
    use cec_sip_msg::parse_datagram;

    fn received(via: &str, source: &str, kind: TransportKind) -> Received {
        let text = format!(
            "OPTIONS sip:a@b SIP/2.0\r\nVia: {via}\r\nTo: <sip:a@b>\r\nFrom: <sip:b@b>;tag=1\r\n\
             Call-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        );
        Received {
            message: parse_datagram(Bytes::from(text)).unwrap(),
            source: source.parse().unwrap(),
            local: "127.0.0.1:5060".parse().unwrap(),
            kind,
            connection: kind.is_reliable().then(|| ConnectionId::new(7)),
        }
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn udp_uses_received_and_rport() {
        let udp = TransportKind::Udp;
        let r = received(
            "SIP/2.0/UDP h.example;received=192.0.2.4;rport=4000;branch=z9hG4bK1",
            "192.0.2.4:4000",
            udp,
        );
        assert_eq!(response_target(&r), Target::udp(addr("192.0.2.4:4000")));
        let r = received(
            "SIP/2.0/UDP h.example:5080;received=192.0.2.4;branch=z9hG4bK1",
            "192.0.2.4:4000",
            udp,
        );
        assert_eq!(response_target(&r).addr, addr("192.0.2.4:5080"));
        let r = received(
            "SIP/2.0/UDP 192.0.2.5;branch=z9hG4bK1",
            "192.0.2.5:4000",
            udp,
        );
        assert_eq!(response_target(&r).addr, addr("192.0.2.5:5060"));
        // Domain sent-by and no stamp (not a path the transports produce): the source IP.
        let r = received(
            "SIP/2.0/UDP h.example;branch=z9hG4bK1",
            "192.0.2.6:4000",
            udp,
        );
        assert_eq!(response_target(&r).addr, addr("192.0.2.6:5060"));
    }

    #[test]
    fn udp_maddr_wins() {
        let r = received(
            "SIP/2.0/UDP h.example:5070;maddr=239.1.1.1;ttl=1;received=192.0.2.4;rport=9",
            "192.0.2.4:9",
            TransportKind::Udp,
        );
        assert_eq!(response_target(&r).addr, addr("239.1.1.1:5070"));
        // A maddr that is a name cannot be used without DNS: fall back.
        let r = received(
            "SIP/2.0/UDP h.example;maddr=x.example;received=192.0.2.4",
            "192.0.2.4:9",
            TransportKind::Udp,
        );
        assert_eq!(response_target(&r).addr, addr("192.0.2.4:5060"));
    }

    #[test]
    fn reliable_uses_the_connection_then_received_and_sent_by_port() {
        let r = received(
            "SIP/2.0/TLS pbx.example;received=192.0.2.4;rport=41000",
            "192.0.2.4:41000",
            TransportKind::Tls,
        );
        let t = response_target(&r);
        assert_eq!(t.connection, Some(ConnectionId::new(7)));
        assert_eq!(t.kind, TransportKind::Tls);
        assert_eq!(t.addr, addr("192.0.2.4:5061"));
        assert_eq!(t.server_name.as_deref(), Some("pbx.example"));
        let r = received(
            "SIP/2.0/TCP [2001:db8::2]:5062",
            "[2001:db8::2]:41000",
            TransportKind::Tcp,
        );
        let t = response_target(&r);
        assert_eq!(t.addr, addr("[2001:db8::2]:5062"));
        assert_eq!(t.server_name, None);
    }

    #[test]
    fn unparseable_via_goes_to_the_source() {
        let r = received("garbage", "192.0.2.4:41000", TransportKind::Tcp);
        let t = response_target(&r);
        assert_eq!(t.addr, addr("192.0.2.4:41000"));
        assert_eq!(t.connection, Some(ConnectionId::new(7)));
    }
}
