//! Parse and print rules.

use super::fixtures::{ALL_LINES, ASTERISK, CISCO, FREESWITCH, QUIRKY, SONUS, crlf, parse};
use crate::{
    AddressType, Attribute, Direction, ParseLimits, ParseNote, Protocol, RawLine,
    SessionDescription,
};

fn notes(input: &str) -> Vec<ParseNote> {
    SessionDescription::parse_with(input, &ParseLimits::default())
        .map(|p| p.notes)
        .unwrap_or_else(|e| panic!("parse failed: {e}"))
}

#[test]
fn canonical_bodies_round_trip_byte_exact() {
    for lines in [CISCO, SONUS, FREESWITCH, ASTERISK, ALL_LINES] {
        let text = crlf(lines);
        assert_eq!(parse(lines).to_string(), text);
    }
}

#[test]
fn unknown_lines_are_kept_in_order() {
    let sdp = parse(ALL_LINES);
    let kinds: String = sdp.other_lines.iter().map(|l| l.kind).collect();
    assert_eq!(kinds, "iuepzk");
    assert_eq!(sdp.timing[0].repeats, vec!["7d 1h 0 25h".to_owned()]);
    assert_eq!(
        sdp.attributes[1],
        Attribute::Other {
            name: "X-carrier-trace".into(),
            value: Some("abc def".into())
        }
    );
    let m = &sdp.media[0];
    assert_eq!(
        m.other_lines,
        vec![
            RawLine {
                kind: 'i',
                value: "voice".into()
            },
            RawLine {
                kind: 'k',
                value: "prompt".into()
            }
        ]
    );
    assert_eq!(
        m.attributes[0],
        Attribute::Other {
            name: "X-unknown".into(),
            value: None
        }
    );
    assert_eq!(sdp.media[2].protocol, Protocol::Other("TCP/MSRP".into()));
    assert_eq!(sdp.media[2].formats, vec!["*".to_owned()]);
}

#[test]
fn out_of_order_lines_print_in_rfc_order_and_reparse_equal() {
    let input = crlf(&[
        "v=0",
        "o=- 1 2 IN IP4 192.0.2.1",
        "s=x",
        "t=0 0",
        "a=X-early",
        "c=IN IP4 192.0.2.1",
        "k=clear:k",
        "i=late info",
        "m=audio 5000 RTP/AVP 0",
        "a=ptime:20",
        "c=IN IP4 192.0.2.2",
    ]);
    let sdp = SessionDescription::parse(&input).unwrap_or_else(|e| panic!("{e}"));
    let printed = sdp.to_string();
    assert_ne!(printed, input);
    assert!(printed.starts_with("v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=x\r\ni=late info\r\nc="));
    assert_eq!(SessionDescription::parse(&printed), Ok(sdp));
}

#[test]
fn session_ids_beyond_64_bits_are_kept_as_strings() {
    let sdp = parse(SONUS);
    assert_eq!(sdp.origin.session_id, "12345678901234567890123");
    assert_eq!(sdp.origin.session_id_u64(), None);
    assert_eq!(
        sdp.origin.session_id_u128(),
        Some(12_345_678_901_234_567_890_123)
    );
    assert_eq!(
        sdp.origin.session_version_u128(),
        Some(12_345_678_901_234_567_890_123)
    );
    let quirky = SessionDescription::parse(QUIRKY).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        quirky.origin.session_id,
        "987654321098765432109876543210987654321098765"
    );
    assert_eq!(quirky.origin.session_id_u128(), None);
    assert_eq!(quirky.origin.session_version_u64(), Some(1));
}

#[test]
fn quirky_carrier_body_is_tolerated_and_noted() {
    let parsed = SessionDescription::parse_with(QUIRKY, &ParseLimits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let sdp = &parsed.sdp;
    assert_eq!(sdp.origin.net_type, "IN");
    assert_eq!(sdp.origin.addr_type, AddressType::Ip6);
    assert_eq!(sdp.connections.len(), 2);
    assert_eq!(
        sdp.connection().and_then(|c| c.ip()),
        "2001:db8::20".parse().ok()
    );
    assert_eq!(sdp.session_name, None);
    assert!(sdp.timing.is_empty());
    let m = &sdp.media[0];
    assert_eq!(m.protocol, Protocol::RtpAvp);
    assert_eq!(m.formats, vec!["8".to_owned(), "101".to_owned()]);
    assert_eq!(m.direction(), Some(Direction::SendOnly));
    for expected in [
        ParseNote::BareLineFeed { line: 1 },
        ParseNote::TrailingWhitespace { line: 2 },
        ParseNote::LowerCaseToken { line: 2 },
        ParseNote::LowerCaseToken { line: 3 },
        ParseNote::MultipleConnections { line: 4 },
        ParseNote::TrailingWhitespace { line: 5 },
        ParseNote::MissingSessionName,
        ParseNote::MissingTiming,
    ] {
        assert!(
            parsed.notes.contains(&expected),
            "missing {expected:?} in {:?}",
            parsed.notes
        );
    }
    let printed = sdp.to_string();
    assert!(printed.contains("c=IN IP6 2001:db8::20\r\n"));
    assert!(printed.contains("m=audio 6000 RTP/AVP 8 101\r\n"));
    assert_eq!(SessionDescription::parse(&printed).as_ref(), Ok(sdp));
}

#[test]
fn ipv6_with_brackets_and_multicast_suffix() {
    let input = crlf(&[
        "v=0",
        "o=- 1 1 IN IP6 [2001:db8::1]",
        "s=-",
        "c=IN IP6 [2001:db8::1]",
        "t=0 0",
        "m=audio 5000 RTP/AVP 8",
        "c=IN IP4 224.2.1.1/127/3",
    ]);
    let sdp = SessionDescription::parse(&input).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        sdp.connection().and_then(|c| c.ip()),
        "2001:db8::1".parse().ok()
    );
    assert_eq!(
        sdp.media[0].connection().and_then(|c| c.ip()),
        "224.2.1.1".parse().ok()
    );
    assert_eq!(sdp.to_string(), input);
}

#[test]
fn blank_lines_and_missing_final_newline_are_tolerated() {
    let input = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0";
    let n = notes(input);
    assert!(n.contains(&ParseNote::BlankLine { line: 3 }));
    let sdp = SessionDescription::parse(input).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sdp.media[0].port, 1);
}

#[test]
fn empty_session_name_prints_as_single_space() {
    let input = crlf(&["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s= ", "t=0 0"]);
    let sdp = SessionDescription::parse(&input).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sdp.session_name.as_deref(), Some(""));
    assert_eq!(sdp.to_string(), input);
}

#[test]
fn typed_attributes_session_and_media_level() {
    let sdp = parse(FREESWITCH);
    let m = &sdp.media[0];
    assert_eq!(
        m.rtpmap(101).map(|r| r.encoding.as_str()),
        Some("telephone-event")
    );
    assert_eq!(
        m.rtpmap(8).map(|r| (r.clock_rate, r.channels())),
        Some((8000, 1))
    );
    assert_eq!(m.fmtp("101").map(|f| f.params.as_str()), Some("0-16"));
    assert_eq!(m.ptime(), Some(30));
    let rtcp = m.rtcp().unwrap_or_else(|| panic!("no rtcp"));
    assert_eq!(rtcp.port, 16400);
    assert_eq!(
        rtcp.connection.as_ref().map(|c| c.address.as_str()),
        Some("203.0.113.6")
    );
    assert_eq!(m.direction(), Some(Direction::SendRecv));
    let asterisk = parse(ASTERISK);
    assert!(
        asterisk.media[0]
            .attributes
            .contains(&Attribute::MaxPtime(150))
    );
    assert_eq!(asterisk.bandwidths[0].bandwidth, 384);
    let all = parse(ALL_LINES);
    assert_eq!(all.direction(), Some(Direction::RecvOnly));
    assert_eq!(all.media_direction(&all.media[0]), Direction::RecvOnly);
    assert_eq!(
        all.media[0]
            .rtcp()
            .map(|r| (r.port, r.connection.is_none())),
        Some((49300, true))
    );
}

#[test]
fn malformed_typed_values_are_kept_verbatim() {
    let input = crlf(&[
        "v=0",
        "o=- 1 1 IN IP4 192.0.2.1",
        "s=-",
        "b=AS:lots",
        "t=now later",
        "m=audio 5000 RTP/AVP 8",
        "a=rtpmap:8 PCMA",
        "a=ptime:twenty",
        "a=rtcp:99999",
        "a=sendrecv:yes",
    ]);
    let parsed = SessionDescription::parse_with(&input, &ParseLimits::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let m = &parsed.sdp.media[0];
    assert!(
        m.attributes
            .iter()
            .all(|a| matches!(a, Attribute::Other { .. }))
    );
    assert_eq!(parsed.sdp.other_lines.len(), 2);
    assert!(
        parsed
            .notes
            .contains(&ParseNote::KeptVerbatim { line: 4, kind: 'b' })
    );
    assert!(
        parsed
            .notes
            .contains(&ParseNote::KeptVerbatim { line: 7, kind: 'a' })
    );
    assert_eq!(parsed.sdp.to_string(), input);
}

#[test]
fn latin1_bytes_are_replaced_not_rejected() {
    let mut body = crlf(&["v=0", "o=- 1 1 IN IP4 192.0.2.1"]).into_bytes();
    body.extend_from_slice(b"s=Sesi\xf3n\r\nt=0 0\r\n");
    let sdp = SessionDescription::parse_bytes(&body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sdp.session_name.as_deref(), Some("Sesi\u{fffd}n"));
}

#[test]
fn origin_username_with_spaces_is_tolerated() {
    let sdp = SessionDescription::parse("v=0\r\no=Some UA 5 6 IN IP4 192.0.2.1\r\n")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sdp.origin.username, "Some UA");
    assert_eq!(sdp.origin.session_id_u64(), Some(5));
}

#[test]
fn display_uses_crlf() {
    let text = parse(CISCO).to_string();
    assert_eq!(text.matches("\r\n").count(), CISCO.len());
    assert_eq!(text.matches('\n').count(), CISCO.len());
    let m = parse(CISCO).media[0].to_string();
    assert!(m.starts_with("m=audio 17092 RTP/AVP 0 8 18 101\r\nc=IN IP4 10.10.1.21\r\n"));
}

/// Found by the `sdp` fuzz target: an `r=` before any `t=` is kept verbatim, and printing it
/// after the `t=` line made the re-parse attach it to that timing as a repeat.
#[test]
fn orphan_repeat_line_round_trips() {
    let input = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nr=7d 1h 0 25h\r\nt=0 0\r\n\
                 m=audio 4000 RTP/AVP 0\r\n";
    let sdp = SessionDescription::parse(input).expect("parses");
    assert!(sdp.timing.iter().all(|t| t.repeats.is_empty()));
    let again = SessionDescription::parse(&sdp.to_string()).expect("re-parses");
    assert_eq!(again, sdp);
}
