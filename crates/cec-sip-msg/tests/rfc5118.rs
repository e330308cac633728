//! RFC 5118 IPv6 torture tests.

mod common;

use bytes::Bytes;
use cec_sip_msg::{Host, Message, Uri, parse_datagram};
use common::{load, touch_all};

fn v6(s: &str) -> Host {
    Host::Ipv6(s.parse().unwrap())
}

/// Rewrites Content-Length to the real body length (three RFC files are
/// wrong, see testdata/rfc5118/INDEX.md).
fn fix_content_length(raw: &[u8]) -> Bytes {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let (head, body) = raw.split_at(split);
    let head = String::from_utf8(head.to_vec()).unwrap();
    let mut out = String::new();
    for line in head.split_inclusive("\r\n") {
        if line.starts_with("Content-Length:") {
            out.push_str(&format!("Content-Length: {}\r\n", body.len()));
        } else {
            out.push_str(line);
        }
    }
    let mut v = out.into_bytes();
    v.extend_from_slice(body);
    Bytes::from(v)
}

fn valid_raw(name: &str, raw: &Bytes) -> Message {
    let m = parse_datagram(raw.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    touch_all(&m);
    m.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(&m.to_bytes(), raw, "{name}: not byte-exact");
    assert_eq!(parse_datagram(m.to_bytes()).unwrap(), m);
    m
}

fn valid(name: &str) -> Message {
    valid_raw(name, &load("rfc5118", name))
}

fn sip_host(u: &Uri) -> (Host, Option<u16>) {
    let s = u.as_sip().unwrap();
    (s.host.clone(), s.port)
}

#[test]
fn ipv6_good_and_bad() {
    let m = valid("ipv6-good");
    assert_eq!(
        sip_host(m.request_uri().unwrap()),
        (v6("2001:db8::10"), None)
    );
    assert_eq!(m.top_via().unwrap().host, v6("2001:db8::9:1"));
    let c = m.contacts().unwrap();
    assert_eq!(sip_host(&c[0].address().unwrap().uri).0, v6("2001:db8::1"));

    let e = parse_datagram(load("rfc5118", "ipv6-bad")).unwrap_err();
    assert_eq!(e.response_status().map(|s| s.0), Some(400));
}

#[test]
fn ports() {
    let a = valid("port-ambiguous");
    assert_eq!(
        sip_host(a.request_uri().unwrap()),
        (v6("2001:db8::10:5070"), None)
    );
    let u = valid("port-unambiguous");
    assert_eq!(
        sip_host(u.request_uri().unwrap()),
        (v6("2001:db8::10"), Some(5070))
    );
}

#[test]
fn via_received() {
    let d = valid("via-received-param-with-delim");
    assert_eq!(
        d.top_via().unwrap().received(),
        Some("2001:db8::9:255".parse().unwrap())
    );
    let n = valid("via-received-param-no-delim");
    let v = n.top_via().unwrap();
    assert_eq!(v.received(), Some("2001:db8::9:255".parse().unwrap()));
    assert_eq!(v.branch().map(|b| &b[..]), Some(&b"z9hG4bKas3"[..]));
}

#[test]
fn multiple_ips() {
    let m = valid("mult-ip-in-header");
    let v = m.via().unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!(
        (v[0].host.clone(), v[0].port),
        (v6("2001:db8::9:1"), Some(6050))
    );
    assert_eq!(v[1].host, Host::Ipv4([192, 0, 2, 1].into()));
    assert_eq!(v[2].host, v6("2001:db8::9:255"));
    assert_eq!(v[2].received(), Some("192.0.2.200".parse().unwrap()));
    assert_eq!(v[2].branch().map(|b| &b[..]), Some(&b"z9hG4bK451jj"[..]));
}

#[test]
fn sdp_bodies_with_fixed_length() {
    for name in ["ipv6-in-sdp", "mult-ip-in-sdp", "ipv4-mapped-ipv6"] {
        let m = valid_raw(name, &fix_content_length(&load("rfc5118", name)));
        assert!(!m.body().is_empty());
        assert!(m.content_type().unwrap().unwrap().is("application", "sdp"));
    }
    let m = valid_raw(
        "ipv4-mapped-ipv6",
        &fix_content_length(&load("rfc5118", "ipv4-mapped-ipv6")),
    );
    assert_eq!(m.top_via().unwrap().host, v6("::ffff:192.0.2.10"));
    assert_eq!(m.top_via().unwrap().port, Some(19823));
}

#[test]
fn unfixed_ipv6_in_sdp_is_too_short_over_udp() {
    let e = parse_datagram(load("rfc5118", "ipv6-in-sdp")).unwrap_err();
    assert!(matches!(
        e.kind,
        cec_sip_msg::ParseErrorKind::ContentLength(_)
    ));
    assert_eq!(e.response_status().map(|s| s.0), Some(400));
    // The other two declare a length that cuts the SDP short: accepted.
    for name in ["mult-ip-in-sdp", "ipv4-mapped-ipv6"] {
        assert!(parse_datagram(load("rfc5118", name)).is_ok(), "{name}");
    }
}

#[test]
fn three_colons_tolerated() {
    let m = valid("ipv6-bug-abnf-3-colons");
    assert_eq!(
        sip_host(m.request_uri().unwrap()).0,
        v6("2001:db8::192.0.2.1")
    );
    assert_eq!(sip_host(&m.to().unwrap().uri).0, v6("2001:db8::192.0.2.1"));
    let c = valid("ipv6-correct-abnf-2-colons");
    assert_eq!(
        sip_host(c.request_uri().unwrap()).0,
        v6("2001:db8::192.0.2.1")
    );
}
