use std::time::{Duration, Instant};

use super::*;

/// The origin of a virtual timeline (the simulator's clock reads the real one once).
fn t0() -> Instant {
    cec_sim::VirtualClock::start().now()
}

/// Feeds packets 20 ms apart (160 units) with arrival jitter from `delays`.
fn feed(stats: &mut ReceiverStats, seqs: impl IntoIterator<Item = u16>) {
    for seq in seqs {
        let ts = u32::from(seq) * 160;
        stats.on_packet(seq, ts, ts + 1000);
    }
}

#[test]
fn probation_needs_two_sequential_packets() {
    let mut s = ReceiverStats::new(100);
    assert_eq!(s.on_packet(100, 0, 0), SequenceCheck::Probation);
    assert!(s.on_probation());
    assert_eq!(s.expected(), 0);
    assert_eq!(s.on_packet(101, 160, 160), SequenceCheck::Valid);
    assert!(!s.on_probation());
    assert_eq!((s.expected(), s.received()), (1, 1));
    // A jump during probation restarts it.
    let mut j = ReceiverStats::new(1);
    assert_eq!(j.on_packet(1, 0, 0), SequenceCheck::Probation);
    assert_eq!(j.on_packet(50, 0, 0), SequenceCheck::Probation);
    assert_eq!(j.on_packet(51, 0, 0), SequenceCheck::Valid);
}

#[test]
fn loss_wrap_and_fraction_lost() {
    let mut s = ReceiverStats::new_validated(65530);
    // 65530..=65535, then 0..=9 with 2 and 3 lost: 16 expected, 14 received.
    feed(
        &mut s,
        (65530..=65535).chain((0..10).filter(|q| *q != 2 && *q != 3)),
    );
    assert_eq!(s.cycles(), 1);
    assert_eq!(s.extended_highest_seq(), 65536 + 9);
    assert_eq!(
        (s.expected(), s.received(), s.cumulative_lost()),
        (16, 14, 2)
    );
    // 2 of 16 is 32/256.
    assert_eq!(s.fraction_lost_since_last(), 32);
    // Next interval: 10 more, none lost; a duplicate makes the loss negative, fraction 0.
    feed(&mut s, 10..20);
    feed(&mut s, [15]);
    assert_eq!(s.fraction_lost_since_last(), 0);
    assert_eq!(s.cumulative_lost(), 1);
    let block = s.report_block(77, 0x1234, 0x10);
    assert_eq!(
        (block.ssrc, block.cumulative_lost, block.highest_seq),
        (77, 1, 65536 + 19)
    );
    assert_eq!(
        (block.lsr, block.dlsr, block.fraction_lost),
        (0x1234, 0x10, 0)
    );
}

#[test]
fn validated_source_starting_at_zero_does_not_count_a_wrap() {
    let mut s = ReceiverStats::new_validated(0);
    feed(&mut s, 0..5);
    assert_eq!(
        (s.extended_highest_seq(), s.expected(), s.cycles()),
        (4, 5, 0)
    );
}

#[test]
fn big_jump_is_bad_until_confirmed_then_restarts() {
    let mut s = ReceiverStats::new_validated(10);
    feed(&mut s, 10..20);
    assert_eq!(s.on_packet(40_000, 0, 0), SequenceCheck::Bad);
    assert_eq!(s.expected(), 10);
    assert_eq!(s.on_packet(40_001, 0, 0), SequenceCheck::Restarted);
    assert_eq!((s.expected(), s.received()), (1, 1));
    // Late packets within MAX_MISORDER are counted, not treated as a jump.
    let mut late = ReceiverStats::new_validated(500);
    feed(&mut late, 500..600);
    assert_eq!(late.on_packet(550, 0, 0), SequenceCheck::Valid);
}

#[test]
fn jitter_follows_the_rfc_estimator() {
    let mut s = ReceiverStats::new_validated(0);
    // Constant transit: no jitter.
    feed(&mut s, 0..50);
    assert_eq!(s.jitter(), 0);
    // Alternate transit by 80 units: the estimate converges towards 80.
    let mut a = ReceiverStats::new_validated(0);
    for seq in 0..400u16 {
        let ts = u32::from(seq) * 160;
        let extra = if seq % 2 == 0 { 0 } else { 80 };
        a.on_packet(seq, ts, ts + 1000 + extra);
    }
    assert!((75..=80).contains(&a.jitter()), "{}", a.jitter());
    assert!(
        (a.jitter_ms(8000) - 10.0).abs() < 0.7,
        "{}",
        a.jitter_ms(8000)
    );
    // One step by hand: J = J + (|D| - J)/16 with D = 160 gives 10.
    let mut one = ReceiverStats::new_validated(0);
    one.on_packet(0, 0, 0);
    one.on_packet(1, 160, 320);
    assert_eq!(one.jitter(), 10);
}

#[test]
fn report_block_at_fills_lsr_and_dlsr() {
    let now = t0();
    let mut s = ReceiverStats::new_validated(0);
    feed(&mut s, 0..3);
    assert_eq!(
        (
            s.report_block_at(1, now).lsr,
            s.report_block_at(1, now).dlsr
        ),
        (0, 0)
    );
    s.on_sender_report(0x0000_1111_2222_0000, now);
    let block = s.report_block_at(1, now + Duration::from_millis(500));
    assert_eq!((block.lsr, block.dlsr), (0x1111_2222, 0x8000));
}

#[test]
fn sender_stats_feed_a_sender_report() {
    let mut tx = SenderStats::default();
    for i in 0..3 {
        tx.on_sent(160, i * 160);
    }
    let sr = tx.sender_report(9, 1 << 32, 480, vec![]);
    assert_eq!(
        (sr.packet_count, sr.octet_count, sr.rtp_timestamp),
        (3, 480, 480)
    );
    assert_eq!(tx.last_rtp_timestamp, Some(320));
    assert_eq!(to_rtp_units(Duration::from_millis(20), 8000), 160);
    assert_eq!(
        to_rtp_units(Duration::from_secs(600_000), 8000),
        (4_800_000_000u64 % (1 << 32)) as u32
    );
}

#[test]
fn interval_loss_is_per_interval_and_never_negative() {
    // Every tenth packet lost except the first: 100 expected, 91 received.
    let mut s = ReceiverStats::new_validated(0);
    feed(&mut s, (0..100u16).filter(|n| n % 10 != 0 || *n == 0));
    let first = s.take_interval();
    assert_eq!(
        first,
        IntervalLoss {
            expected: 100,
            received: 91,
            lost: 9,
            fraction_lost: (9 * 256 / 100) as u8,
        }
    );
    assert!((first.percent() - 9.0).abs() < 1e-9);
    // A clean interval, then one where duplicates outnumber losses.
    feed(&mut s, 100..200);
    assert_eq!(
        (s.take_interval().lost, s.cumulative_lost()),
        (0, 9),
        "the earlier loss stays cumulative only"
    );
    feed(&mut s, [200, 200, 200, 202]);
    let dup = s.take_interval();
    assert_eq!((dup.expected, dup.received, dup.lost), (3, 4, 0));
    assert_eq!(dup.fraction_lost, 0);
    // Nothing since: an empty interval is 0 %, not a division by zero.
    assert_eq!(s.take_interval().percent(), 0.0);
}

#[test]
fn block_for_interval_matches_report_block() {
    let mut a = ReceiverStats::new_validated(65_500);
    feed(
        &mut a,
        (65_500..=65_535).chain(0..40).filter(|n| n % 7 != 3),
    );
    let mut b = a.clone();
    let interval = a.take_interval();
    assert!(interval.lost > 0);
    assert_eq!(
        a.block_for_interval(9, &interval, 5, 6),
        b.report_block(9, 5, 6)
    );
    assert_eq!(
        a.block_for_interval(9, &interval, 5, 6).fraction_lost,
        interval.fraction_lost
    );
}

#[test]
fn jitter_as_a_duration() {
    let mut steady = ReceiverStats::new_validated(65_500);
    feed(&mut steady, (0..100u16).map(|n| 65_500u16.wrapping_add(n)));
    assert_eq!(steady.jitter_duration(8000), Duration::ZERO);
    assert_eq!(steady.extended_highest_seq(), 65_500 + 99);
    // Every other packet 10 ms (80 units) late: converges to 10 ms.
    let mut alternating = ReceiverStats::new_validated(0);
    for seq in 0..400u16 {
        let ts = u32::from(seq) * 160;
        let late = if seq % 2 == 1 { 80 } else { 0 };
        alternating.on_packet(seq, ts, ts + late);
    }
    let ms = alternating.jitter_duration(8000).as_secs_f64() * 1000.0;
    assert!((ms - 10.0).abs() < 0.3, "{ms}");
    assert!((ms - alternating.jitter_ms(8000)).abs() < 1e-6);
    assert_eq!(alternating.jitter_duration(0), Duration::ZERO);
}
