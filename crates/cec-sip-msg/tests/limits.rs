//! Limits and framing edges, each at its exact boundary: a limit of N accepts N and rejects
//! N+1 (mutation testing showed the boundaries were not pinned). Also leading CRLFs, bare-LF
//! keep-alives, tabs in the Request-URI and the Via sniffing that decides whether a broken
//! request can still be answered.

use cec_sip_msg::bytes::Bytes;
use cec_sip_msg::{
    Limits, ParseErrorKind, StreamDecoder, StreamItem, parse_datagram, parse_datagram_with,
};

const OPTIONS: &str = "OPTIONS sip:u@example.com SIP/2.0\r\n\
    Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
    From: <sip:a@example.com>;tag=1\r\n\
    To: <sip:u@example.com>\r\n\
    Call-ID: c1\r\n\
    CSeq: 1 OPTIONS\r\n\
    Max-Forwards: 70\r\n";

fn with_body(body: &str) -> String {
    format!("{OPTIONS}Content-Length: {}\r\n\r\n{body}", body.len())
}

fn limits() -> Limits {
    Limits::default()
}

#[test]
fn message_size_limit_is_inclusive() {
    let msg = with_body("hello");
    let exact = Limits {
        max_message_size: msg.len(),
        ..limits()
    };
    assert!(parse_datagram_with(Bytes::from(msg.clone()), &exact).is_ok());
    let smaller = Limits {
        max_message_size: msg.len() - 1,
        ..limits()
    };
    let err = parse_datagram_with(Bytes::from(msg), &smaller).unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::MessageTooLarge);
    assert_eq!(err.response_status(), Some((513, "Message Too Large")));
}

#[test]
fn body_limit_is_inclusive() {
    let msg = with_body("0123456789");
    let exact = Limits {
        max_body: 10,
        ..limits()
    };
    assert!(parse_datagram_with(Bytes::from(msg.clone()), &exact).is_ok());
    let smaller = Limits {
        max_body: 9,
        ..limits()
    };
    let err = parse_datagram_with(Bytes::from(msg), &smaller).unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::BodyTooLarge);
    assert_eq!(
        err.response_status(),
        Some((413, "Request Entity Too Large"))
    );
}

#[test]
fn header_line_limit_is_inclusive() {
    let msg = with_body("");
    let longest = msg.lines().skip(1).map(str::len).max().unwrap_or_default();
    let exact = Limits {
        max_header_line: longest,
        ..limits()
    };
    assert!(parse_datagram_with(Bytes::from(msg.clone()), &exact).is_ok());
    let smaller = Limits {
        max_header_line: longest - 1,
        ..limits()
    };
    let err = parse_datagram_with(Bytes::from(msg), &smaller).unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::HeaderLineTooLong);
}

#[test]
fn stream_limits_are_inclusive() {
    let msg = with_body("0123456789");
    let decode = |limits: Limits| {
        let mut d = StreamDecoder::with_limits(limits);
        d.feed(msg.as_bytes());
        d.next_item()
    };
    let exact = Limits {
        max_message_size: msg.len(),
        max_body: 10,
        ..limits()
    };
    assert!(matches!(decode(exact), Ok(Some(StreamItem::Message(_)))));
    let body_over = Limits {
        max_body: 9,
        ..exact
    };
    assert_eq!(
        decode(body_over).unwrap_err().kind,
        ParseErrorKind::BodyTooLarge
    );
    let size_over = Limits {
        max_message_size: msg.len() - 1,
        ..exact
    };
    assert_eq!(
        decode(size_over).unwrap_err().kind,
        ParseErrorKind::MessageTooLarge
    );
}

#[test]
fn stream_buffer_without_a_header_end_is_bounded() {
    let limits = Limits {
        max_message_size: 64,
        ..limits()
    };
    let mut d = StreamDecoder::with_limits(limits);
    d.feed(&[b'a'; 64]);
    assert!(
        matches!(d.next_item(), Ok(None)),
        "64 bytes may still become a message"
    );
    assert_eq!(d.buffered(), 64);
    d.feed(b"a");
    assert_eq!(
        d.next_item().unwrap_err().kind,
        ParseErrorKind::MessageTooLarge
    );
}

#[test]
fn stream_skips_bare_lf_keep_alives() {
    let mut d = StreamDecoder::new();
    d.feed(b"\n\n");
    d.feed(with_body("").as_bytes());
    assert!(matches!(d.next_item(), Ok(Some(StreamItem::Message(_)))));
    assert_eq!(d.buffered(), 0);
}

#[test]
fn datagram_tolerates_leading_crlfs_and_bare_lfs() {
    for lead in ["\r\n", "\n", "\r\n\r\n", "\n\r\n"] {
        let msg = format!("{lead}{}", with_body("x"));
        let m = parse_datagram(Bytes::from(msg)).unwrap_or_else(|e| panic!("{lead:?}: {e}"));
        assert_eq!(m.body().as_ref(), b"x");
        assert!(m.validate().is_ok());
    }
}

#[test]
fn a_tab_in_the_request_uri_is_rejected() {
    let msg = with_body("").replacen("sip:u@example.com", "sip:u\t@example.com", 1);
    let err = parse_datagram(Bytes::from(msg)).unwrap_err();
    assert_eq!(err.response_status(), Some((400, "Bad Request-URI")));
    assert_eq!(
        err.kind,
        ParseErrorKind::BadRequestUri("whitespace in Request-URI")
    );
}

/// A request broken after a folded Via can still be answered: the sniffer unfolds it.
#[test]
fn a_folded_via_still_routes_the_error_response() {
    let msg = "OPTIONS sip:u@example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP\r\n 192.0.2.1;branch=z9hG4bK1\r\n\
        this line has no colon\r\n\r\n";
    let err = parse_datagram(Bytes::from_static(msg.as_bytes())).unwrap_err();
    assert!(err.via_usable, "{err:?}");
    assert_eq!(err.response_status().map(|s| s.0), Some(400));
    let tab_folded = msg.replace("\r\n 192.0.2.1", "\r\n\t192.0.2.1");
    let err = parse_datagram(Bytes::from(tab_folded)).unwrap_err();
    assert!(err.via_usable, "folded with a tab: {err:?}");
    let unfolded_broken = msg.replace("\r\n 192.0.2.1", "\r\nX: 192.0.2.1");
    let err = parse_datagram(Bytes::from(unfolded_broken)).unwrap_err();
    assert!(
        !err.via_usable,
        "a Via without a host cannot be answered: {err:?}"
    );
}
