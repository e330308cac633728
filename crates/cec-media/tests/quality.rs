//! Quality measurement: RTT from LSR/DLSR, NTP mapping, MOS and the threshold alerts that
//! name the limit crossed. (RFC 3550 jitter and loss are `cec_rtp::stats::ReceiverStats`,
//! tested in cec-rtp; how a leg feeds and resets them is in tests/leg.rs.)

mod common;

use std::time::Duration;

use cec_media::quality::{
    IntervalQuality, NtpClock, QualityLimit, QualityThresholds, round_trip_time,
};
use common::{at, origin};

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
