//! The building and editing API a transaction layer and a B2BUA use, message equality, and
//! the small typed accessors — each pinned by a test because mutation testing showed that
//! replacing them with no-ops went unnoticed.

use std::net::{IpAddr, Ipv4Addr};

use cec_sip_msg::bytes::Bytes;
use cec_sip_msg::{
    CSeq, Contact, Header, HeaderName, Host, Message, Method, Print, Uri, parse_datagram,
};

const REQUEST: &str = "INVITE sip:4001@192.0.2.10 SIP/2.0\r\n\
    Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
    Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK2\r\n\
    From: <sip:a@example.com>;tag=1\r\n\
    To: <sip:4001@example.com>\r\n\
    Call-ID: c1\r\n\
    CSeq: 1 INVITE\r\n\
    Contact: <sip:a@192.0.2.1>;expires=60, *\r\n\
    History-Info: <sip:4001@example.com>;index=1.1\r\n\
    Content-Length: 4\r\n\r\nbody";

fn request() -> Message {
    parse_datagram(Bytes::from_static(REQUEST.as_bytes())).expect("valid")
}

fn uri(text: &'static str) -> Uri {
    Uri::parse(&Bytes::from_static(text.as_bytes())).expect("valid URI")
}

fn printed(m: &Message) -> String {
    String::from_utf8(m.to_bytes().to_vec()).expect("ASCII")
}

#[test]
fn equality_looks_at_start_line_headers_and_body() {
    let a = request();
    assert_eq!(a, request());
    let mut b = request();
    b.set_method(Method::Options);
    assert_ne!(a, b, "start line");
    let mut c = request();
    c.push(HeaderName::from("X-Extra"), b"1");
    assert_ne!(a, c, "headers");
    let mut d = request();
    d.set_body(Bytes::from_static(b"other"));
    assert_ne!(a, d, "body");
}

#[test]
fn start_line_setters_change_what_is_printed() {
    let mut m = request();
    m.set_request_uri(uri("sip:1001@192.0.2.20:5062"));
    m.set_method(Method::Options);
    assert!(printed(&m).starts_with("OPTIONS sip:1001@192.0.2.20:5062 SIP/2.0\r\n"));
    let mut r = Message::response_to(&m, 180, "Ringing", Some(b"x1")).expect("To parses");
    r.set_status(486, "Busy Here");
    let text = printed(&r);
    assert!(text.starts_with("SIP/2.0 486 Busy Here\r\n"), "{text}");
    assert!(
        text.contains("To: <sip:4001@example.com>;tag=x1\r\n"),
        "{text}"
    );
    r.set_status(200, "OK\r\nX-Injected: 1");
    assert!(printed(&r).starts_with("SIP/2.0 200 OK  X-Injected: 1\r\n"));
}

#[test]
fn header_editing_keeps_order_and_counts() {
    let mut m = request();
    m.insert_top(Header::new(
        HeaderName::Via,
        b"SIP/2.0/UDP 192.0.2.99;branch=z9hG4bKtop",
    ));
    let vias = m.via().expect("vias");
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].branch().map(|b| &b[..]), Some(&b"z9hG4bKtop"[..]));
    m.insert_top(Header::new(HeaderName::from("X-New"), b"v"));
    assert_eq!(m.headers().last().map(|h| h.value()), Some(&b"v"[..]));

    m.insert_header(0, Header::new(HeaderName::from("X-First"), b"1"));
    m.insert_header(999, Header::new(HeaderName::from("X-Last"), b"2"));
    assert_eq!(m.headers().first().map(|h| h.value()), Some(&b"1"[..]));
    assert_eq!(m.headers().last().map(|h| h.value()), Some(&b"2"[..]));

    m.push_header(Header::new(
        HeaderName::Via,
        b"SIP/2.0/TCP 192.0.2.3;branch=z9hG4bK3",
    ));
    assert_eq!(m.remove_header(&HeaderName::Via), 4);
    assert_eq!(m.remove_header(&HeaderName::Via), 0);
    assert!(m.via().expect("no Via is not an error").is_empty());
}

#[test]
fn set_header_replaces_every_copy_in_place() {
    let mut m = request();
    let position = |m: &Message| {
        m.headers()
            .iter()
            .position(|h| *h.name() == HeaderName::Via)
    };
    let first_via = position(&m);
    m.set_typed(
        HeaderName::CSeq,
        &CSeq {
            seq: 7,
            method: Method::Invite,
        },
    );
    assert_eq!(m.cseq().expect("cseq").seq, 7);
    m.set_header(Header::new(
        HeaderName::Via,
        b"SIP/2.0/UDP 192.0.2.5;branch=z9hG4bK5",
    ));
    assert_eq!(m.via().expect("via").len(), 1);
    assert_eq!(position(&m), first_via, "kept at the first Via's place");
    let count = m.headers().len();
    m.set_header(Header::new(HeaderName::from("X-Absent"), b"now"));
    assert_eq!(m.headers().len(), count + 1);
}

#[test]
fn built_messages_always_carry_content_length() {
    let mut m = Message::request(Method::Options, uri("sip:u@example.com"));
    m.push(HeaderName::CallId, b"c");
    let text = printed(&m);
    assert!(text.contains("Content-Length: 0\r\n"), "{text}");
    m.set_body(Bytes::from_static(b"abc"));
    assert!(printed(&m).contains("Content-Length: 3\r\n"));
    assert_eq!(m.to_string(), printed(&m), "Display prints the wire form");
}

#[test]
fn small_accessors() {
    let m = request();
    let contacts = m.contacts().expect("contacts");
    assert_eq!(contacts.len(), 2);
    let first = contacts[0].address().expect("an address");
    assert_eq!(first.expires(), Some(60));
    assert_eq!(contacts[0].to_vec(), b"<sip:a@192.0.2.1>;expires=60");
    assert_eq!(contacts[1], Contact::Star);
    assert_eq!(contacts[1].to_vec(), b"*");
    let history = m.history_info().expect("history-info");
    assert_eq!(history[0].index().map(|i| &i[..]), Some(&b"1.1"[..]));

    assert_eq!(
        Host::Ipv4(Ipv4Addr::new(192, 0, 2, 1)).ip(),
        Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
    );
    assert_eq!(Host::Domain(Bytes::from_static(b"example.com")).ip(), None);

    assert_eq!(uri("sips:a@example.com").scheme(), b"sips");
    assert_eq!(uri("sip:a@example.com").scheme(), b"sip");
    assert_eq!(uri("tel:+15551234").scheme(), b"tel");
    assert_eq!(uri("urn:service:sos").scheme(), b"urn");
    let Uri::Sip(route) = uri("sip:proxy.example.com;lr") else {
        panic!("sip URI");
    };
    assert!(route.lr());
    let Uri::Sip(plain) = uri("sip:proxy.example.com") else {
        panic!("sip URI");
    };
    assert!(!plain.lr());
}

#[test]
fn uri_characters_ports_and_escaping() {
    for bad in [
        "sip:a<b@example.com",
        "sip:a@example.com:",
        "sip:a@example.com:123456",
        "sip:a@example.com:50a0",
        "sip:a@example.com:65536",
    ] {
        assert!(
            Uri::parse(&Bytes::from_static(bad.as_bytes())).is_err(),
            "{bad}"
        );
    }
    for bad in [
        &b"sip:a\x7f@example.com"[..],
        b"1sip:a@example.com",
        b"s_p:a@example.com",
    ] {
        assert!(Uri::parse(&Bytes::from_static(bad)).is_err(), "{bad:?}");
    }
    // Unescaped values print re-escaped wherever the grammar requires it.
    let u = uri("sip:us%20er:p%40ss@example.com;x%3Dy=a%20b?h=%3Cv%3E");
    let text = String::from_utf8(u.to_vec()).expect("ASCII");
    assert_eq!(text, "sip:us%20er:p%40ss@example.com;x%3Dy=a%20b?h=%3Cv%3E");
    let again = Uri::parse(&Bytes::from(text)).expect("re-parses");
    assert_eq!(again, u);
}

#[test]
fn name_addr_rules() {
    let with = |from: &'static str| {
        let text = REQUEST.replacen("From: <sip:a@example.com>;tag=1", from, 1);
        parse_datagram(Bytes::from(text)).expect("frames").from()
    };
    assert!(with("From: \"Bell, Alexander\" <sip:a@example.com>;tag=1").is_ok());
    assert!(with("From: Bell, Alexander <sip:a@example.com>;tag=1").is_err());
    assert!(with("From: Bell \"Alexander\" sip:a@example.com;tag=1").is_err());
    assert!(with("From: <sip:a@example.com >;tag=1").is_err());
    assert!(with("From: < sip:a@example.com>;tag=1").is_err());
}
