//! Codec change on answer / re-INVITE on a live bridged call (`MediaLeg::renegotiate`):
//! PCMA -> PCMU mid-call makes the bridge transcode in both directions while the far
//! side's sequence numbers and timestamps continue, switching back stops transcoding
//! (bytes identical), packets in the previous format are taken until the peer switches
//! (RFC 3264 §8.3.2) and dropped after, and a telephone-event payload type change on
//! either side relays each digit once with the new type.

mod common;

use std::net::SocketAddr;
use std::time::Instant;

use cec_media::bridge::{Bridge, End, Forwarded};
use cec_media::leg::{DropReason, LegEvent, MediaLeg, Renegotiation};
use cec_rtp::dtmf::TelephoneEvent;
use cec_rtp::g711::G711;
use cec_sdp::Codec;
use common::{at, drain_rtp, leg, negotiated, origin, parse, rtp, sine_frame};

fn caller() -> SocketAddr {
    "198.51.100.7:5004".parse().unwrap()
}
fn agent() -> SocketAddr {
    "192.0.2.20:7078".parse().unwrap()
}

const CALLER_SSRC: u32 = 0xCA11_E200;
const PHONE_SSRC: u32 = 0x0A6E_0001;

/// The caller's voice for frame `n`: a loud 440 Hz sine, A-law encoded.
fn caller_payload(n: u64) -> Vec<u8> {
    sine_frame(440.0, 20_000.0, n)
        .iter()
        .map(|s| G711::Alaw.encode(*s))
        .collect()
}

/// The terms of an answer from the agent's phone: `codec` and `telephone_event`.
fn terms(codec: Codec, telephone_event: Option<u8>) -> Renegotiation {
    Renegotiation::from_negotiated(&negotiated(agent(), codec, telephone_event)).unwrap()
}

fn new_bridge(t0: Instant) -> Bridge {
    Bridge::new(
        leg(t0, caller(), Codec::pcma(), Some(101), 1),
        leg(t0, agent(), Codec::pcma(), Some(96), 2),
    )
}

/// Runs 100 caller frames through the bridge, applying `switches` (frame, terms) to leg
/// B; returns what B sent to the agent, one datagram per frame.
fn run_caller(switches: &[(u64, Renegotiation)]) -> Vec<Vec<u8>> {
    let t0 = origin();
    let mut bridge = new_bridge(t0);
    let mut out = Vec::new();
    for n in 0..100u64 {
        let now = at(t0, n * 20);
        for (_, update) in switches.iter().filter(|(frame, _)| *frame == n) {
            bridge.leg_mut(End::B).renegotiate(now, *update);
        }
        let seq = 1000u16.wrapping_add(n as u16);
        let ts = 5000 + n as u32 * 160;
        let datagram = rtp(8, seq, ts, CALLER_SSRC, n == 0, &caller_payload(n));
        assert_eq!(
            bridge.handle_packet(now, End::A, caller(), &datagram),
            Forwarded::Audio
        );
        let sent = drain_rtp(bridge.leg_mut(End::B), now);
        assert_eq!(sent.len(), 1, "frame {n}");
        assert_eq!(sent[0].0, agent());
        out.push(sent[0].1.clone());
    }
    out
}

/// One SSRC, sequence numbers +1 and timestamps +160 per frame.
fn assert_continuous(sent: &[Vec<u8>]) {
    for pair in sent.windows(2) {
        let (a, b) = (parse(&pair[0]), parse(&pair[1]));
        assert_eq!(b.ssrc(), a.ssrc());
        assert_eq!(b.sequence(), a.sequence().wrapping_add(1));
        assert_eq!(b.timestamp(), a.timestamp().wrapping_add(160));
        assert!(!b.marker(), "a codec change is not a new talkspurt");
    }
}

/// The µ-law samples are what the caller's A-law said, within the G.711 round trip.
fn assert_same_voice(ulaw: &[u8], alaw: &[u8]) {
    assert_eq!(ulaw.len(), alaw.len());
    for (u, a) in ulaw.iter().zip(alaw) {
        let heard = i32::from(G711::Ulaw.decode(*u));
        let said = i32::from(G711::Alaw.decode(*a));
        // Half a quantisation step of each law: about 1/32 of the level, plus the floor.
        assert!(
            (heard - said).abs() <= said.abs() / 16 + 16,
            "said {said}, heard {heard}"
        );
    }
}

#[test]
fn pcma_to_pcmu_mid_call_transcodes_with_a_continuous_stream() {
    let sent = run_caller(&[(40, terms(Codec::pcmu(), Some(96)))]);
    assert_continuous(&sent);
    for (n, bytes) in sent.iter().enumerate() {
        let p = parse(bytes);
        let said = caller_payload(n as u64);
        if n < 40 {
            assert_eq!((p.payload_type(), p.payload()), (8, &said[..]), "frame {n}");
        } else {
            assert_eq!(p.payload_type(), 0, "frame {n}");
            assert_ne!(p.payload(), &said[..], "frame {n} was not transcoded");
            assert_same_voice(p.payload(), &said);
        }
    }
}

#[test]
fn switching_back_stops_transcoding() {
    let sent = run_caller(&[
        (30, terms(Codec::pcmu(), Some(96))),
        (60, terms(Codec::pcma(), Some(96))),
    ]);
    assert_continuous(&sent);
    for (n, bytes) in sent.iter().enumerate() {
        let p = parse(bytes);
        let said = caller_payload(n as u64);
        if (30..60).contains(&n) {
            assert_eq!(p.payload_type(), 0);
            assert_same_voice(p.payload(), &said);
        } else {
            assert_eq!((p.payload_type(), p.payload()), (8, &said[..]), "frame {n}");
        }
    }
}

#[test]
fn the_agent_side_is_transcoded_too_and_old_format_packets_end_when_the_phone_switches() {
    let t0 = origin();
    let mut bridge = new_bridge(t0);
    let ulaw: Vec<u8> = sine_frame(1000.0, 9000.0, 0)
        .iter()
        .map(|s| G711::Ulaw.encode(*s))
        .collect();
    let alaw = caller_payload(0);
    let phone = |pt, seq: u16, payload: &[u8]| {
        rtp(pt, seq, u32::from(seq) * 160, PHONE_SSRC, false, payload)
    };
    let to_caller = |bridge: &mut Bridge, ms, datagram: &[u8]| {
        let forwarded = bridge.handle_packet(at(t0, ms), End::B, agent(), datagram);
        (forwarded, drain_rtp(bridge.leg_mut(End::A), at(t0, ms)))
    };
    let (f, out) = to_caller(&mut bridge, 0, &phone(8, 1, &alaw));
    assert_eq!(
        (f, parse(&out[0].1).payload()),
        (Forwarded::Audio, &alaw[..])
    );
    bridge
        .leg_mut(End::B)
        .renegotiate(at(t0, 20), terms(Codec::pcmu(), Some(96)));
    assert!(bridge.leg(End::B).accepts_previous_format());
    // Still in flight from before the answer: taken as A-law, relayed untouched.
    let (f, out) = to_caller(&mut bridge, 20, &phone(8, 2, &alaw));
    assert_eq!(
        (f, parse(&out[0].1).payload()),
        (Forwarded::Audio, &alaw[..])
    );
    // The phone switches: its µ-law reaches the caller as A-law.
    let (f, out) = to_caller(&mut bridge, 40, &phone(0, 3, &ulaw));
    assert_eq!(f, Forwarded::Audio);
    let relayed = parse(&out[0].1);
    assert_eq!(relayed.payload_type(), 8);
    let expected: Vec<u8> = ulaw.iter().map(|c| G711::Ulaw.to_other(*c)).collect();
    assert_eq!(relayed.payload(), &expected[..]);
    assert!(!bridge.leg(End::B).accepts_previous_format());
    // From now on the old type is not negotiated any more.
    let (f, out) = to_caller(&mut bridge, 60, &phone(8, 4, &alaw));
    assert_eq!(f, Forwarded::Dropped(DropReason::UnexpectedPayloadType(8)));
    assert!(out.is_empty());
}

/// RFC 4733 packets for `digit` starting at caller sequence number `seq0`: start, two
/// updates, three end packets, all with the event's timestamp.
fn event_packets(digit: char, seq0: u16, pt: u8) -> Vec<Vec<u8>> {
    let event = cec_rtp::dtmf::char_to_event(digit).unwrap();
    let ts = 80_000 + u32::from(seq0) * 160;
    (0..6u16)
        .map(|i| {
            let payload = TelephoneEvent {
                event,
                end: i >= 3,
                volume: 10,
                duration: (i.min(3) + 1) * 160,
            };
            rtp(pt, seq0 + i, ts, CALLER_SSRC, i == 0, &payload.to_bytes())
        })
        .collect()
}

#[test]
fn telephone_event_type_change_relays_each_digit_once_with_the_new_type() {
    let t0 = origin();
    let mut bridge = new_bridge(t0);
    let mut phone = leg(t0, agent(), Codec::pcma(), Some(96), 3);
    let mut ms = 0;
    let mut new_digits = Vec::new();
    let mut relayed_types = Vec::new();
    let mut send = |bridge: &mut Bridge, phone: &mut MediaLeg, datagram: &[u8]| {
        ms += 20;
        let now = at(t0, ms);
        let forwarded = bridge.handle_packet(now, End::A, caller(), datagram);
        if let Forwarded::Event { new_digit: Some(d) } = forwarded {
            new_digits.push(d);
        }
        for (_, out) in drain_rtp(bridge.leg_mut(End::B), now) {
            relayed_types.push(parse(&out).payload_type());
            phone.handle_packet(now, caller(), &out);
        }
        forwarded
    };
    for p in event_packets('1', 0, 101) {
        send(&mut bridge, &mut phone, &p);
    }
    // The agent's answer moves telephone-event to 100 (the phone agreed to it).
    let now = at(t0, 200);
    bridge
        .leg_mut(End::B)
        .renegotiate(now, terms(Codec::pcma(), Some(100)));
    phone.renegotiate(now, terms(Codec::pcma(), Some(100)));
    for p in event_packets('2', 10, 101) {
        send(&mut bridge, &mut phone, &p);
    }
    // The caller's side moves to 102; a late end packet of '2' in 101 is still taken
    // (the caller has not switched yet) but is no new digit.
    let late = event_packets('2', 10, 101).pop().unwrap();
    let mut caller_terms = bridge.leg(End::A).negotiated();
    caller_terms.telephone_event = Some(102);
    bridge
        .leg_mut(End::A)
        .renegotiate(at(t0, 400), caller_terms);
    assert!(matches!(
        send(&mut bridge, &mut phone, &late),
        Forwarded::Event { new_digit: None }
    ));
    for p in event_packets('3', 20, 102) {
        send(&mut bridge, &mut phone, &p);
    }
    // The caller switched: 101 is no longer taken.
    let stale = event_packets('4', 30, 101).remove(0);
    assert_eq!(
        send(&mut bridge, &mut phone, &stale),
        Forwarded::Dropped(DropReason::UnexpectedPayloadType(101))
    );
    assert_eq!(new_digits, ['1', '2', '3'], "bridge: each digit once");
    let phone_digits: Vec<char> = std::iter::from_fn(|| phone.poll_event())
        .filter_map(|e| match e {
            LegEvent::Dtmf { digit } => Some(digit),
            _ => None,
        })
        .collect();
    assert_eq!(phone_digits, ['1', '2', '3'], "far side: each digit once");
    assert_eq!(&relayed_types[..6], &[96; 6]);
    assert!(
        relayed_types[6..].iter().all(|pt| *pt == 100),
        "{relayed_types:?}"
    );
}
