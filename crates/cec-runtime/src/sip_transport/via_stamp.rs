//! RFC 3261 §18.2.1 and RFC 3581 §4: the server records where a request
//! really came from in its top Via, so responses find their way back
//! through NATs.

use std::net::SocketAddr;

use cec_sip_msg::bytes::Bytes;
use cec_sip_msg::{Header, HeaderName, Limits, Message, Print, Via, parse_datagram_with};

/// Stamps the top Via of a request received from `source`:
/// `received=<ip>` when the sent-by host is not the source IP, and, when the
/// Via carries an empty `rport`, `rport=<source port>` plus `received`.
///
/// Only the first Via value changes; every other header, and any further Via
/// values on the same line, keep their bytes. Responses, requests whose top
/// Via does not parse, and requests that need no stamp are left untouched.
/// Returns whether the message changed.
pub fn stamp_via(message: &mut Message, source: SocketAddr) -> bool {
    if !message.is_request() {
        return false;
    }
    let Ok(mut via) = message.top_via() else {
        return false;
    };
    let source_ip = source.ip().to_canonical();
    let empty_rport = via.param("rport").is_some_and(|p| p.value.is_none());
    let host_is_source = via.host.ip().map(|ip| ip.to_canonical()) == Some(source_ip);
    let received_is_source = via.received() == Some(source_ip);
    if empty_rport {
        via.set_rport(source.port());
        via.set_received(source_ip);
    } else if !host_is_source && !received_is_source {
        via.set_received(source_ip);
    } else {
        return false;
    }
    replace_top_via(message, &via)
}

/// Rewrites the first value of the first Via header line.
fn replace_top_via(message: &mut Message, via: &Via) -> bool {
    let Some(index) = message
        .headers()
        .iter()
        .position(|h| *h.name() == HeaderName::Via)
    else {
        return false;
    };
    let Some(old) = message.headers().get(index) else {
        return false;
    };
    let mut value = via.to_vec();
    if let Some(rest) = after_first_value(old.value()) {
        value.extend_from_slice(rest);
    }
    let header = via_header(&value);
    message.remove_first(&HeaderName::Via);
    message.insert_header(index, header);
    true
}

/// A Via header line with this value. `Header::new` turns CR and LF into
/// spaces, which would alter the values after the first one when the line
/// was folded or (invalidly) carries a CR inside a quoted branch; such a
/// value goes through the parser instead, which keeps its bytes.
fn via_header(value: &[u8]) -> Header {
    if !value.iter().any(|&b| b == b'\r' || b == b'\n') {
        return Header::new(HeaderName::Via, value);
    }
    let mut text = b"OPTIONS sip:x SIP/2.0\r\nVia: ".to_vec();
    text.extend_from_slice(value);
    text.extend_from_slice(b"\r\n\r\n");
    let limits = Limits {
        max_message_size: usize::MAX,
        max_header_line: usize::MAX,
        ..Limits::default()
    };
    match parse_datagram_with(Bytes::from(text), &limits) {
        Ok(parsed) if parsed.headers().len() == 1 => match parsed.headers().first() {
            Some(header) => header.clone(),
            None => Header::new(HeaderName::Via, value),
        },
        _ => Header::new(HeaderName::Via, value),
    }
}

/// The part of a comma-separated header value from the comma that ends the
/// first element (commas inside quotes or `<>` do not count, as in the
/// message crate's list splitter); `None` when there is one element.
fn after_first_value(value: &[u8]) -> Option<&[u8]> {
    let mut in_quote = false;
    let mut in_angle = false;
    let mut escaped = false;
    for (i, &b) in value.iter().enumerate() {
        if in_quote {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_quote = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'>' if in_angle => in_angle = false,
            _ if in_angle => {}
            b'"' => in_quote = true,
            b'<' => in_angle = true,
            b',' => return value.get(i..),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use cec_sip_msg::parse_datagram;
    use proptest::prelude::*;

    fn request(via_lines: &str) -> Message {
        let text = format!(
            "OPTIONS sip:a@example.com SIP/2.0\r\n{via_lines}\
             To: <sip:a@example.com>\r\nFrom: <sip:b@example.com>;tag=1\r\n\
             Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        );
        parse_datagram(Bytes::from(text)).unwrap()
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn reparsed(m: &Message) -> Message {
        parse_datagram(m.to_bytes()).unwrap()
    }

    #[test]
    fn sent_by_equal_to_source_and_no_rport_is_untouched() {
        let mut m = request("Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n");
        let before = m.to_bytes();
        assert!(!stamp_via(&mut m, addr("192.0.2.1:5060")));
        assert_eq!(m.to_bytes(), before);
    }

    #[test]
    fn different_host_gets_received_only() {
        let mut m = request("Via: SIP/2.0/UDP pc33.example.com:5070;branch=z9hG4bK1\r\n");
        assert!(stamp_via(&mut m, addr("192.0.2.9:40000")));
        let v = reparsed(&m).top_via().unwrap();
        assert_eq!(v.received(), Some("192.0.2.9".parse().unwrap()));
        assert_eq!(v.rport(), None);
        assert_eq!(v.port, Some(5070));
        assert_eq!(v.branch().map(|b| &b[..]), Some(&b"z9hG4bK1"[..]));
    }

    #[test]
    fn empty_rport_gets_port_and_received_even_when_host_matches() {
        let mut m = request("Via: SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK1\r\n");
        assert!(stamp_via(&mut m, addr("192.0.2.1:61000")));
        let v = reparsed(&m).top_via().unwrap();
        assert_eq!(v.rport(), Some(Some(61000)));
        assert_eq!(v.received(), Some("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn rport_with_value_is_kept() {
        let mut m = request("Via: SIP/2.0/UDP 192.0.2.1;rport=7;branch=z9hG4bK1\r\n");
        assert!(!stamp_via(&mut m, addr("192.0.2.1:61000")));
        assert_eq!(m.top_via().unwrap().rport(), Some(Some(7)));
    }

    #[test]
    fn only_the_first_value_changes_and_other_headers_stay_byte_exact() {
        let lines = "v:  SIP/2.0/TCP a.example.com;branch=z9hG4bK1 ,\r\n SIP/2.0/UDP \
                     b.example.com;branch=\"q,x\"\r\nVia: SIP/2.0/UDP c.example.com;branch=z9hG4bK3\r\n";
        let mut m = request(lines);
        let before = m.clone();
        assert!(stamp_via(&mut m, addr("[2001:db8::1]:5060")));
        let out = reparsed(&m);
        let vias = out.via().unwrap();
        assert_eq!(vias.len(), 3);
        assert_eq!(vias[0].received(), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(vias[1..], before.via().unwrap()[1..]);
        let raw = |m: &Message| {
            m.headers()
                .iter()
                .skip(1)
                .map(|h| h.raw_line().clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(raw(&m), raw(&before));
    }

    /// Found by the `via_stamp` fuzz target: a (invalid) CR inside a quoted
    /// branch of the second Via value on the stamped line became a space,
    /// changing that branch; folding CRLFs were likewise rewritten.
    #[test]
    fn bytes_after_the_first_value_are_kept_exactly() {
        let text = "OPTIONS sip:a@exom SIP/2.0\r\nv: SIP/2.0/TCP a.example.com;branch=z9hG4bK1 ,\r\n \
                    SIP/2.0/UDP b.example.com;branch=\"q,x\r\"\nVia: SIP/2.0/UDP c.example;branch=z9hG4bK3\r\n\
                    To: <sip:a@example.com>\r\nFrom: <sip:b@example.com>;tag=1\r\nCall-ID: c1\r\n\
                    CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
        let mut m = parse_datagram(Bytes::from(text)).unwrap();
        let before = m.via().unwrap();
        assert!(stamp_via(&mut m, addr("[2001:db8::1]:5070")));
        let line = m.headers()[0].raw_line().clone();
        assert!(line.ends_with(b",\r\n SIP/2.0/UDP b.example.com;branch=\"q,x\r\""));
        let after = reparsed(&m).via().unwrap();
        assert_eq!(after[1..], before[1..]);
        assert_eq!(after[0].received(), Some("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn ipv4_mapped_source_is_written_as_ipv4() {
        let mut m = request("Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n");
        assert!(!stamp_via(&mut m, addr("[::ffff:192.0.2.1]:5060")));
        assert!(stamp_via(&mut m, addr("[::ffff:192.0.2.7]:5060")));
        let v = reparsed(&m).top_via().unwrap();
        assert_eq!(v.received(), Some("192.0.2.7".parse().unwrap()));
    }

    #[test]
    fn responses_and_bad_vias_are_left_alone() {
        let text = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h.example.com;rport\r\nTo: <sip:a@b>\r\n\
                    From: <sip:b@b>;tag=1\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
        let mut r = parse_datagram(Bytes::from(text)).unwrap();
        assert!(!stamp_via(&mut r, addr("192.0.2.1:1")));
        let mut bad = request("Via: SIP/2.0 nowhere\r\n");
        assert!(!stamp_via(&mut bad, addr("192.0.2.1:1")));
    }

    #[test]
    fn first_value_split_respects_quotes_and_angles() {
        assert_eq!(after_first_value(b"a;x=\"1,\\\"2\",b"), Some(&b",b"[..]));
        assert_eq!(after_first_value(b"<sip:a,b>,c"), Some(&b",c"[..]));
        assert_eq!(after_first_value(b"a;b=c"), None);
        assert_eq!(after_first_value(b"\"unterminated,"), None);
    }

    fn host() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z]{1,8}(\\.[a-z]{1,6}){0,2}",
            any::<[u8; 4]>().prop_map(|o| std::net::Ipv4Addr::from(o).to_string()),
            any::<[u16; 8]>().prop_map(|s| format!("[{}]", std::net::Ipv6Addr::from(s))),
        ]
    }

    proptest! {
        #[test]
        fn stamped_requests_reparse_with_the_source_recorded(
            host in host(),
            port in proptest::option::of(1u16..),
            rport in prop_oneof![Just(""), Just(";rport"), Just(";rport=99")],
            extra in "(;[a-z]{1,5}(=[a-z0-9]{1,5})?){0,3}",
            second in proptest::option::of("[a-z]{1,8}"),
            src in any::<SocketAddr>(),
        ) {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let tail = second.map(|h| format!(", SIP/2.0/UDP {h};branch=z9hG4bK2")).unwrap_or_default();
            let line = format!("Via: SIP/2.0/UDP {host}{port}{rport};branch=z9hG4bK1{extra}{tail}\r\n");
            let mut m = request(&line);
            let before = m.via().unwrap();
            stamp_via(&mut m, src);
            let out = reparsed(&m);
            let after = out.via().unwrap();
            prop_assert_eq!(after.len(), before.len());
            prop_assert_eq!(&after[1..], &before[1..]);
            let top = &after[0];
            let ip = src.ip().to_canonical();
            if top.host.ip().map(|h| h.to_canonical()) != Some(ip) || rport == ";rport" {
                prop_assert_eq!(top.received(), Some(ip));
            }
            if rport == ";rport" {
                prop_assert_eq!(top.rport(), Some(Some(src.port())));
            }
            prop_assert_eq!(top.branch(), before[0].branch());
        }

        #[test]
        fn never_panics_on_arbitrary_via_values(value in "SIP/2\\.0/[A-Z]{2,4} [ -~]{0,60}", src in any::<SocketAddr>()) {
            let text = format!(
                "OPTIONS sip:a@b SIP/2.0\r\nVia: {value}\r\nContent-Length: 0\r\n\r\n"
            );
            if let Ok(mut m) = parse_datagram(Bytes::from(text))
                && stamp_via(&mut m, src)
            {
                let out = parse_datagram(m.to_bytes());
                prop_assert!(out.is_ok());
                let top = out.unwrap().top_via();
                prop_assert!(top.is_ok());
                prop_assert_eq!(top.unwrap().received(), Some(src.ip().to_canonical()));
            }
        }
    }
}
