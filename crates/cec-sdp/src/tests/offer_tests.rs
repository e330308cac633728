//! Our offers, the answers to them, and per-dialog versioning.

use super::answer_tests::{LOCAL, params};
use super::fixtures::{CISCO, crlf, parse, peer_sdp};
use crate::{
    Codec, Direction, LocalCapabilities, LocalSdpSession, NegotiationError, NotAcceptableReason,
    OfferParams, Origin, RejectReason, SessionDescription, StreamOutcome, TelephoneEvent, answer,
    build_offer, process_answer,
};

fn offer() -> SessionDescription {
    build_offer(
        &LocalCapabilities::default(),
        &OfferParams::new(Origin::new(9, 1, LOCAL), LOCAL, 40000),
    )
}

#[test]
fn default_offer_is_pcma_pcmu_telephone_event() {
    assert_eq!(
        offer().to_string(),
        crlf(&[
            "v=0",
            "o=- 9 1 IN IP4 192.0.2.200",
            "s=-",
            "c=IN IP4 192.0.2.200",
            "t=0 0",
            "m=audio 40000 RTP/AVP 8 0 101",
            "a=rtpmap:8 PCMA/8000",
            "a=rtpmap:0 PCMU/8000",
            "a=rtpmap:101 telephone-event/8000",
            "a=fmtp:101 0-15",
            "a=ptime:20",
            "a=sendrecv",
        ])
    );
}

#[test]
fn offer_avoids_payload_type_collisions() {
    let caps = LocalCapabilities {
        telephone_event: Some(TelephoneEvent {
            payload_type: 96,
            ..Default::default()
        }),
        ..LocalCapabilities::with_codecs(vec![
            Codec::new("opus", 48000, 96),
            Codec::pcma(),
            Codec::pcma(),
        ])
    };
    let params = OfferParams {
        direction: Direction::SendOnly,
        ..OfferParams::new(Origin::new(1, 1, LOCAL), LOCAL, 4000)
    };
    let sdp = build_offer(&caps, &params);
    assert_eq!(sdp.media[0].formats, vec!["96", "8", "97"]);
    assert_eq!(sdp.media[0].direction(), Some(Direction::SendOnly));
}

#[test]
fn our_offer_answered_by_ourselves_round_trips() {
    let ours = offer();
    let theirs = answer(&ours, &LocalCapabilities::pcmu_first(), &params())
        .unwrap_or_else(|e| panic!("{e}"));
    let media = process_answer(&ours, &theirs.sdp).unwrap_or_else(|e| panic!("{e}"));
    let s = media.audio().unwrap_or_else(|| panic!("no audio"));
    assert_eq!(
        (
            s.codec.name.as_str(),
            s.codec.payload_type,
            s.telephone_event
        ),
        ("PCMU", 0, Some(101))
    );
    assert_eq!((s.local_port, s.remote_rtp_port), (40000, 30000));
    assert_eq!(s.remote_ip, Some(LOCAL));
}

#[test]
fn answer_may_renumber_dynamic_types_and_set_ptime() {
    let a = peer_sdp(&[
        "m=audio 7000 RTP/AVP 8 96",
        "a=rtpmap:96 telephone-event/8000",
        "a=ptime:30",
        "a=recvonly",
    ]);
    let media = process_answer(&offer(), &a).unwrap_or_else(|e| panic!("{e}"));
    let s = media.audio().unwrap_or_else(|| panic!("no audio"));
    assert_eq!(
        (s.codec.payload_type, s.telephone_event, s.ptime),
        (8, Some(96), 30)
    );
    assert_eq!(s.direction, Direction::SendOnly);
    assert_eq!(s.remote_rtcp_port, Some(7001));
}

#[test]
fn answer_must_not_add_or_remove_media_lines() {
    let a = peer_sdp(&["m=audio 7000 RTP/AVP 8", "m=video 7002 RTP/AVP 96"]);
    let e = process_answer(&offer(), &a);
    assert_eq!(
        e,
        Err(NegotiationError::MediaCountMismatch {
            offered: 1,
            answered: 2
        })
    );
    let e = process_answer(&offer(), &peer_sdp(&[]));
    assert_eq!(
        e,
        Err(NegotiationError::MediaCountMismatch {
            offered: 1,
            answered: 0
        })
    );
    let e = process_answer(&offer(), &peer_sdp(&["m=video 7000 RTP/AVP 8"]));
    assert!(matches!(
        e,
        Err(NegotiationError::MediaTypeMismatch { index: 0, .. })
    ));
}

#[test]
fn answer_must_pick_a_codec_we_offered() {
    let e = process_answer(&offer(), &peer_sdp(&["m=audio 7000 RTP/AVP 18"]));
    assert_eq!(e, Err(NegotiationError::CodecNotOffered { index: 0 }));
    let only_dtmf = peer_sdp(&[
        "m=audio 7000 RTP/AVP 101",
        "a=rtpmap:101 telephone-event/8000",
    ]);
    let e = process_answer(&offer(), &only_dtmf);
    assert_eq!(e, Err(NegotiationError::CodecNotOffered { index: 0 }));
}

#[test]
fn port_zero_in_answer_rejects_the_stream() {
    let e = process_answer(&offer(), &peer_sdp(&["m=audio 0 RTP/AVP 8"]));
    let reason = NotAcceptableReason::AllStreamsRejected;
    assert_eq!(e, Err(NegotiationError::NotAcceptable { reason }));
    let two = parse(&[
        "v=0",
        "o=- 9 1 IN IP4 192.0.2.200",
        "s=-",
        "c=IN IP4 192.0.2.200",
        "t=0 0",
        "m=audio 40000 RTP/AVP 8",
        "m=audio 40002 RTP/AVP 0",
    ]);
    let media = process_answer(
        &two,
        &peer_sdp(&["m=audio 0 RTP/AVP 8", "m=audio 7000 RTP/AVP 0"]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        media.streams[0],
        StreamOutcome::Rejected {
            index: 0,
            reason: RejectReason::RejectedByPeer
        }
    );
    assert_eq!(media.audio().map(|s| s.index), Some(1));
}

#[test]
fn session_keeps_version_for_identical_sdp_and_bumps_on_change() {
    let caps = LocalCapabilities::default();
    let mut session = LocalSdpSession::new(1_700_000_000, 1, LOCAL);
    let first = session.offer(&caps, 40000, Direction::SendRecv);
    assert_eq!(first.origin.session_version, "1");
    let again = session.offer(&caps, 40000, Direction::SendRecv);
    assert_eq!(again, first, "identical SDP keeps the version");
    let changed = session.offer(&caps, 40002, Direction::SendRecv);
    assert_eq!(changed.origin.session_version, "2");
    assert_eq!(changed.origin.session_id, "1700000000");
    assert_eq!(session.version(), 2);
}

#[test]
fn hold_and_resume_produce_new_versions() {
    let caps = LocalCapabilities::default();
    let mut session = LocalSdpSession::new(77, 10, LOCAL).with_username("opencec");
    let a = session
        .answer(&parse(CISCO), &caps, vec![30000], Direction::SendRecv)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.sdp.origin.session_version, "10");
    assert_eq!(a.sdp.origin.username, "opencec");
    let hold = session.hold().unwrap_or_else(|| panic!("nothing sent"));
    assert_eq!(hold.origin.session_version, "11");
    assert_eq!(hold.media[0].direction(), Some(Direction::SendOnly));
    assert_eq!(session.pending_offer(), Some(&hold));
    let peer = peer_sdp(&["m=audio 7000 RTP/AVP 8", "a=recvonly"]);
    let media = session
        .process_answer(&peer)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        media.audio().map(|s| s.direction),
        Some(Direction::SendOnly)
    );
    assert_eq!(session.pending_offer(), None);
    let resume = session.resume().unwrap_or_else(|| panic!("nothing sent"));
    assert_eq!(resume.origin.session_version, "12");
    assert_eq!(resume.media[0].direction(), Some(Direction::SendRecv));
    assert_eq!(resume.media[0].formats, a.sdp.media[0].formats);
}

#[test]
fn answering_a_reoffer_updates_negotiated_state() {
    let caps = LocalCapabilities::default();
    let mut session = LocalSdpSession::new(5, 1, LOCAL);
    let initial = parse(CISCO);
    session
        .answer(&initial, &caps, vec![30000], Direction::SendRecv)
        .unwrap_or_else(|e| panic!("{e}"));
    // Refresh re-INVITE with the same offer: same answer, same version.
    let same = session
        .answer(&initial, &caps, vec![30000], Direction::SendRecv)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(same.sdp.origin.session_version, "1");
    // Peer puts us on hold.
    let mut held = initial.clone();
    held.media[0].set_direction(Direction::SendOnly);
    let a = session
        .answer(&held, &caps, vec![30000], Direction::SendRecv)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(a.sdp.origin.session_version, "2");
    let state = session
        .negotiated()
        .and_then(|n| n.audio())
        .map(|s| s.direction);
    assert_eq!(state, Some(Direction::RecvOnly));
    // We hold too while held: RFC 6337 says inactive.
    let hold = session.hold().unwrap_or_else(|| panic!("nothing sent"));
    assert_eq!(hold.media[0].direction(), Some(Direction::Inactive));
    // A failed negotiation changes nothing.
    let before = session.clone();
    let bad = parse(&[
        "v=0",
        "o=- 1 1 IN IP4 192.0.2.1",
        "s=-",
        "c=IN IP4 192.0.2.1",
        "t=0 0",
        "m=audio 1 RTP/AVP 18",
    ]);
    assert!(
        session
            .answer(&bad, &caps, vec![30000], Direction::SendRecv)
            .is_err()
    );
    assert_eq!(session, before);
}

#[test]
fn process_answer_without_offer() {
    let mut session = LocalSdpSession::new(5, 1, LOCAL);
    assert_eq!(session.hold(), None);
    let e = session.process_answer(&peer_sdp(&["m=audio 7000 RTP/AVP 8"]));
    assert_eq!(e, Err(NegotiationError::NoOfferOutstanding));
}
