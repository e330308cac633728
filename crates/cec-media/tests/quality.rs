//! Quality measurement: RFC 3550 jitter and loss (cumulative, per interval, across the
//! sequence wrap), RTT from LSR/DLSR, NTP mapping, MOS and the threshold alerts that name
//! the limit crossed.

mod common;

use std::time::Duration;

use cec_media::quality::{
    IntervalQuality, NtpClock, QualityLimit, QualityThresholds, ReceptionStats, round_trip_time,
};
use common::{at, origin};

#[test]
fn steady_stream_has_no_jitter_or_loss() {
    let t0 = origin();
    let mut stats = ReceptionStats::new();
    for n in 0..100u64 {
        stats.on_packet(
            at(t0, n * 20),
            65_500u16.wrapping_add(n as u16),
            1_000 + n as u32 * 160,
        );
    }
    assert_eq!(stats.jitter_units(), 0);
    assert_eq!(stats.expected(), 100);
    assert_eq!(stats.cumulative_lost(), 0);
    assert_eq!(
        stats.extended_highest(),
        65_500 + 99,
        "wrap counted as a cycle"
    );
}

#[test]
fn alternating_delay_converges_to_rfc3550_jitter() {
    let t0 = origin();
    let mut stats = ReceptionStats::new();
    // Every other packet 10 ms late: |D| = 80 units each time; J converges to 80.
    for n in 0..400u64 {
        let late = if n % 2 == 1 { 10 } else { 0 };
        stats.on_packet(at(t0, n * 20 + late), n as u16, n as u32 * 160);
    }
    let j = stats.jitter_units();
    assert!((78..=80).contains(&j), "{j}");
    assert!((stats.jitter().as_secs_f64() * 1000.0 - 10.0).abs() < 0.3);
}

#[test]
fn loss_is_counted_per_interval_and_cumulatively() {
    let t0 = origin();
    let mut stats = ReceptionStats::new();
    for n in (0..100u16).filter(|n| n % 10 != 0 || *n == 0) {
        stats.on_packet(at(t0, u64::from(n) * 20), n, u32::from(n) * 160);
    }
    let first = stats.take_interval();
    assert_eq!((first.expected, first.lost), (100, 9));
    assert_eq!(first.fraction_lost, (9 * 256 / 100) as u8);
    assert!((first.percent() - 9.0).abs() < 1e-9);
    for n in 100..200u16 {
        stats.on_packet(at(t0, u64::from(n) * 20), n, u32::from(n) * 160);
    }
    let second = stats.take_interval();
    assert_eq!(
        (second.expected, second.lost, second.fraction_lost),
        (100, 0, 0)
    );
    assert_eq!(stats.cumulative_lost(), 9);
}

#[test]
fn round_trip_from_lsr_and_dlsr() {
    // Example from RFC 3550 §6.4.1: A = 0xb710_8000 (46864.500 s), LSR = 0xb705_2000
    // (46853.125 s), DLSR = 0x0005_4000 (5.250 s): RTT = 6.125 s.
    let rtt = round_trip_time(0xb710_8000, 0xb705_2000, 0x0005_4000).unwrap();
    assert_eq!(rtt, Duration::from_millis(6125));
    assert_eq!(
        round_trip_time(0xb710_8000, 0, 5),
        None,
        "no SR received yet"
    );
    assert_eq!(round_trip_time(10, 20, 0), None, "negative");
}

#[test]
fn ntp_clock_advances_with_now() {
    let t0 = origin();
    let clock = NtpClock {
        origin: t0,
        ntp_at_origin: 7 << 32,
    };
    assert_eq!(clock.ntp(at(t0, 1500)), (8 << 32) + (1 << 31));
    assert_eq!(clock.compact(at(t0, 1500)), (8 << 16) + (1 << 15));
}

#[test]
fn alerts_name_each_crossed_limit() {
    let thresholds = QualityThresholds::default();
    let good = IntervalQuality::new(
        0.5,
        Duration::from_millis(20),
        Some(Duration::from_millis(100)),
        Duration::from_millis(60),
        false,
    );
    assert!(good.alerts(&thresholds).is_empty());
    assert!(good.mos > 4.0, "{}", good.mos);
    let bad = IntervalQuality::new(
        2.0,
        Duration::from_millis(80),
        Some(Duration::from_millis(500)),
        Duration::ZERO,
        false,
    );
    let limits: Vec<QualityLimit> = bad.alerts(&thresholds).iter().map(|a| a.limit).collect();
    assert_eq!(
        limits,
        [
            QualityLimit::Loss,
            QualityLimit::Jitter,
            QualityLimit::Delay
        ]
    );
    let delay = bad.alerts(&thresholds)[2];
    assert_eq!((delay.measured, delay.threshold), (250.0, 200.0));
    assert!(bad.mos < good.mos);
    let only_jitter = QualityThresholds {
        max_loss_percent: 5.0,
        max_one_way_delay: Duration::from_secs(1),
        ..thresholds
    };
    let limits: Vec<QualityLimit> = bad.alerts(&only_jitter).iter().map(|a| a.limit).collect();
    assert_eq!(
        limits,
        [QualityLimit::Jitter],
        "thresholds are configurable"
    );
}
