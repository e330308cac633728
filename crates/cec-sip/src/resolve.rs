//! RFC 3263 §4 target selection, sans-IO: given a SIP URI and whatever DNS answers the driver
//! looked up (NAPTR, SRV, A/AAAA), the ordered list of transports and addresses to try. The
//! driver performs the lookups (hickory-resolver) and hands the records in; this module holds
//! the rules so they are testable without a DNS server.

use std::net::{IpAddr, SocketAddr};

use cec_sip_msg::{Host, SipUri};

use crate::peer::TransportKind;

/// A NAPTR record (RFC 3403) as far as SIP needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naptr {
    /// Order (lower first).
    pub order: u16,
    /// Preference within an order (lower first).
    pub preference: u16,
    /// `s` for an SRV replacement.
    pub flags: String,
    /// `SIP+D2U`, `SIP+D2T`, `SIPS+D2T`...
    pub service: String,
    /// The SRV name to look up next.
    pub replacement: String,
}

/// An SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    /// Priority (lower first).
    pub priority: u16,
    /// Weight within a priority (higher preferred).
    pub weight: u16,
    /// Port.
    pub port: u16,
    /// Target host name.
    pub target: String,
}

/// The DNS questions the rules may ask; the driver answers them (an empty list for NXDOMAIN
/// or no records).
pub trait DnsAnswers {
    /// NAPTR records of `domain`.
    fn naptr(&mut self, domain: &str) -> Vec<Naptr>;
    /// SRV records of `name` (`_sip._udp.example.com`).
    fn srv(&mut self, name: &str) -> Vec<Srv>;
    /// A and AAAA records of `host`.
    fn addresses(&mut self, host: &str) -> Vec<IpAddr>;
}

/// One place to send a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTarget {
    /// Transport.
    pub transport: TransportKind,
    /// Address.
    pub addr: SocketAddr,
    /// The host name, for TLS server-name checks (None for IP literals).
    pub server_name: Option<String>,
}

fn service_transport(service: &str, secure: bool) -> Option<TransportKind> {
    match service.to_ascii_uppercase().as_str() {
        "SIPS+D2T" => Some(TransportKind::Tls),
        "SIP+D2T" if !secure => Some(TransportKind::Tcp),
        "SIP+D2U" if !secure => Some(TransportKind::Udp),
        _ => None,
    }
}

fn srv_prefix(transport: TransportKind) -> &'static str {
    match transport {
        TransportKind::Udp => "_sip._udp",
        TransportKind::Tcp => "_sip._tcp",
        TransportKind::Tls => "_sips._tcp",
    }
}

fn uri_transport(uri: &SipUri) -> Option<TransportKind> {
    let value = uri.param("transport")?.value.as_ref()?;
    match value.to_ascii_lowercase().as_slice() {
        b"udp" => Some(TransportKind::Udp),
        b"tcp" => Some(TransportKind::Tcp),
        b"tls" => Some(TransportKind::Tls),
        _ => None,
    }
}

/// Orders SRV records: priority ascending, then weight descending (a deterministic stand-in
/// for RFC 2782's weighted random pick; the driver may shuffle equal-priority records).
fn sort_srv(records: &mut [Srv]) {
    records.sort_by(|a, b| a.priority.cmp(&b.priority).then(b.weight.cmp(&a.weight)));
}

fn expand_srv(
    dns: &mut impl DnsAnswers,
    name: &str,
    transport: TransportKind,
    out: &mut Vec<ResolvedTarget>,
) {
    let mut records = dns.srv(name);
    sort_srv(&mut records);
    for record in records {
        // "." as target means "service not available here" (RFC 2782).
        let host = record.target.trim_end_matches('.');
        if host.is_empty() {
            continue;
        }
        push_addresses(dns, host, record.port, transport, out);
    }
}

/// Appends one target per address of `host` at `port`.
fn push_addresses(
    dns: &mut impl DnsAnswers,
    host: &str,
    port: u16,
    transport: TransportKind,
    out: &mut Vec<ResolvedTarget>,
) {
    for ip in dns.addresses(host) {
        out.push(ResolvedTarget {
            transport,
            addr: SocketAddr::new(ip, port),
            server_name: Some(host.to_string()),
        });
    }
}

/// The targets to try for `uri`, in order (RFC 3263 §4.1 and §4.2). `supported` lists the
/// transports we can use. Empty when nothing resolves.
pub fn resolve(
    uri: &SipUri,
    supported: &[TransportKind],
    dns: &mut impl DnsAnswers,
) -> Vec<ResolvedTarget> {
    let secure = uri.secure;
    let host_name = match &uri.host {
        Host::Domain(name) => String::from_utf8_lossy(name)
            .trim_end_matches('.')
            .to_ascii_lowercase(),
        Host::Ipv4(ip) => return literal(uri, IpAddr::V4(*ip), secure, supported),
        Host::Ipv6(ip) => return literal(uri, IpAddr::V6(*ip), secure, supported),
    };
    let explicit = uri_transport(uri).filter(|t| !secure || *t == TransportKind::Tls);
    let mut out = Vec::new();
    // A port in the URI, or an explicit transport with a port: plain address lookup.
    if let Some(port) = uri.port {
        let transport = explicit.unwrap_or(if secure {
            TransportKind::Tls
        } else {
            TransportKind::Udp
        });
        if supported.contains(&transport) {
            push_addresses(dns, &host_name, port, transport, &mut out);
        }
        return out;
    }
    if explicit.is_none() {
        let mut naptrs: Vec<Naptr> = dns
            .naptr(&host_name)
            .into_iter()
            .filter(|n| n.flags.eq_ignore_ascii_case("s"))
            .filter(|n| {
                service_transport(&n.service, secure).is_some_and(|t| supported.contains(&t))
            })
            .collect();
        naptrs.sort_by(|a, b| a.order.cmp(&b.order).then(a.preference.cmp(&b.preference)));
        for naptr in &naptrs {
            if let Some(transport) = service_transport(&naptr.service, secure) {
                expand_srv(
                    dns,
                    naptr.replacement.trim_end_matches('.'),
                    transport,
                    &mut out,
                );
            }
        }
        if !out.is_empty() {
            return out;
        }
    }
    // No usable NAPTR (or an explicit transport): SRV per transport, in our preference order.
    let candidates: Vec<TransportKind> = match explicit {
        Some(t) => vec![t],
        None if secure => vec![TransportKind::Tls],
        None => vec![TransportKind::Udp, TransportKind::Tcp, TransportKind::Tls],
    };
    for transport in candidates.into_iter().filter(|t| supported.contains(t)) {
        expand_srv(
            dns,
            &format!("{}.{host_name}", srv_prefix(transport)),
            transport,
            &mut out,
        );
    }
    if !out.is_empty() {
        return out;
    }
    // No SRV either: A/AAAA with the default port (§4.2).
    let transport = explicit.unwrap_or(if secure {
        TransportKind::Tls
    } else {
        TransportKind::Udp
    });
    if supported.contains(&transport) {
        push_addresses(
            dns,
            &host_name,
            transport.default_port(),
            transport,
            &mut out,
        );
    }
    out
}

fn literal(
    uri: &SipUri,
    ip: IpAddr,
    secure: bool,
    supported: &[TransportKind],
) -> Vec<ResolvedTarget> {
    let transport = uri_transport(uri).unwrap_or(if secure {
        TransportKind::Tls
    } else {
        TransportKind::Udp
    });
    if !supported.contains(&transport) || (secure && transport != TransportKind::Tls) {
        return Vec::new();
    }
    vec![ResolvedTarget {
        transport,
        addr: SocketAddr::new(ip, uri.port.unwrap_or(transport.default_port())),
        server_name: None,
    }]
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use bytes::Bytes;
    use cec_sip_msg::Uri;

    use super::*;

    /// A zone for one test (unit test of this module only: the real lookups are the driver's).
    #[derive(Default)]
    struct Zone {
        naptr: HashMap<String, Vec<Naptr>>,
        srv: HashMap<String, Vec<Srv>>,
        a: HashMap<String, Vec<IpAddr>>,
        asked: Vec<String>,
    }

    impl DnsAnswers for Zone {
        fn naptr(&mut self, domain: &str) -> Vec<Naptr> {
            self.asked.push(format!("NAPTR {domain}"));
            self.naptr.get(domain).cloned().unwrap_or_default()
        }
        fn srv(&mut self, name: &str) -> Vec<Srv> {
            self.asked.push(format!("SRV {name}"));
            self.srv.get(name).cloned().unwrap_or_default()
        }
        fn addresses(&mut self, host: &str) -> Vec<IpAddr> {
            self.asked.push(format!("A {host}"));
            self.a.get(host).cloned().unwrap_or_default()
        }
    }

    fn sip(text: &str) -> SipUri {
        match Uri::parse(&Bytes::copy_from_slice(text.as_bytes())).unwrap() {
            Uri::Sip(u) => u,
            other => panic!("not a SIP URI: {other:?}"),
        }
    }

    const ALL: &[TransportKind] = &[TransportKind::Udp, TransportKind::Tcp, TransportKind::Tls];

    fn summary(targets: &[ResolvedTarget]) -> Vec<String> {
        targets
            .iter()
            .map(|t| format!("{} {}", t.transport, t.addr))
            .collect()
    }

    fn srv(priority: u16, weight: u16, port: u16, target: &str) -> Srv {
        Srv {
            priority,
            weight,
            port,
            target: target.into(),
        }
    }

    #[test]
    fn ip_literals_need_no_dns() {
        let mut zone = Zone::default();
        assert_eq!(
            summary(&resolve(&sip("sip:10.0.0.1"), ALL, &mut zone)),
            vec!["UDP 10.0.0.1:5060"]
        );
        assert_eq!(
            summary(&resolve(
                &sip("sip:10.0.0.1:5080;transport=tcp"),
                ALL,
                &mut zone
            )),
            vec!["TCP 10.0.0.1:5080"]
        );
        assert_eq!(
            summary(&resolve(&sip("sips:[2001:db8::1]"), ALL, &mut zone)),
            vec!["TLS [2001:db8::1]:5061"]
        );
        assert!(zone.asked.is_empty());
    }

    #[test]
    fn naptr_then_srv_then_addresses_in_order_with_failover_targets() {
        let mut zone = Zone::default();
        zone.naptr.insert(
            "carrier.example".into(),
            vec![
                Naptr {
                    order: 20,
                    preference: 10,
                    flags: "s".into(),
                    service: "SIP+D2U".into(),
                    replacement: "_sip._udp.carrier.example".into(),
                },
                Naptr {
                    order: 10,
                    preference: 10,
                    flags: "s".into(),
                    service: "SIP+D2T".into(),
                    replacement: "_sip._tcp.carrier.example".into(),
                },
            ],
        );
        zone.srv.insert(
            "_sip._tcp.carrier.example".into(),
            vec![
                srv(20, 0, 5060, "b.carrier.example"),
                srv(10, 5, 5062, "a.carrier.example."),
            ],
        );
        zone.srv.insert(
            "_sip._udp.carrier.example".into(),
            vec![srv(10, 0, 5060, "a.carrier.example")],
        );
        zone.a.insert(
            "a.carrier.example".into(),
            vec!["192.0.2.1".parse().unwrap()],
        );
        zone.a.insert(
            "b.carrier.example".into(),
            vec!["192.0.2.2".parse().unwrap(), "192.0.2.3".parse().unwrap()],
        );
        let targets = resolve(&sip("sip:+4930123@carrier.example"), ALL, &mut zone);
        assert_eq!(
            summary(&targets),
            vec![
                "TCP 192.0.2.1:5062",
                "TCP 192.0.2.2:5060",
                "TCP 192.0.2.3:5060",
                "UDP 192.0.2.1:5060",
            ]
        );
        assert_eq!(targets[0].server_name.as_deref(), Some("a.carrier.example"));
        // Without TCP support the UDP record is used.
        let udp_only = resolve(
            &sip("sip:x@carrier.example"),
            &[TransportKind::Udp],
            &mut zone,
        );
        assert_eq!(summary(&udp_only), vec!["UDP 192.0.2.1:5060"]);
    }

    #[test]
    fn without_naptr_srv_is_tried_per_transport_then_plain_a() {
        let mut zone = Zone::default();
        zone.srv.insert(
            "_sip._tcp.pbx.example".into(),
            vec![srv(0, 0, 5070, "pbx.example")],
        );
        zone.a
            .insert("pbx.example".into(), vec!["198.51.100.7".parse().unwrap()]);
        assert_eq!(
            summary(&resolve(&sip("sip:pbx.example"), ALL, &mut zone)),
            vec!["TCP 198.51.100.7:5070"]
        );
        zone.srv.clear();
        assert_eq!(
            summary(&resolve(&sip("sip:pbx.example"), ALL, &mut zone)),
            vec!["UDP 198.51.100.7:5060"]
        );
        assert_eq!(
            summary(&resolve(&sip("sips:pbx.example"), ALL, &mut zone)),
            vec!["TLS 198.51.100.7:5061"]
        );
    }

    #[test]
    fn explicit_port_or_transport_skips_naptr() {
        let mut zone = Zone::default();
        zone.a
            .insert("gw.example".into(), vec!["203.0.113.9".parse().unwrap()]);
        assert_eq!(
            summary(&resolve(&sip("sip:gw.example:5080"), ALL, &mut zone)),
            vec!["UDP 203.0.113.9:5080"]
        );
        assert_eq!(
            summary(&resolve(
                &sip("sip:gw.example;transport=tcp"),
                ALL,
                &mut zone
            )),
            vec!["TCP 203.0.113.9:5060"]
        );
        assert!(
            !zone.asked.iter().any(|q| q.starts_with("NAPTR")),
            "{:?}",
            zone.asked
        );
    }

    #[test]
    fn sips_never_falls_back_to_an_insecure_transport_and_dot_target_means_none() {
        let mut zone = Zone::default();
        zone.naptr.insert(
            "secure.example".into(),
            vec![Naptr {
                order: 1,
                preference: 1,
                flags: "s".into(),
                service: "SIP+D2U".into(),
                replacement: "_sip._udp.secure.example".into(),
            }],
        );
        zone.srv
            .insert("_sips._tcp.secure.example".into(), vec![srv(0, 0, 0, ".")]);
        assert!(resolve(&sip("sips:secure.example"), ALL, &mut zone).is_empty());
        assert!(resolve(&sip("sips:10.0.0.1;transport=udp"), ALL, &mut zone).is_empty());
    }
}
