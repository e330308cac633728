//! The jitter/reorder buffer: in-order playout of reordered packets, loss reported in
//! place, late and duplicate packets dropped, sequence wrap, restart after a jump or an
//! underrun; and, by property, that arbitrary delays within the depth never reorder or
//! lose anything.

use cec_media::{JitterBuffer, JitterConfig, Playout, Push};
use proptest::prelude::*;

fn buffer(depth: usize) -> JitterBuffer<u16> {
    JitterBuffer::new(JitterConfig {
        depth,
        capacity: 16,
    })
}

fn played(p: Playout<u16>) -> Option<u16> {
    match p {
        Playout::Item { seq, item } => {
            assert_eq!(seq, item);
            Some(seq)
        }
        Playout::Lost { .. } | Playout::Buffering => None,
    }
}

#[test]
fn reordered_packets_play_in_order_after_the_depth() {
    let mut jb = buffer(3);
    for seq in [11u16, 10, 13, 12] {
        assert_eq!(jb.push(seq, seq), Push::Queued);
    }
    assert_eq!(jb.pop(), Playout::Buffering);
    assert_eq!(jb.pop(), Playout::Buffering);
    let out: Vec<Option<u16>> = (0..4).map(|_| played(jb.pop())).collect();
    assert_eq!(out, [Some(10), Some(11), Some(12), Some(13)]);
}

#[test]
fn gaps_play_as_lost_and_late_packets_are_dropped() {
    let mut jb = buffer(1);
    jb.push(100, 100);
    jb.push(102, 102);
    assert_eq!(played(jb.pop()), Some(100));
    assert_eq!(jb.pop(), Playout::Lost { seq: 101 });
    assert_eq!(jb.push(101, 101), Push::Late);
    assert_eq!(jb.push(102, 102), Push::Duplicate);
    assert_eq!(played(jb.pop()), Some(102));
    let stats = jb.stats();
    assert_eq!((stats.lost, stats.late, stats.duplicate), (1, 1, 1));
}

#[test]
fn sequence_numbers_wrap() {
    let mut jb = buffer(1);
    for seq in [65_534u16, 65_535, 0, 1] {
        jb.push(seq, seq);
    }
    let out: Vec<Option<u16>> = (0..4).map(|_| played(jb.pop())).collect();
    assert_eq!(out, [Some(65_534), Some(65_535), Some(0), Some(1)]);
}

#[test]
fn a_big_jump_restarts_the_buffer() {
    let mut jb = buffer(1);
    jb.push(5, 5);
    assert_eq!(played(jb.pop()), Some(5));
    assert_eq!(jb.push(30_000, 30_000), Push::Resynced);
    assert_eq!(played(jb.pop()), Some(30_000));
    assert_eq!(jb.stats().restarts, 1);
}

#[test]
fn overflow_pushes_out_the_oldest() {
    let mut jb = buffer(1);
    jb.push(0, 0);
    // 20 ahead: beyond capacity 16 but not a jump: frames 0..=4 give way.
    assert_eq!(jb.push(20, 20), Push::Queued);
    assert_eq!(jb.stats().overflow, 1);
    let first = jb.pop();
    assert_eq!(first, Playout::Lost { seq: 5 });
}

#[test]
fn an_underrun_restarts_so_a_resumed_stream_is_not_late() {
    let mut jb = buffer(2);
    jb.push(1, 1);
    assert_eq!(jb.pop(), Playout::Buffering);
    assert_eq!(played(jb.pop()), Some(1));
    // The sender pauses for many ticks, then continues with the next number.
    for _ in 0..10 {
        let _ = jb.pop();
    }
    assert_eq!(jb.push(2, 2), Push::Queued);
    assert_eq!(jb.pop(), Playout::Buffering);
    assert_eq!(played(jb.pop()), Some(2));
}

proptest! {
    /// Packets sent every tick, each delayed 0..depth-1 ticks (random), arrive reordered;
    /// playout is exactly the sent sequence, nothing lost.
    #[test]
    fn delays_within_depth_never_lose_or_reorder(
        start in any::<u16>(),
        delays in proptest::collection::vec(0u64..4, 1..200),
    ) {
        let depth = 5;
        let mut jb = JitterBuffer::new(JitterConfig { depth, capacity: 32 });
        let n = delays.len() as u64;
        // Arrival tick of each packet; the first one is not delayed so the clock starts
        // at tick 0.
        let mut arrivals: Vec<(u64, u16)> = delays
            .iter()
            .enumerate()
            .map(|(i, d)| (i as u64 + if i == 0 { 0 } else { *d }, start.wrapping_add(i as u16)))
            .collect();
        arrivals.sort();
        let mut out = Vec::new();
        let mut next = 0;
        for tick in 0..n + depth as u64 + 5 {
            while next < arrivals.len() && arrivals[next].0 == tick {
                let (_, seq) = arrivals[next];
                prop_assert_eq!(jb.push(seq, seq), Push::Queued);
                next += 1;
            }
            match jb.pop() {
                Playout::Item { seq, item } => { prop_assert_eq!(seq, item); out.push(seq); }
                Playout::Lost { seq } => {
                    // Only after the end of the stream (underrun).
                    prop_assert_eq!(seq, start.wrapping_add(n as u16));
                }
                Playout::Buffering => {}
            }
        }
        let expected: Vec<u16> = (0..n).map(|i| start.wrapping_add(i as u16)).collect();
        prop_assert_eq!(out, expected);
    }

    /// Arbitrary pushes and pops never panic and never hold more than the capacity.
    #[test]
    fn arbitrary_input_is_safe(ops in proptest::collection::vec(any::<(bool, u16)>(), 0..300)) {
        let mut jb = JitterBuffer::new(JitterConfig { depth: 3, capacity: 8 });
        for (push, seq) in ops {
            if push { jb.push(seq, seq); } else { let _ = jb.pop(); }
            prop_assert!(jb.len() <= 8);
        }
    }
}
