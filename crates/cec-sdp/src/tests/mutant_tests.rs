//! Rules that mutation testing (cargo-mutants over negotiate.rs, offer.rs, session.rs)
//! showed no other test pinned down: each test here fails on one surviving mutant.

use super::answer_tests::{LOCAL, params};
use super::fixtures::peer_sdp;
use crate::{
    Attribute, Codec, Direction, LocalCapabilities, LocalSdpSession, OfferParams, Origin, answer,
    build_offer, process_answer,
};

#[test]
fn comfort_noise_in_our_preferences_is_never_the_voice_codec() {
    let caps = LocalCapabilities::with_codecs(vec![Codec::new("CN", 8000, 13), Codec::pcma()]);
    let offer = peer_sdp(&["m=audio 5004 RTP/AVP 13 8", "a=rtpmap:13 CN/8000"]);
    let ans = answer(&offer, &caps, &params()).expect("PCMA is common");
    let audio = ans.media.audio().expect("accepted");
    assert_eq!(audio.codec.name, "PCMA");
}

#[test]
fn the_offerers_fmtp_is_echoed_when_we_have_none() {
    let caps = LocalCapabilities::with_codecs(vec![Codec::new("G729", 8000, 18)]);
    let offer = peer_sdp(&["m=audio 5004 RTP/AVP 18", "a=fmtp:18 annexb=no"]);
    let ans = answer(&offer, &caps, &params()).expect("G729 is common");
    let audio = ans.media.audio().expect("accepted");
    assert_eq!(audio.codec.fmtp.as_deref(), Some("annexb=no"));
    assert!(ans.sdp.to_string().contains("a=fmtp:18 annexb=no\r\n"));
}

#[test]
fn our_offer_skips_duplicate_and_out_of_range_payload_types_but_keeps_127() {
    let caps = LocalCapabilities::with_codecs(vec![
        Codec::pcma(),
        Codec::new("L16", 8000, 8), // same PT as PCMA: dropped
        Codec::new("X-LAST", 8000, 127),
        Codec::new("X-BAD", 8000, 200),
    ]);
    let sdp = build_offer(
        &caps,
        &OfferParams::new(Origin::new(1, 1, LOCAL), LOCAL, 40000),
    );
    let m = sdp.media.first().expect("one m-line");
    assert!(
        m.formats.starts_with(&["8".to_owned(), "127".to_owned()]),
        "{:?}",
        m.formats
    );
    assert!(!m.formats.iter().any(|f| f == "200"));
    assert_eq!(m.formats.iter().filter(|f| *f == "8").count(), 1);
}

#[test]
fn an_answer_without_fmtp_keeps_the_fmtp_we_offered() {
    let caps = LocalCapabilities::with_codecs(vec![Codec::g729()]);
    let ours = build_offer(
        &caps,
        &OfferParams::new(Origin::new(1, 1, LOCAL), LOCAL, 40000),
    );
    let their_answer = peer_sdp(&["m=audio 6000 RTP/AVP 18"]);
    let media = process_answer(&ours, &their_answer).expect("valid answer");
    let audio = media.audio().expect("accepted");
    assert_eq!(audio.codec.fmtp.as_deref(), Some("annexb=no"));
}

#[test]
fn session_accessors_report_what_was_set_and_sent() {
    let mut leg = LocalSdpSession::new(4242, 7, LOCAL);
    assert_eq!(leg.session_id(), 4242);
    assert!(leg.last_sent().is_none());
    let offer = peer_sdp(&["m=audio 5004 RTP/AVP 8"]);
    let ans = leg
        .answer(
            &offer,
            &LocalCapabilities::default(),
            vec![40000],
            Direction::SendRecv,
        )
        .expect("answerable");
    assert_eq!(leg.last_sent(), Some(&ans.sdp));
    assert_eq!(ans.sdp.origin.session_id, "4242");
}

#[test]
fn an_offer_carries_the_requested_direction() {
    let mut leg = LocalSdpSession::new(1, 1, LOCAL);
    let sdp = leg.offer(&LocalCapabilities::default(), 40000, Direction::SendOnly);
    let m = sdp.media.first().expect("one m-line");
    assert_eq!(sdp.media_direction(m), Direction::SendOnly);
}

#[test]
fn a_reoffer_replaces_only_the_session_level_direction() {
    let mut leg = LocalSdpSession::new(1, 1, LOCAL);
    let mut sdp = peer_sdp(&["m=audio 40000 RTP/AVP 8"]);
    sdp.attributes.push(Attribute::Other {
        name: "tool".to_owned(),
        value: Some("opencec".to_owned()),
    });
    sdp.attributes
        .push(Attribute::Direction(Direction::SendRecv));
    leg.stamp(sdp);
    let held = leg
        .reoffer(Direction::SendOnly)
        .expect("something was sent");
    assert!(
        held.attributes
            .iter()
            .any(|a| matches!(a, Attribute::Other { name, .. } if name == "tool")),
        "non-direction session attributes survive: {:?}",
        held.attributes
    );
    assert!(
        !held
            .attributes
            .iter()
            .any(|a| matches!(a, Attribute::Direction(_)))
    );
    let m = held.media.first().expect("one m-line");
    assert_eq!(held.media_direction(m), Direction::SendOnly);
}
