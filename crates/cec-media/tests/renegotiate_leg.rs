//! `MediaLeg::renegotiate` on one leg: a new remote address re-latches while the same one
//! keeps the latch, statistics and DTMF state reset only when the remote SSRC changes
//! (not on a renegotiation), the RTP timeout counts from the renegotiation, the terms come
//! from the negotiated SDP stream; and, by property, that any sequence of renegotiations
//! (codec, payload types, direction) keeps the outgoing stream continuous.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cec_media::leg::{DropReason, LegError, LegEvent, MediaLeg, Received, Renegotiation};
use cec_rtp::dtmf::TelephoneEvent;
use cec_rtp::g711::G711;
use cec_sdp::{Codec, Direction};
use common::{at, drain_rtp, leg, negotiated, origin, parse, rtp};
use proptest::prelude::*;

fn agent() -> SocketAddr {
    "192.0.2.20:7078".parse().unwrap()
}

#[test]
fn a_new_address_relatches_and_the_same_address_keeps_the_latch() {
    let t0 = origin();
    let sdp: SocketAddr = "10.0.0.5:4000".parse().unwrap();
    let nat: SocketAddr = "203.0.113.9:61000".parse().unwrap();
    let mut leg = leg(t0, sdp, Codec::pcma(), None, 1);
    let packet = |seq: u16, pt| rtp(pt, seq, u32::from(seq) * 160, 5, false, &[0xD5; 160]);
    assert!(matches!(
        leg.handle_packet(t0, nat, &packet(1, 8)),
        Received::Audio { .. }
    ));
    assert_eq!(leg.remote_rtp(), Some(nat));
    // Same SDP address, new codec: still sending to where the peer really is.
    let mut update = leg.negotiated();
    update.codec = G711::Ulaw;
    update.payload_type = 0;
    leg.renegotiate(at(t0, 20), update);
    assert_eq!(leg.remote_rtp(), Some(nat));
    assert!(leg.send_frame(at(t0, 20), &[0; 160]));
    let sent = drain_rtp(&mut leg, at(t0, 20));
    assert_eq!((sent[0].0, parse(&sent[0].1).payload_type()), (nat, 0));
    // A new address (the call moved): latch again, to the new source.
    let moved: SocketAddr = "10.0.0.9:5000".parse().unwrap();
    let moved_nat: SocketAddr = "203.0.113.10:62000".parse().unwrap();
    update.remote_rtp = Some(moved);
    leg.renegotiate(at(t0, 40), update);
    assert_eq!(leg.remote_rtp(), Some(moved));
    while leg.poll_event().is_some() {}
    assert!(matches!(
        leg.handle_packet(at(t0, 60), moved_nat, &packet(2, 0)),
        Received::Audio {
            codec: G711::Ulaw,
            ..
        }
    ));
    assert_eq!(
        leg.poll_event(),
        Some(LegEvent::Latched { remote: moved_nat })
    );
    assert_eq!(
        leg.handle_packet(at(t0, 80), nat, &packet(3, 0)),
        Received::Dropped(DropReason::WrongSource)
    );
}

#[test]
fn statistics_and_dtmf_reset_only_when_the_remote_ssrc_changes() {
    let t0 = origin();
    let remote: SocketAddr = "10.0.0.5:4000".parse().unwrap();
    let mut leg = leg(t0, remote, Codec::pcma(), Some(101), 1);
    assert!(leg.stats().is_none(), "nothing received yet");
    let voice = |pt, seq: u16, ssrc| rtp(pt, seq, u32::from(seq) * 160, ssrc, false, &[0xD5; 160]);
    for seq in 0..10u16 {
        leg.handle_packet(at(t0, u64::from(seq) * 20), remote, &voice(8, seq, 5));
    }
    let event = |digit, seq, ts, ssrc| {
        let payload = TelephoneEvent {
            event: digit,
            end: true,
            volume: 10,
            duration: 800,
        };
        rtp(101, seq, ts, ssrc, true, &payload.to_bytes())
    };
    let first = event(1, 10, 1_000_000, 5);
    let received = leg.handle_packet(at(t0, 200), remote, &first);
    assert!(matches!(
        received,
        Received::Dtmf {
            new_digit: Some('1'),
            ..
        }
    ));
    let mut update = leg.negotiated();
    update.codec = G711::Ulaw;
    update.payload_type = 0;
    leg.renegotiate(at(t0, 220), update);
    for seq in 11..20u16 {
        leg.handle_packet(at(t0, u64::from(seq) * 20), remote, &voice(0, seq, 5));
    }
    let stats = leg.stats().unwrap();
    assert_eq!(
        (
            stats.received(),
            stats.expected(),
            stats.extended_highest_seq()
        ),
        (20, 20, 19),
        "a renegotiation is the same stream"
    );
    // The peer restarts with a new SSRC, sequence numbers and an earlier DTMF clock.
    leg.handle_packet(at(t0, 400), remote, &voice(0, 40_000, 6));
    let stats = leg.stats().unwrap();
    assert_eq!(
        (stats.received(), stats.extended_highest_seq()),
        (1, 40_000)
    );
    let second = event(2, 40_001, 990_000, 6);
    let received = leg.handle_packet(at(t0, 420), remote, &second);
    assert!(
        matches!(
            received,
            Received::Dtmf {
                new_digit: Some('2'),
                ..
            }
        ),
        "{received:?}"
    );
    let events: Vec<LegEvent> = std::iter::from_fn(|| leg.poll_event()).collect();
    assert_eq!(
        events,
        [
            LegEvent::Dtmf { digit: '1' },
            LegEvent::RemoteSsrcChanged { ssrc: 6 },
            LegEvent::Dtmf { digit: '2' },
        ]
    );
}

#[test]
fn the_rtp_timeout_counts_from_the_renegotiation() {
    let t0 = origin();
    let remote: SocketAddr = "10.0.0.5:4000".parse().unwrap();
    let mut leg = leg(t0, remote, Codec::pcma(), None, 1);
    let mut update = leg.negotiated();
    update.direction = Direction::Inactive;
    leg.renegotiate(t0, update);
    leg.handle_timeout(at(t0, 60_000));
    // Resumed after a minute on hold: the peer gets the full 30 s again.
    update.direction = Direction::SendRecv;
    leg.renegotiate(at(t0, 60_000), update);
    leg.handle_timeout(at(t0, 60_001));
    leg.handle_timeout(at(t0, 89_999));
    assert!(
        std::iter::from_fn(|| leg.poll_event()).all(|e| !matches!(e, LegEvent::RtpTimeout { .. }))
    );
    leg.handle_timeout(at(t0, 90_000));
    let timeouts: Vec<LegEvent> = std::iter::from_fn(|| leg.poll_event())
        .filter(|e| matches!(e, LegEvent::RtpTimeout { .. }))
        .collect();
    assert_eq!(
        timeouts,
        [LegEvent::RtpTimeout {
            silent_for: Duration::from_secs(30)
        }]
    );
}

#[test]
fn terms_come_from_the_negotiated_stream() {
    let mut stream = negotiated(agent(), Codec::pcmu(), Some(100));
    let update = Renegotiation::from_negotiated(&stream).unwrap();
    assert_eq!(
        (update.codec, update.payload_type, update.telephone_event),
        (G711::Ulaw, 0, Some(100))
    );
    assert_eq!(update.remote_rtcp, Some("192.0.2.20:7079".parse().unwrap()));
    // RFC 2543 hold: no destination, wait to latch.
    stream.remote_ip = Some("0.0.0.0".parse().unwrap());
    assert_eq!(
        Renegotiation::from_negotiated(&stream).unwrap().remote_rtp,
        None
    );
    stream.ptime = 30;
    assert_eq!(
        Renegotiation::from_negotiated(&stream),
        Err(LegError::UnsupportedPtime(30))
    );
    stream.codec = Codec::new("G722", 8000, 9);
    assert!(matches!(
        Renegotiation::from_negotiated(&stream),
        Err(LegError::UnsupportedCodec { .. })
    ));
}

/// One step of a call: renegotiate to (µ-law?, voice type, telephone-event type,
/// direction index), or send `frames` frames, locally made or relayed.
#[derive(Debug, Clone)]
enum Step {
    Renegotiate(bool, u8, Option<u8>, usize),
    Send { frames: u16, relayed: bool },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (
            any::<bool>(),
            96u8..128,
            proptest::option::of(96u8..128),
            0usize..4
        )
            .prop_map(|(ulaw, pt, te, dir)| Step::Renegotiate(ulaw, pt, te, dir)),
        (1u16..20, any::<bool>()).prop_map(|(frames, relayed)| Step::Send { frames, relayed }),
    ]
}

const DIRECTIONS: [Direction; 4] = [
    Direction::SendRecv,
    Direction::SendOnly,
    Direction::RecvOnly,
    Direction::Inactive,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever renegotiations happen between 20 ms frames, every packet the peer gets
    /// has our one SSRC, the sequence number one more than the previous packet's, a
    /// timestamp 160 more when no frame time was skipped (a positive multiple of 160
    /// across a hold), and the payload type in force when it was sent. Frames offered
    /// during a hold are not sent and leave no sequence gap.
    #[test]
    fn renegotiations_keep_the_stream_continuous(
        steps in proptest::collection::vec(step(), 1..12),
        seed in any::<u64>(),
    ) {
        let t0 = origin();
        let remote: SocketAddr = "10.0.0.5:4000".parse().unwrap();
        let source_addr: SocketAddr = "192.0.2.99:5000".parse().unwrap();
        let mut leg = leg(t0, remote, Codec::pcma(), Some(101), seed);
        let mut source = leg_source(t0, source_addr, seed);
        let mut tick = 0u64;
        let mut source_seq = seed as u16;
        // (tick, payload type in force, datagram)
        let mut sent: Vec<(u64, u8, Vec<u8>)> = Vec::new();
        for step in steps {
            match step {
                Step::Renegotiate(ulaw, pt, te, dir) => {
                    let mut update = leg.negotiated();
                    update.codec = if ulaw { G711::Ulaw } else { G711::Alaw };
                    update.payload_type = pt;
                    update.telephone_event = te.filter(|t| *t != pt);
                    update.direction = DIRECTIONS[dir];
                    leg.renegotiate(at(t0, tick * 20), update);
                }
                Step::Send { frames, relayed } => {
                    for _ in 0..frames {
                        let now = at(t0, tick * 20);
                        if relayed {
                            // The source loses nothing: its sequence numbers are contiguous.
                            source_seq = source_seq.wrapping_add(1);
                            let ts = tick as u32 * 160;
                            let bytes = rtp(8, source_seq, ts, 77, false, &[0xD5; 160]);
                            let received = source.handle_packet(now, source_addr, &bytes);
                            leg.relay(now, &received);
                        } else {
                            leg.send_frame(now, &[0; 160]);
                        }
                        let pt = leg.negotiated().payload_type;
                        for (_, bytes) in drain_rtp(&mut leg, now) {
                            sent.push((tick, pt, bytes));
                        }
                        tick += 1;
                    }
                }
            }
        }
        for (_, pt, bytes) in &sent {
            let p = parse(bytes);
            prop_assert_eq!(p.payload_type(), *pt);
            prop_assert_eq!(p.ssrc(), leg.ssrc());
        }
        for pair in sent.windows(2) {
            let ((tick_a, _, a), (tick_b, _, b)) = (&pair[0], &pair[1]);
            let (a, b) = (parse(a), parse(b));
            prop_assert_eq!(b.sequence(), a.sequence().wrapping_add(1));
            let step = b.timestamp().wrapping_sub(a.timestamp());
            if tick_b - tick_a == 1 {
                prop_assert_eq!(step, 160);
            } else {
                prop_assert!(step >= 160 && step % 160 == 0 && step < 1 << 31, "step {}", step);
            }
        }
    }
}

/// The far leg whose packets are relayed (A-law, type 8).
fn leg_source(t0: Instant, remote: SocketAddr, seed: u64) -> MediaLeg {
    leg(t0, remote, Codec::pcma(), None, seed ^ 1)
}
