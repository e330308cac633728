//! End-to-end RFC 4733: a digit string goes through `DtmfSender`, a lossy channel
//! (random loss that spares at least one packet per digit, duplicates, reordering within a
//! digit) and `DtmfReceiver`, which must report exactly the digits sent, in order, once
//! each, including repeated digits, both when each event ends and (for early reaction) at
//! its first packet. Also checks that a digit whose packets are all lost simply disappears
//! without disturbing the others.

use std::time::{Duration, Instant};

use cec_rtp::dtmf::{DEFAULT_PACKET_INTERVAL, DtmfReceiver, DtmfSender, EventPacket};
use proptest::prelude::*;

/// The origin of a virtual timeline (the simulator's clock reads the real one once).
fn t0() -> Instant {
    cec_sim::VirtualClock::start().now()
}

/// Sends each digit for `press` with `gap` between them; returns per digit the packets with
/// their send times.
fn send(
    digits: &str,
    press: Duration,
    gap: Duration,
    start: Instant,
) -> Vec<Vec<(Instant, EventPacket)>> {
    let mut sender = DtmfSender::new(101, 8000, DEFAULT_PACKET_INTERVAL).unwrap();
    let mut now = start;
    let mut out = Vec::new();
    for d in digits.chars() {
        // The RTP clock runs at 8 kHz from `start`.
        let ts = ((now - start).as_millis() as u32) * 8;
        sender.start(d, press, now, ts).unwrap();
        let mut packets = Vec::new();
        while let Some(at) = sender.poll_timeout() {
            now = at;
            while let Some(p) = sender.poll(now) {
                packets.push((now, p));
            }
        }
        out.push(packets);
        now += gap;
    }
    out
}

/// Deterministic xorshift so proptest only has to choose a seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The digits reported when their events end, and those named at their first packet.
fn receive(arrivals: &[(Instant, EventPacket)], seqs: &[u16]) -> (String, String) {
    let mut receiver = DtmfReceiver::new();
    let mut got = String::new();
    let mut started = String::new();
    let mut last = arrivals.first().map(|a| a.0);
    for ((at, p), seq) in arrivals.iter().zip(seqs) {
        receiver.handle_timeout(*at);
        let start = receiver
            .handle(*seq, p.timestamp, &p.payload.to_bytes(), *at)
            .unwrap();
        started.extend(start);
        while let Some(d) = receiver.poll_event() {
            got.push(d.digit);
        }
        last = Some(*at);
    }
    if let Some(last) = last {
        receiver.handle_timeout(last + Duration::from_secs(5));
    }
    while let Some(d) = receiver.poll_event() {
        got.push(d.digit);
    }
    (got, started)
}

proptest! {
    #[test]
    fn digits_survive_loss_duplication_and_reordering(
        digits in "[0-9*#A-D]{1,8}",
        seed in 1u64..u64::MAX,
        press_ms in 40u64..300,
        loss_percent in 0u64..70,
    ) {
        let start = t0();
        let per_digit = send(&digits, Duration::from_millis(press_ms), Duration::from_millis(100), start);
        let mut rng = Rng(seed);
        let mut arrivals = Vec::new();
        let mut seqs = Vec::new();
        let mut seq = 0u16;
        for packets in per_digit {
            let keep_one = rng.below(packets.len() as u64) as usize;
            let mut kept: Vec<(Instant, EventPacket, u16)> = Vec::new();
            for (i, (at, p)) in packets.into_iter().enumerate() {
                seq = seq.wrapping_add(1);
                if i != keep_one && rng.below(100) < loss_percent {
                    continue;
                }
                kept.push((at, p, seq));
                if rng.below(10) == 0 {
                    kept.push((at, p, seq));
                }
            }
            // Swap neighbours within the digit now and then (network reordering).
            for i in 1..kept.len() {
                if rng.below(4) == 0 {
                    kept.swap(i - 1, i);
                }
            }
            for (at, p, s) in kept {
                arrivals.push((at, p));
                seqs.push(s);
            }
        }
        // Arrival times must not go backwards for the receiver's clock.
        let mut clock = start;
        for a in &mut arrivals {
            clock = clock.max(a.0);
            a.0 = clock;
        }
        let (ended, started) = receive(&arrivals, &seqs);
        prop_assert_eq!(&ended, &digits);
        prop_assert_eq!(started, digits);
    }
}

#[test]
fn a_digit_lost_completely_is_missing_and_the_rest_are_intact() {
    let start = t0();
    let per_digit = send(
        "123",
        Duration::from_millis(100),
        Duration::from_millis(100),
        start,
    );
    let mut arrivals = Vec::new();
    let mut seqs = Vec::new();
    let mut seq = 0;
    for (i, packets) in per_digit.into_iter().enumerate() {
        for (at, p) in packets {
            seq += 1;
            if i != 1 {
                arrivals.push((at, p));
                seqs.push(seq);
            }
        }
    }
    assert_eq!(receive(&arrivals, &seqs), ("13".into(), "13".into()));
}
