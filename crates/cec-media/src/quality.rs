//! Per-leg call quality: RTT from RTCP LSR/DLSR, an E-model MOS, and threshold alerts. The
//! RFC 3550 reception statistics they are computed from (interarrival jitter, cumulative
//! and per-interval loss) are `cec_rtp::stats::ReceiverStats`, see
//! [`crate::leg::MediaLeg::stats`].

use std::time::{Duration, Instant};

use crate::emodel::{EModelInput, estimate_mos};

/// Maps `Instant`s onto the 64-bit NTP clock of RTCP sender reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NtpClock {
    /// A reference instant.
    pub origin: Instant,
    /// The NTP time (seconds since 1900 in the upper 32 bits) at `origin`.
    pub ntp_at_origin: u64,
}

impl NtpClock {
    /// The 64-bit NTP timestamp at `now`.
    pub fn ntp(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.origin);
        let fraction = (u64::from(elapsed.subsec_nanos()) << 32) / 1_000_000_000;
        self.ntp_at_origin
            .wrapping_add(elapsed.as_secs() << 32)
            .wrapping_add(fraction)
    }

    /// The middle 32 bits of the NTP time at `now` (the LSR / DLSR unit: 1/65536 s).
    pub fn compact(&self, now: Instant) -> u32 {
        (self.ntp(now) >> 16) as u32
    }
}

/// Round-trip time from a report block received at compact NTP time `arrival`
/// (RFC 3550 §6.4.1): `arrival - LSR - DLSR`; `None` without an SR echo or if negative.
pub fn round_trip_time(arrival: u32, lsr: u32, dlsr: u32) -> Option<Duration> {
    if lsr == 0 {
        return None;
    }
    let rtt = arrival.wrapping_sub(lsr).wrapping_sub(dlsr);
    if rtt > u32::MAX / 2 {
        return None;
    }
    Some(compact_to_duration(rtt))
}

/// A duration given in 1/65536 s units.
pub fn compact_to_duration(units: u32) -> Duration {
    Duration::from_nanos(u64::from(units) * 1_000_000_000 / 65_536)
}

/// A duration in 1/65536 s units (saturating).
pub fn duration_to_compact(duration: Duration) -> u32 {
    u32::try_from(duration.as_nanos() * 65_536 / 1_000_000_000).unwrap_or(u32::MAX)
}

/// Limits above which an interval raises an alert.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityThresholds {
    /// Loss in percent.
    pub max_loss_percent: f64,
    /// Interarrival jitter.
    pub max_jitter: Duration,
    /// One-way delay (RTT / 2).
    pub max_one_way_delay: Duration,
}

impl Default for QualityThresholds {
    /// 1 % loss, 60 ms jitter, 200 ms one-way delay.
    fn default() -> Self {
        Self {
            max_loss_percent: 1.0,
            max_jitter: Duration::from_millis(60),
            max_one_way_delay: Duration::from_millis(200),
        }
    }
}

/// Which limit an interval crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QualityLimit {
    /// Packet loss.
    Loss,
    /// Interarrival jitter.
    Jitter,
    /// One-way delay (RTT / 2).
    Delay,
}

/// A crossed limit with the measured value and the threshold (percent or milliseconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityAlert {
    /// Which limit.
    pub limit: QualityLimit,
    /// What was measured (percent for loss, ms otherwise).
    pub measured: f64,
    /// The threshold (same unit).
    pub threshold: f64,
}

/// Quality of one reporting interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntervalQuality {
    /// Loss in the interval, percent.
    pub loss_percent: f64,
    /// Interarrival jitter at the end of the interval.
    pub jitter: Duration,
    /// Latest round-trip time, if known.
    pub rtt: Option<Duration>,
    /// Estimated MOS (E-model, one-way delay = RTT / 2 + jitter-buffer delay).
    pub mos: f64,
}

impl IntervalQuality {
    /// Builds the interval's quality and its MOS estimate.
    pub fn new(
        loss_percent: f64,
        jitter: Duration,
        rtt: Option<Duration>,
        buffer_delay: Duration,
        plc: bool,
    ) -> Self {
        let one_way = rtt.map_or(Duration::ZERO, |r| r / 2) + buffer_delay;
        let mos = estimate_mos(EModelInput {
            one_way_delay_ms: one_way.as_secs_f64() * 1000.0,
            loss_percent,
            plc,
        });
        Self {
            loss_percent,
            jitter,
            rtt,
            mos,
        }
    }

    /// The limits this interval crossed (strictly above the threshold).
    pub fn alerts(&self, thresholds: &QualityThresholds) -> Vec<QualityAlert> {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let mut alerts = Vec::new();
        let mut check = |limit, measured: f64, threshold: f64| {
            if measured > threshold {
                alerts.push(QualityAlert {
                    limit,
                    measured,
                    threshold,
                });
            }
        };
        check(
            QualityLimit::Loss,
            self.loss_percent,
            thresholds.max_loss_percent,
        );
        check(
            QualityLimit::Jitter,
            ms(self.jitter),
            ms(thresholds.max_jitter),
        );
        if let Some(rtt) = self.rtt {
            check(
                QualityLimit::Delay,
                ms(rtt / 2),
                ms(thresholds.max_one_way_delay),
            );
        }
        alerts
    }
}
