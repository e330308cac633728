//! Property tests: structured messages print and re-parse equal; arbitrary
//! and mutated input never panics.

mod common;

use bytes::Bytes;
use cec_sip_msg::{
    CSeq, Contact, Header, HeaderName, Host, Message, Method, NameAddr, Param, Print, SipUri,
    StreamDecoder, Transport, Uri, Via, parse_datagram,
};
use common::{load, touch_all};
use proptest::prelude::*;

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!%*_+`'~.-]{1,12}"
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Invite),
        Just(Method::Register),
        Just(Method::Options),
        Just(Method::Bye),
        token().prop_map(|t| Method::from_bytes(t.as_bytes()).unwrap()),
    ]
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){0,2}".prop_map(|d| Host::Domain(Bytes::from(d))),
        any::<[u8; 4]>().prop_map(|a| Host::Ipv4(a.into())),
        any::<u128>().prop_map(|a| Host::Ipv6(a.into())),
    ]
}

fn bytes_no_crlf(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(
        any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'),
        0..max,
    )
    .prop_map(Bytes::from)
}

fn uri_param() -> impl Strategy<Value = Param> {
    (
        "[a-z][a-z0-9-]{0,6}",
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..8)),
    )
        .prop_map(|(n, v)| Param::new(n, v.map(Bytes::from)))
}

fn sip_uri() -> impl Strategy<Value = Uri> {
    (
        any::<bool>(),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 1..12)),
        host(),
        proptest::option::of(any::<u16>()),
        proptest::collection::vec(uri_param(), 0..3),
    )
        .prop_map(|(secure, user, host, port, params)| {
            let mut u = SipUri::new(host);
            u.secure = secure;
            u.user = user.map(Bytes::from);
            u.port = port;
            u.params = params;
            Uri::Sip(u)
        })
}

fn name_addr() -> impl Strategy<Value = NameAddr> {
    (
        proptest::option::of(bytes_no_crlf(16)),
        sip_uri(),
        proptest::option::of("[a-zA-Z0-9]{1,10}"),
    )
        .prop_map(|(d, uri, tag)| {
            let mut a = NameAddr::new(uri);
            a.display_name = d;
            if let Some(t) = tag {
                a.set_tag(t);
            }
            a
        })
}

fn via() -> impl Strategy<Value = Via> {
    (
        host(),
        proptest::option::of(any::<u16>()),
        "[a-zA-Z0-9]{1,10}",
        any::<bool>(),
    )
        .prop_map(|(h, p, b, tcp)| {
            let t = if tcp { Transport::Tcp } else { Transport::Udp };
            let mut v = Via::new(t, h, p, format!("z9hG4bK{b}").as_bytes());
            v.set_param("rport", None);
            v
        })
}

#[derive(Debug, Clone)]
struct Spec {
    method: Method,
    uri: Uri,
    vias: Vec<Via>,
    from: NameAddr,
    to: NameAddr,
    contacts: Vec<NameAddr>,
    call_id: String,
    seq: u32,
    ext: String,
    body: Vec<u8>,
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        (method(), sip_uri(), proptest::collection::vec(via(), 1..4)),
        (
            name_addr(),
            name_addr(),
            proptest::collection::vec(name_addr(), 0..3),
        ),
        ("[a-zA-Z0-9.@-]{1,20}", any::<u32>(), "[ -~]{0,20}[!-~]"),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(
            |((method, uri, vias), (from, to, contacts), (call_id, seq, ext), body)| Spec {
                method,
                uri,
                vias,
                from,
                to,
                contacts,
                call_id,
                seq,
                ext,
                body,
            },
        )
}

fn build(s: &Spec) -> Message {
    let mut m = Message::request(s.method.clone(), s.uri.clone());
    // Two Via lines: the first holds all but the last value, comma-joined.
    let (last, rest) = s.vias.split_last().unwrap();
    if !rest.is_empty() {
        let joined: Vec<Vec<u8>> = rest.iter().map(Print::to_vec).collect();
        m.push(HeaderName::Via, &joined.join(&b", "[..]));
    }
    m.push_typed(HeaderName::Via, last);
    m.push_typed(HeaderName::From, &s.from);
    m.push_typed(HeaderName::To, &s.to);
    m.push(HeaderName::CallId, s.call_id.as_bytes());
    m.push_typed(
        HeaderName::CSeq,
        &CSeq {
            seq: s.seq,
            method: s.method.clone(),
        },
    );
    m.push(HeaderName::MaxForwards, b"70");
    if !s.contacts.is_empty() {
        let joined: Vec<Vec<u8>> = s.contacts.iter().map(Print::to_vec).collect();
        m.push(HeaderName::Contact, &joined.join(&b","[..]));
    }
    m.push(HeaderName::from("X-Ext"), s.ext.as_bytes());
    m.push(
        HeaderName::ContentLength,
        s.body.len().to_string().as_bytes(),
    );
    m.set_body(s.body.clone());
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn structured_round_trip(s in spec()) {
        let m = build(&s);
        let wire = m.to_bytes();
        let p = parse_datagram(wire.clone()).unwrap();
        prop_assert_eq!(&p, &m);
        p.validate().unwrap();
        prop_assert_eq!(p.via().unwrap(), s.vias);
        prop_assert_eq!(p.from().unwrap(), s.from);
        prop_assert_eq!(p.to().unwrap(), s.to);
        prop_assert_eq!(p.request_uri().unwrap(), &s.uri);
        prop_assert_eq!(p.cseq().unwrap().seq, s.seq);
        let contacts: Vec<Contact> = s.contacts.iter().cloned().map(Contact::Address).collect();
        prop_assert_eq!(p.contacts().unwrap(), contacts);
        prop_assert_eq!(&p.body()[..], &s.body[..]);
        prop_assert_eq!(p.to_bytes(), wire);
        touch_all(&p);
    }

    #[test]
    fn responses_round_trip(code in 100u16..700, reason in bytes_no_crlf(20), s in spec()) {
        let req = build(&s);
        let tag = b"as8d7f";
        let mut r = Message::response_to(&req, code, reason.clone(), Some(tag)).unwrap();
        r.set_body(Bytes::from_static(b"hello"));
        let p = parse_datagram(r.to_bytes()).unwrap();
        prop_assert_eq!(p.status(), Some(code));
        prop_assert_eq!(p.reason().unwrap(), &reason);
        prop_assert_eq!(p.via().unwrap(), s.vias);
        prop_assert_eq!(p.call_id().unwrap(), Bytes::from(s.call_id.clone()));
        let to = p.to().unwrap();
        prop_assert!(to.tag().is_some());
        if s.to.tag().is_none() {
            prop_assert_eq!(&to.tag().unwrap()[..], &tag[..]);
        }
        prop_assert_eq!(&p.body()[..], b"hello");
        p.validate().unwrap();
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(m) = parse_datagram(Bytes::from(data.clone())) {
            touch_all(&m);
        }
        let mut d = StreamDecoder::new();
        d.feed(&data);
        while let Ok(Some(_)) = d.next_item() {}
    }

    #[test]
    fn mutated_messages_never_panic(
        file in 0usize..8,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let names = ["wsinv", "intmeth", "esc01", "longreq", "mpart01", "unreason", "regescrt", "inv2543"];
        let mut data = load("rfc4475", names[file]).to_vec();
        for (idx, byte, op) in edits {
            let i = idx.index(data.len().max(1)).min(data.len());
            match op {
                0 if i < data.len() => data[i] = byte,
                1 => data.insert(i, byte),
                _ if i < data.len() => { data.remove(i); }
                _ => {}
            }
        }
        if let Ok(m) = parse_datagram(Bytes::from(data.clone())) {
            touch_all(&m);
            if m.validate().is_ok() {
                let again = parse_datagram(m.to_bytes());
                prop_assert!(again.is_ok(), "{:?}", again);
                prop_assert_eq!(again.unwrap(), m);
            }
        }
        let mut d = StreamDecoder::new();
        for chunk in data.chunks(7) {
            d.feed(chunk);
            while let Ok(Some(_)) = d.next_item() {}
        }
    }
}

#[test]
fn mutation_api() {
    let raw = load("rfc4475", "esc01");
    let mut m = parse_datagram(raw).unwrap();
    let top = Via::new(
        Transport::Tcp,
        Host::Domain(Bytes::from_static(b"proxy.example")),
        Some(5061),
        b"z9hG4bKproxy1",
    );
    m.insert_top(Header::typed(HeaderName::Via, &top));
    assert_eq!(m.top_via().unwrap(), top);
    assert_eq!(m.via().unwrap().len(), 2);
    m.set_header(Header::new(HeaderName::MaxForwards, b"86"));
    assert_eq!(m.max_forwards().unwrap(), Some(86));
    assert_eq!(m.remove_header(&HeaderName::Contact), 1);
    assert!(m.contacts().unwrap().is_empty());
    m.set_body(Bytes::from_static(b"short"));
    let p = parse_datagram(m.to_bytes()).unwrap();
    assert_eq!(p.content_length().unwrap(), Some(5));
    assert_eq!(&p.body()[..], b"short");
    p.validate().unwrap();
    // Removing the first Via line (what a proxy does on a response).
    let mut r = Message::response_to(&p, 180, "Ringing", Some(b"totag")).unwrap();
    assert!(r.remove_first(&HeaderName::Via).is_some());
    assert_eq!(r.via().unwrap().len(), 1);
    assert_eq!(r.to().unwrap().tag().map(|t| &t[..]), Some(&b"totag"[..]));
}
