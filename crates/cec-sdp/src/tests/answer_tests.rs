//! RFC 3264 answer rules.

use std::net::{IpAddr, Ipv4Addr};

use super::fixtures::{ASTERISK, CISCO, FREESWITCH, MULTI, SONUS, SRTP_ONLY, crlf, parse};
use crate::{
    Answer, AnswerParams, Attribute, Codec, Direction, LocalCapabilities, NegotiatedStream,
    NegotiationError, NotAcceptableReason, Origin, Protocol, RejectReason, SessionDescription,
    StreamOutcome, answer,
};

pub(crate) const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 200));

pub(crate) fn params() -> AnswerParams {
    AnswerParams::new(Origin::new(42, 1, LOCAL), LOCAL, 30000)
}

fn ok(offer: &SessionDescription, caps: &LocalCapabilities) -> Answer {
    answer(offer, caps, &params()).unwrap_or_else(|e| panic!("answer failed: {e}"))
}

fn audio(a: &Answer) -> &NegotiatedStream {
    a.media.audio().unwrap_or_else(|| panic!("no audio"))
}

fn offer_with(lines: &[&str]) -> SessionDescription {
    let mut all = vec![
        "v=0",
        "o=- 7 7 IN IP4 192.0.2.1",
        "s=-",
        "c=IN IP4 192.0.2.1",
        "t=0 0",
    ];
    all.extend_from_slice(lines);
    parse(&all)
}

#[test]
fn cisco_offer_gets_pcma_by_our_preference_with_telephone_event() {
    let a = ok(&parse(CISCO), &LocalCapabilities::default());
    assert_eq!(
        a.sdp.to_string(),
        crlf(&[
            "v=0",
            "o=- 42 1 IN IP4 192.0.2.200",
            "s=-",
            "c=IN IP4 192.0.2.200",
            "t=0 0",
            "m=audio 30000 RTP/AVP 8 101",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-15",
            "a=ptime:20",
            "a=sendrecv",
        ])
    );
    let s = audio(&a);
    assert_eq!((s.codec.name.as_str(), s.codec.payload_type), ("PCMA", 8));
    assert_eq!(s.telephone_event, Some(101));
    assert_eq!(s.remote_address, "10.10.1.21", "media-level c= wins");
    assert_eq!(s.remote_rtp_addr(), "10.10.1.21:17092".parse().ok());
    assert_eq!(s.remote_rtcp_port, Some(17093));
    assert_eq!(
        (s.local_port, s.ptime, s.direction),
        (30000, 20, Direction::SendRecv)
    );
}

#[test]
fn offerer_dynamic_payload_type_is_kept() {
    let a = ok(&parse(SONUS), &LocalCapabilities::default());
    assert_eq!(
        a.sdp.media[0].formats,
        vec!["8".to_owned(), "100".to_owned()]
    );
    assert_eq!(audio(&a).telephone_event, Some(100));
    assert!(a.sdp.media[0].fmtp("100").is_some());
}

#[test]
fn preference_list_is_per_trunk() {
    let s = ok(&parse(FREESWITCH), &LocalCapabilities::pcmu_first());
    assert_eq!(audio(&s).codec.payload_type, 0);
    assert_eq!(s.sdp.media[0].formats[0], "0");
    let g729 = LocalCapabilities::with_codecs(vec![Codec::g729(), Codec::pcma()]);
    let s = ok(&parse(SONUS), &g729);
    assert_eq!(audio(&s).codec.name, "G729");
    assert_eq!(
        s.sdp.media[0].fmtp("18").map(|f| f.params.as_str()),
        Some("annexb=no")
    );
}

#[test]
fn all_common_codecs_listed_when_configured() {
    let caps = LocalCapabilities {
        answer_all_common_codecs: true,
        ..Default::default()
    };
    let a = ok(&parse(CISCO), &caps);
    assert_eq!(a.sdp.media[0].formats, vec!["8", "0", "101"]);
}

#[test]
fn no_telephone_event_when_not_offered_or_disabled() {
    let a = ok(&parse(ASTERISK), &LocalCapabilities::default());
    assert_eq!(a.sdp.media[0].formats, vec!["8".to_owned()]);
    assert_eq!(audio(&a).telephone_event, None);
    let caps = LocalCapabilities {
        telephone_event: None,
        ..Default::default()
    };
    let a = ok(&parse(CISCO), &caps);
    assert_eq!(a.sdp.media[0].formats, vec!["8".to_owned()]);
}

#[test]
fn no_common_codec_is_not_acceptable() {
    let offer = offer_with(&[
        "m=audio 5000 RTP/AVP 18 101",
        "a=rtpmap:101 telephone-event/8000",
    ]);
    let e = answer(&offer, &LocalCapabilities::default(), &params());
    let reason = NotAcceptableReason::NoCommonCodec;
    assert_eq!(e, Err(NegotiationError::NotAcceptable { reason }));
    let pcmu_only = offer_with(&["m=audio 5000 RTP/AVP 0"]);
    let e = answer(&pcmu_only, &LocalCapabilities::pcma_only(), &params());
    assert_eq!(e, Err(NegotiationError::NotAcceptable { reason }));
    let unmapped_dynamic = offer_with(&["m=audio 5000 RTP/AVP 96"]);
    let e = answer(&unmapped_dynamic, &LocalCapabilities::default(), &params());
    assert_eq!(e, Err(NegotiationError::NotAcceptable { reason }));
}

#[test]
fn srtp_only_is_not_acceptable() {
    let e = answer(&parse(SRTP_ONLY), &LocalCapabilities::default(), &params());
    let reason = NotAcceptableReason::UnsupportedProfile;
    assert_eq!(e, Err(NegotiationError::NotAcceptable { reason }));
    assert_eq!(
        e.map(|_| ()).unwrap_err().to_string(),
        "not acceptable: only unsupported transport profiles (e.g. RTP/SAVP)"
    );
    let video = offer_with(&["m=video 5000 RTP/AVP 96"]);
    let e = answer(&video, &LocalCapabilities::default(), &params());
    let reason = NotAcceptableReason::NoAudio;
    assert_eq!(e, Err(NegotiationError::NotAcceptable { reason }));
    let none = offer_with(&[]);
    let e = answer(&none, &LocalCapabilities::default(), &params());
    let reason = NotAcceptableReason::NoMedia;
    assert_eq!(e, Err(NegotiationError::NotAcceptable { reason }));
}

#[test]
fn unservable_streams_get_port_zero_with_offered_formats() {
    let a = ok(&parse(MULTI), &LocalCapabilities::default());
    let m = &a.sdp.media;
    assert_eq!(m.len(), 3);
    assert_eq!(m[0].to_string(), "m=audio 0 RTP/SAVP 8\r\n");
    assert_eq!(m[1].to_string(), "m=video 0 RTP/AVP 96\r\n");
    assert_eq!((m[2].port, &m[2].protocol), (30000, &Protocol::RtpAvp));
    assert_eq!(m[2].formats, vec!["8", "101"]);
    let reasons: Vec<_> = a
        .media
        .streams
        .iter()
        .map(|s| match s {
            StreamOutcome::Rejected { reason, .. } => Some(*reason),
            StreamOutcome::Accepted(n) => {
                assert_eq!(n.index, 2);
                None
            }
        })
        .collect();
    let expected = [
        Some(RejectReason::UnsupportedProfile),
        Some(RejectReason::NotAudio),
        None,
    ];
    assert_eq!(reasons, expected);
}

#[test]
fn extra_audio_streams_beyond_given_ports_are_rejected() {
    let offer = offer_with(&[
        "m=audio 5000 RTP/AVP 8",
        "m=audio 5002 RTP/AVP 0",
        "m=audio 0 RTP/AVP 8",
    ]);
    let a = ok(&offer, &LocalCapabilities::default());
    let ports: Vec<u16> = a.sdp.media.iter().map(|m| m.port).collect();
    assert_eq!(ports, vec![30000, 0, 0]);
    assert!(matches!(
        a.media.streams[1],
        StreamOutcome::Rejected {
            reason: RejectReason::NoLocalPort,
            index: 1
        }
    ));
    assert!(matches!(
        a.media.streams[2],
        StreamOutcome::Rejected {
            reason: RejectReason::DisabledByOfferer,
            ..
        }
    ));
    let two = AnswerParams {
        rtp_ports: vec![30000, 30002],
        ..params()
    };
    let a = answer(&offer, &LocalCapabilities::default(), &two).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.media.accepted().count(), 2);
    let no_ports = AnswerParams {
        rtp_ports: vec![],
        ..params()
    };
    let e = answer(&offer, &LocalCapabilities::default(), &no_ports);
    assert_eq!(e, Err(NegotiationError::NoLocalPort));
}

fn answered_direction(offer_dir: &str, conn: &str, wanted: Direction) -> (Direction, Direction) {
    let c = format!("c=IN IP4 {conn}");
    let offer = offer_with(&["m=audio 5000 RTP/AVP 8", &c, offer_dir]);
    let p = AnswerParams {
        direction: wanted,
        ..params()
    };
    let a = answer(&offer, &LocalCapabilities::default(), &p).unwrap_or_else(|e| panic!("{e}"));
    (
        a.sdp.media[0].direction().unwrap_or_default(),
        audio(&a).direction,
    )
}

#[test]
fn direction_negotiation() {
    use Direction::{Inactive, RecvOnly, SendOnly, SendRecv};
    let ip = "192.0.2.1";
    assert_eq!(
        answered_direction("a=sendonly", ip, SendRecv),
        (RecvOnly, RecvOnly)
    );
    assert_eq!(
        answered_direction("a=recvonly", ip, SendRecv),
        (SendOnly, SendOnly)
    );
    assert_eq!(
        answered_direction("a=inactive", ip, SendRecv),
        (Inactive, Inactive)
    );
    assert_eq!(
        answered_direction("a=sendrecv", ip, SendRecv),
        (SendRecv, SendRecv)
    );
    assert_eq!(
        answered_direction("a=X-none", ip, SendRecv),
        (SendRecv, SendRecv)
    );
    assert_eq!(
        answered_direction("a=sendrecv", ip, SendOnly),
        (SendOnly, SendOnly)
    );
    assert_eq!(
        answered_direction("a=sendonly", ip, SendOnly),
        (Inactive, Inactive)
    );
    // RFC 2543 hold: c=0.0.0.0 means the offerer does not want to receive.
    assert_eq!(
        answered_direction("a=sendrecv", "0.0.0.0", SendRecv),
        (RecvOnly, RecvOnly)
    );
    assert_eq!(
        answered_direction("a=recvonly", "0.0.0.0", SendRecv),
        (Inactive, Inactive)
    );
}

#[test]
fn session_level_direction_applies_to_media() {
    let offer = parse(&[
        "v=0",
        "o=- 7 7 IN IP4 192.0.2.1",
        "s=-",
        "c=IN IP4 192.0.2.1",
        "t=0 0",
        "a=sendonly",
        "m=audio 5000 RTP/AVP 8",
    ]);
    let a = ok(&offer, &LocalCapabilities::default());
    assert_eq!(audio(&a).direction, Direction::RecvOnly);
    assert!(
        a.sdp.media[0]
            .attributes
            .contains(&Attribute::Direction(Direction::RecvOnly))
    );
}

#[test]
fn rtcp_and_ptime_from_offer() {
    let a = ok(&parse(FREESWITCH), &LocalCapabilities::default());
    let s = audio(&a);
    assert_eq!(s.remote_rtcp_port, Some(16400));
    assert_eq!(s.remote_rtcp_address.as_deref(), Some("203.0.113.6"));
    assert_eq!(s.ptime, 30);
    assert_eq!(s.telephone_event, Some(101));
    let edge = offer_with(&["m=audio 65535 RTP/AVP 8"]);
    assert_eq!(
        audio(&ok(&edge, &LocalCapabilities::default())).remote_rtcp_port,
        None
    );
}

#[test]
fn missing_connection_is_an_error() {
    let offer = parse(&[
        "v=0",
        "o=- 7 7 IN IP4 192.0.2.1",
        "s=-",
        "t=0 0",
        "m=audio 5000 RTP/AVP 8",
    ]);
    let e = answer(&offer, &LocalCapabilities::default(), &params());
    assert_eq!(e, Err(NegotiationError::MissingConnection { index: 0 }));
}

#[test]
fn answer_copies_offer_timing_and_ipv6_local_address() {
    let offer = offer_with(&["m=audio 5000 RTP/AVP 8"]);
    let v6: IpAddr = "2001:db8::5".parse().unwrap_or(LOCAL);
    let p = AnswerParams::new(Origin::new(1, 2, v6), v6, 4000);
    let a = answer(&offer, &LocalCapabilities::default(), &p).unwrap_or_else(|e| panic!("{e}"));
    let text = a.sdp.to_string();
    assert!(text.contains("o=- 1 2 IN IP6 2001:db8::5\r\n"));
    assert!(text.contains("c=IN IP6 2001:db8::5\r\nt=0 0\r\n"));
}
