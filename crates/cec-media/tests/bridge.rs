//! Two legs and a bridge driven by a seeded simulated network (1 % loss, up to 60 ms
//! jitter): what the far side receives keeps one sequence/timestamp mapping (continuity),
//! carries the sent payload (transcoded A-law -> µ-law where the legs differ), and plays
//! out in order; DTMF arrives as each digit exactly once, remapped or converted in-band.

mod common;

use std::net::SocketAddr;

use cec_media::bridge::{Bridge, End, Forwarded};
use cec_media::leg::{LegEvent, MediaLeg};
use cec_media::{JitterBuffer, JitterConfig, Playout};
use cec_rtp::g711::G711;
use cec_sdp::Codec;
use common::{Rng, at, drain_rtp, goertzel, leg, origin, parse, rtp};

fn caller() -> SocketAddr {
    "198.51.100.7:5004".parse().unwrap()
}
fn agent() -> SocketAddr {
    "192.0.2.20:7078".parse().unwrap()
}

const CALLER_SSRC: u32 = 0xCA11_E200;

/// A distinctive A-law payload for frame `n`.
fn payload(n: u16) -> Vec<u8> {
    (0..160u16)
        .map(|i| (n.wrapping_mul(31).wrapping_add(i * 7) & 0xFF) as u8)
        .collect()
}

/// One packet in flight: when it arrives, its original index, the datagram.
type InFlight = (u64, u16, Vec<u8>);

/// The caller sends `frames` packets every 20 ms from sequence `seq0`; each is lost with
/// probability `loss_per_mille`/1000 or delayed 0..=60 ms. Returns arrivals sorted by time.
fn network(rng: &mut Rng, frames: u16, seq0: u16, loss_per_mille: u64) -> Vec<InFlight> {
    let mut out: Vec<InFlight> = Vec::new();
    for n in 0..frames {
        let lost = rng.below(1000) < loss_per_mille;
        let arrival = u64::from(n) * 20 + rng.below(61);
        if !lost {
            let seq = seq0.wrapping_add(n);
            let ts = 90_000u32.wrapping_add(u32::from(n) * 160);
            out.push((
                arrival,
                n,
                rtp(8, seq, ts, CALLER_SSRC, n == 0, &payload(n)),
            ));
        }
    }
    out.sort_by_key(|(arrival, n, _)| (*arrival, *n));
    out
}

fn bridge(agent_codec: Codec) -> (std::time::Instant, Bridge) {
    let t0 = origin();
    let a = leg(t0, caller(), Codec::pcma(), Some(101), 1);
    let b = leg(t0, agent(), agent_codec, Some(96), 2);
    (t0, Bridge::new(a, b))
}

/// Runs the caller's stream through the bridge; returns (index, datagram) as sent to the
/// agent, in sending order, and the arrivals that were relayed.
fn run(
    bridge: &mut Bridge,
    t0: std::time::Instant,
    arrivals: &[InFlight],
) -> (Vec<(u16, Vec<u8>)>, Vec<InFlight>) {
    let mut delivered = Vec::new();
    let mut relayed = Vec::new();
    for (arrival, n, datagram) in arrivals {
        let now = at(t0, *arrival);
        match bridge.handle_packet(now, End::A, caller(), datagram) {
            Forwarded::Audio => relayed.push((*arrival, *n, datagram.clone())),
            // Only a packet overtaken by the one that started the relayed segment may be
            // refused: sending it would go back before the segment start.
            Forwarded::NotRelayed => {
                let first = delivered.first().map(|(m, _)| *m);
                assert!(first.is_some_and(|m| *n < m), "frame {n} refused");
            }
            other => panic!("frame {n}: {other:?}"),
        }
        for (to, bytes) in drain_rtp(bridge.leg_mut(End::B), now) {
            assert_eq!(to, agent());
            delivered.push((*n, bytes));
        }
    }
    (delivered, relayed)
}

fn check_stream(delivered: &[(u16, Vec<u8>)], arrivals: &[InFlight], law: G711) {
    assert_eq!(
        delivered.len(),
        arrivals.len(),
        "every arriving packet is relayed"
    );
    let (n0, first) = &delivered[0];
    let first = parse(first);
    assert!(first.marker(), "the new segment is marked");
    let seq_offset = first.sequence().wrapping_sub(*n0);
    let ts_offset = first.timestamp().wrapping_sub(u32::from(*n0) * 160);
    let ssrc = first.ssrc();
    for (n, bytes) in delivered {
        let p = parse(bytes);
        // Continuity: one mapping for the whole stream, so gaps mark exactly the losses.
        assert_eq!(p.sequence(), n.wrapping_add(seq_offset), "frame {n}");
        assert_eq!(p.timestamp(), (u32::from(*n) * 160).wrapping_add(ts_offset));
        assert_eq!(p.ssrc(), ssrc);
        assert_eq!(p.payload_type(), law.payload_type());
        let expected: Vec<u8> = match law {
            G711::Alaw => payload(*n),
            G711::Ulaw => payload(*n)
                .iter()
                .map(|c| G711::Alaw.to_other(*c))
                .collect(),
        };
        assert_eq!(p.payload(), &expected[..], "frame {n}");
    }
    // Ordering: the agent's jitter buffer (100 ms) plays every delivered frame in order.
    let mut jb = JitterBuffer::new(JitterConfig::default());
    let mut played = Vec::new();
    let mut next = 0;
    let mut by_arrival: Vec<(u64, u16, &Vec<u8>)> = Vec::new();
    for ((arrival, n, _), (m, bytes)) in arrivals.iter().zip(delivered) {
        assert_eq!(n, m);
        by_arrival.push((*arrival, *n, bytes));
    }
    for tick in 0..400u64 {
        while next < by_arrival.len() && by_arrival[next].0 <= tick * 20 {
            let (_, n, bytes) = by_arrival[next];
            jb.push(parse(bytes).sequence(), n);
            next += 1;
        }
        if let Playout::Item { item, .. } = jb.pop() {
            played.push(item);
        }
    }
    let sent: Vec<u16> = arrivals
        .iter()
        .map(|(_, n, _)| *n)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(played, sent, "in order, nothing late");
}

#[test]
fn same_codec_bridge_keeps_audio_aligned_under_loss_and_jitter() {
    let mut lost = 0;
    for seed in 1..=5 {
        let (t0, mut bridge) = bridge(Codec::pcma());
        let mut rng = Rng(seed);
        let arrivals = network(&mut rng, 300, 65_300, 10);
        lost += 300 - arrivals.len();
        let (delivered, relayed) = run(&mut bridge, t0, &arrivals);
        assert!(relayed.len() + 3 >= arrivals.len());
        check_stream(&delivered, &relayed, G711::Alaw);
    }
    assert!(
        lost > 5,
        "the simulated network must actually lose packets ({lost})"
    );
}

#[test]
fn alaw_to_ulaw_bridge_transcodes_every_payload() {
    let (t0, mut bridge) = bridge(Codec::pcmu());
    let mut rng = Rng(42);
    let arrivals = network(&mut rng, 300, 100, 10);
    let (delivered, relayed) = run(&mut bridge, t0, &arrivals);
    check_stream(&delivered, &relayed, G711::Ulaw);
}

#[test]
fn packets_from_another_address_are_not_relayed() {
    let (t0, mut bridge) = bridge(Codec::pcma());
    let first = rtp(8, 1, 160, CALLER_SSRC, false, &payload(1));
    assert_eq!(
        bridge.handle_packet(t0, End::A, caller(), &first),
        Forwarded::Audio
    );
    let intruder: SocketAddr = "203.0.113.66:5004".parse().unwrap();
    let spoofed = rtp(8, 2, 320, CALLER_SSRC, false, &payload(2));
    assert!(matches!(
        bridge.handle_packet(at(t0, 20), End::A, intruder, &spoofed),
        Forwarded::Dropped(_)
    ));
    assert_eq!(drain_rtp(bridge.leg_mut(End::B), t0).len(), 1);
}

/// RFC 4733 packets for `digit` starting at frame `start`: one start packet (marker), four
/// updates, three end packets, all with the event's timestamp.
fn event_packets(digit: char, start: u16, pt: u8) -> Vec<(u16, Vec<u8>)> {
    let code = cec_rtp::dtmf::char_to_event(digit).unwrap();
    let ts = 50_000u32 + u32::from(start) * 160;
    (0..8u16)
        .map(|i| {
            let end = i >= 5;
            let duration = (i.min(5) + 1) * 160;
            let ev = cec_rtp::dtmf::TelephoneEvent {
                event: code,
                end,
                volume: 10,
                duration,
            };
            (
                start + i,
                rtp(pt, start + i, ts, CALLER_SSRC, i == 0, &ev.to_bytes()),
            )
        })
        .collect()
}

#[test]
fn dtmf_under_loss_yields_each_digit_exactly_once_remapped() {
    let digits: Vec<char> = "0123456789*#ABCD".chars().cycle().take(160).collect();
    let t0 = origin();
    let mut bridge = Bridge::new(
        leg(t0, caller(), Codec::pcma(), Some(101), 1),
        leg(t0, agent(), Codec::pcma(), Some(96), 2),
    );
    // The agent's phone, as another leg receiving what B sends.
    let mut phone = leg(
        t0,
        "192.0.2.1:40000".parse().unwrap(),
        Codec::pcma(),
        Some(96),
        3,
    );
    let mut rng = Rng(7);
    let mut flight: Vec<(u64, u16, Vec<u8>)> = Vec::new();
    for (k, digit) in digits.iter().enumerate() {
        let start = k as u16 * 10;
        for (seq, bytes) in event_packets(*digit, start, 101) {
            // 5 % loss (harsher than required), 0..60 ms jitter; never all 8 lost here.
            if rng.below(100) >= 5 {
                flight.push((u64::from(seq) * 20 + rng.below(61), seq, bytes));
            }
        }
    }
    flight.sort_by_key(|(t, s, _)| (*t, *s));
    let mut first_digits = Vec::new();
    for (arrival, _, bytes) in &flight {
        let now = at(t0, *arrival);
        if let Forwarded::Event { new_digit: Some(d) } =
            bridge.handle_packet(now, End::A, caller(), bytes)
        {
            first_digits.push(d);
        }
        for (_, out) in drain_rtp(bridge.leg_mut(End::B), now) {
            assert_eq!(
                parse(&out).payload_type(),
                96,
                "remapped to the agent's type"
            );
            phone.handle_packet(now, agent(), &out);
        }
    }
    let mut phone_digits = Vec::new();
    while let Some(event) = phone.poll_event() {
        if let LegEvent::Dtmf { digit } = event {
            phone_digits.push(digit);
        }
    }
    assert_eq!(first_digits, digits, "bridge side: once each, in order");
    assert_eq!(phone_digits, digits, "far side: once each, in order");
}

#[test]
fn dtmf_is_converted_in_band_when_the_far_leg_has_no_telephone_event() {
    let t0 = origin();
    let mut bridge = Bridge::new(
        leg(t0, caller(), Codec::pcma(), Some(101), 1),
        leg(t0, agent(), Codec::pcmu(), None, 2),
    );
    let silence = vec![G711::Alaw.silence(); 160];
    let mut out = Vec::new();
    for n in 0..20u16 {
        let now = at(t0, u64::from(n) * 20);
        if n == 5 {
            let ev = cec_rtp::dtmf::TelephoneEvent {
                event: 5,
                end: false,
                volume: 10,
                duration: 160,
            };
            let f = bridge.handle_packet(
                now,
                End::A,
                caller(),
                &rtp(101, 1000, 777, CALLER_SSRC, true, &ev.to_bytes()),
            );
            assert_eq!(
                f,
                Forwarded::Event {
                    new_digit: Some('5')
                }
            );
        }
        let audio = rtp(8, n, u32::from(n) * 160, CALLER_SSRC, false, &silence);
        let f = bridge.handle_packet(now, End::A, caller(), &audio);
        let expected = if (5..10).contains(&n) {
            Forwarded::InbandDtmf
        } else {
            Forwarded::Audio
        };
        assert_eq!(f, expected, "frame {n}");
        out.extend(drain_rtp(bridge.leg_mut(End::B), now));
    }
    let pcm: Vec<i16> = out[5..10]
        .iter()
        .flat_map(|(_, b)| {
            parse(b)
                .payload()
                .iter()
                .map(|c| G711::Ulaw.decode(*c))
                .collect::<Vec<_>>()
        })
        .collect();
    // '5' is 770 Hz + 1336 Hz.
    assert!(goertzel(&pcm, 770.0) > 1e5 && goertzel(&pcm, 1336.0) > 1e5);
    assert!(goertzel(&pcm, 697.0) < goertzel(&pcm, 770.0) / 20.0);
    let after: Vec<i16> = parse(&out[12].1)
        .payload()
        .iter()
        .map(|c| G711::Ulaw.decode(*c))
        .collect();
    assert!(after.iter().all(|s| s.abs() < 16), "voice path restored");
}

#[test]
fn legs_keep_their_own_streams_when_unbridged() {
    let (_, bridge) = bridge(Codec::pcma());
    let (a, b): (MediaLeg, MediaLeg) = bridge.into_legs();
    assert_ne!(a.ssrc(), b.ssrc());
}
