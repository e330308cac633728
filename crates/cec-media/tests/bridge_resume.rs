//! A bridge made, ended (`Bridge::into_legs`) and made again with the same sources (hold,
//! then resume) keeps each leg's outgoing stream continuous. The bug this pins: relayed
//! packets were numbered with the source's sequence number plus an offset fixed when the
//! first bridge was made, so after the resume the silent leg's peer saw a sequence gap
//! as large as the number of packets the source sent while it was not relayed (reported
//! as loss in RTCP). Now every bridge change starts a new segment: the first packet after
//! it continues our sequence by one and moves our timestamp on by the time that passed.

mod common;

use std::net::SocketAddr;
use std::time::Instant;

use cec_media::bridge::{Bridge, End, Forwarded};
use cec_media::leg::MediaLeg;
use cec_sdp::Codec;
use common::{at, drain_rtp, leg, origin, parse, rtp, sine_frame};

fn caller() -> SocketAddr {
    "198.51.100.7:5004".parse().unwrap()
}
fn agent() -> SocketAddr {
    "192.0.2.20:7078".parse().unwrap()
}

const CALLER_SSRC: u32 = 0xCA11_E200;
const AGENT_SSRC: u32 = 0x0A6E_0700;

/// A peer talking at 20 ms pace: its own sequence numbers and timestamps.
struct Talker {
    ssrc: u32,
    seq: u16,
    ts: u32,
}

impl Talker {
    fn new(ssrc: u32, seq: u16) -> Self {
        Self {
            ssrc,
            seq,
            ts: 90_000,
        }
    }

    /// The next packet (seq +1, timestamp +160 each).
    fn next(&mut self) -> Vec<u8> {
        let packet = rtp(8, self.seq, self.ts, self.ssrc, false, &[0xD5; 160]);
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(160);
        packet
    }
}

/// One packet as a peer receives it: (sequence, timestamp, marker, when it was sent in ms).
type Out = (u16, u32, bool, u64);

fn collect(leg: &mut MediaLeg, now: Instant, ms: u64, into: &mut Vec<Out>) {
    for (_, bytes) in drain_rtp(leg, now) {
        let p = parse(&bytes);
        into.push((p.sequence(), p.timestamp(), p.marker(), ms));
    }
}

/// The legs of a call: the caller's (A) and the agent's (B).
fn legs(t0: Instant) -> (MediaLeg, MediaLeg) {
    (
        leg(t0, caller(), Codec::pcma(), Some(101), 1),
        leg(t0, agent(), Codec::pcma(), Some(101), 2),
    )
}

/// The two peers and what each received.
struct Peers {
    caller: Talker,
    agent: Talker,
    to_caller: Vec<Out>,
    to_agent: Vec<Out>,
}

impl Peers {
    fn new(caller_seq: u16) -> Self {
        Self {
            caller: Talker::new(CALLER_SSRC, caller_seq),
            agent: Talker::new(AGENT_SSRC, 700),
            to_caller: Vec::new(),
            to_agent: Vec::new(),
        }
    }

    /// Both talk through `bridge` for frames `frames` (20 ms apart).
    fn bridged(&mut self, bridge: &mut Bridge, t0: Instant, frames: std::ops::Range<u64>) {
        for n in frames {
            let (ms, now) = (n * 20, at(t0, n * 20));
            let outcome = bridge.handle_packet(now, End::A, caller(), &self.caller.next());
            assert_eq!(outcome, Forwarded::Audio, "caller frame {n}");
            let outcome = bridge.handle_packet(now, End::B, agent(), &self.agent.next());
            assert_eq!(outcome, Forwarded::Audio, "agent frame {n}");
            collect(bridge.leg_mut(End::A), now, ms, &mut self.to_caller);
            collect(bridge.leg_mut(End::B), now, ms, &mut self.to_agent);
        }
    }
}

/// Checks one stream: sequence +1 per packet throughout; timestamp +160 within a
/// segment; at each marked packet after the first, the timestamp moves on by exactly the
/// time since the packet before. Returns the indices where segments started.
fn assert_one_stream(out: &[Out], who: &str) -> Vec<usize> {
    let mut segments = Vec::new();
    for (index, pair) in out.windows(2).enumerate() {
        let [(seq0, ts0, _, ms0), (seq1, ts1, marker, ms1)] = pair else {
            continue;
        };
        let index = index + 1;
        assert_eq!(
            *seq1,
            seq0.wrapping_add(1),
            "{who}: packet {index} sequence"
        );
        let step = ts1.wrapping_sub(*ts0);
        if *marker {
            segments.push(index);
            let passed = u32::try_from((ms1 - ms0) * 8).unwrap();
            assert_eq!(step, passed, "{who}: packet {index} timestamp after a gap");
        } else {
            assert_eq!(step, 160, "{who}: packet {index} timestamp");
        }
    }
    segments
}

#[test]
fn the_silent_leg_continues_by_one_after_hold_and_resume() {
    let t0 = origin();
    let (a, b) = legs(t0);
    let mut peers = Peers::new(100);
    let mut bridge = Bridge::new(a, b);
    peers.bridged(&mut bridge, t0, 0..50);
    // Hold for a second: the caller hears music and goes on talking, unrelayed; the
    // agent's leg sends nothing, whatever the agent says.
    let (mut a, mut b) = bridge.into_legs();
    for n in 50..100 {
        let (ms, now) = (n * 20, at(t0, n * 20));
        let _ = a.handle_packet(now, caller(), &peers.caller.next());
        let _ = b.handle_packet(now, agent(), &peers.agent.next());
        assert!(a.send_frame(now, &sine_frame(800.0, 8000.0, n)));
        collect(&mut a, now, ms, &mut peers.to_caller);
        collect(&mut b, now, ms, &mut peers.to_agent);
    }
    assert_eq!(
        peers.to_agent.len(),
        50,
        "the agent hears nothing while held"
    );
    // Resume: the same sources are relayed again.
    let mut bridge = Bridge::new(a, b);
    peers.bridged(&mut bridge, t0, 100..150);

    assert_eq!(peers.to_agent.len(), 100);
    assert_eq!(assert_one_stream(&peers.to_agent, "agent"), [50]);
    // The gap in the agent's timestamps is the second of silence (plus one frame).
    assert_eq!(
        peers.to_agent[50].1.wrapping_sub(peers.to_agent[49].1),
        51 * 160
    );
    assert_eq!(peers.to_caller.len(), 150);
    assert_eq!(assert_one_stream(&peers.to_caller, "caller"), [50, 100]);
}

#[test]
fn both_legs_continue_after_an_unbridge_with_nothing_played() {
    let t0 = origin();
    let (a, b) = legs(t0);
    let mut peers = Peers::new(65_500);
    let mut bridge = Bridge::new(a, b);
    peers.bridged(&mut bridge, t0, 0..50);
    // Unbridged for a second, both legs silent: the caller goes on talking (across its
    // sequence wrap), the agent's phone pauses its stream and later resumes it right
    // where it stopped (sequence and timestamp +1 frame, as some phones do).
    let (mut a, mut b) = bridge.into_legs();
    for n in 50..100 {
        let now = at(t0, n * 20);
        let _ = a.handle_packet(now, caller(), &peers.caller.next());
        assert!(drain_rtp(&mut a, now).is_empty() && drain_rtp(&mut b, now).is_empty());
    }
    let mut bridge = Bridge::new(a, b);
    peers.bridged(&mut bridge, t0, 100..150);

    for (out, who) in [(&peers.to_agent, "agent"), (&peers.to_caller, "caller")] {
        assert_eq!(out.len(), 100, "{who}");
        assert_eq!(assert_one_stream(out, who), [50], "{who}");
    }
}

#[test]
fn a_bridge_made_again_at_once_continues_both_streams() {
    let t0 = origin();
    let (a, b) = legs(t0);
    let mut peers = Peers::new(100);
    let mut bridge = Bridge::new(a, b);
    for round in 0..3 {
        peers.bridged(&mut bridge, t0, round * 10..round * 10 + 10);
        let (a, b) = bridge.into_legs();
        bridge = Bridge::new(a, b);
    }
    // Nothing lost in between: each new segment is one frame on, as the time is.
    for (out, who) in [(&peers.to_agent, "agent"), (&peers.to_caller, "caller")] {
        assert_eq!(out.len(), 30, "{who}");
        assert_eq!(assert_one_stream(out, who), [10, 20], "{who}");
    }
}
