//! Per-leg call quality: RFC 3550 reception statistics (interarrival jitter, cumulative
//! and per-interval loss), RTT from RTCP LSR/DLSR, an E-model MOS, and threshold alerts.

use std::time::{Duration, Instant};

use crate::emodel::{EModelInput, estimate_mos};
use crate::frame::SAMPLE_RATE;

/// A jump in sequence numbers this large means the source restarted (RFC 3550 A.1).
const MAX_DROPOUT: u16 = 3000;

/// RFC 3550 reception statistics of one incoming stream (8 kHz clock).
#[derive(Debug, Clone, Default)]
pub struct ReceptionStats {
    first_arrival: Option<Instant>,
    base_seq: u64,
    /// Extended highest sequence number (cycles in the upper bits).
    highest: u64,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    last_transit: Option<u32>,
    /// Interarrival jitter in timestamp units, scaled by 16 (RFC 3550 A.8).
    jitter_x16: u64,
}

/// Loss over one reporting interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IntervalLoss {
    /// Packets expected in the interval.
    pub expected: u64,
    /// Packets lost in the interval (0 when duplicates outnumber losses).
    pub lost: u64,
    /// Lost fraction in 1/256 units, as in an RTCP report block.
    pub fraction_lost: u8,
}

impl IntervalLoss {
    /// The loss in percent.
    pub fn percent(&self) -> f64 {
        if self.expected == 0 {
            0.0
        } else {
            self.lost as f64 * 100.0 / self.expected as f64
        }
    }
}

impl ReceptionStats {
    /// Empty statistics.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a packet that arrived at `now`.
    pub fn on_packet(&mut self, now: Instant, seq: u16, timestamp: u32) {
        let first = *self.first_arrival.get_or_insert(now);
        let arrival = rtp_units(now.saturating_duration_since(first));
        if self.received == 0 {
            self.base_seq = u64::from(seq);
            self.highest = u64::from(seq);
        } else {
            let delta = seq.wrapping_sub(self.highest as u16);
            if delta != 0 && delta < MAX_DROPOUT {
                self.highest += u64::from(delta);
            } else if delta != 0 && delta <= u16::MAX - MAX_DROPOUT {
                // A jump: the sender restarted its sequence; start counting afresh.
                self.base_seq = u64::from(seq);
                self.highest = u64::from(seq);
                self.received = 0;
                self.expected_prior = 0;
                self.received_prior = 0;
            }
        }
        self.received += 1;
        // Transit time difference in timestamp units; wrapping arithmetic handles the
        // 32-bit timestamp wrap.
        let transit = arrival.wrapping_sub(timestamp);
        if let Some(last) = self.last_transit {
            let d = u64::from((transit.wrapping_sub(last) as i32).unsigned_abs());
            // J += (|D| - J) / 16, kept scaled by 16 to stay in integers.
            self.jitter_x16 = self.jitter_x16 + d - (self.jitter_x16 + 8) / 16;
        }
        self.last_transit = Some(transit);
    }

    /// Packets received (duplicates included, as RFC 3550 counts them).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Packets expected from the sequence numbers seen.
    pub fn expected(&self) -> u64 {
        if self.received == 0 {
            0
        } else {
            self.highest - self.base_seq + 1
        }
    }

    /// Cumulative packets lost (negative when duplicates outnumber losses).
    pub fn cumulative_lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// Extended highest sequence number, as in an RTCP report block.
    pub fn extended_highest(&self) -> u32 {
        self.highest as u32
    }

    /// Interarrival jitter in timestamp units (as in an RTCP report block).
    pub fn jitter_units(&self) -> u32 {
        u32::try_from(self.jitter_x16 / 16).unwrap_or(u32::MAX)
    }

    /// Interarrival jitter as a duration.
    pub fn jitter(&self) -> Duration {
        Duration::from_micros(u64::from(self.jitter_units()) * 1_000_000 / u64::from(SAMPLE_RATE))
    }

    /// Loss since the previous call (RFC 3550 A.3), starting a new interval.
    pub fn take_interval(&mut self) -> IntervalLoss {
        let expected = self.expected();
        let expected_interval = expected.saturating_sub(self.expected_prior);
        let received_interval = self.received.saturating_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost = expected_interval.saturating_sub(received_interval);
        let fraction = (lost * 256)
            .checked_div(expected_interval)
            .map_or(0, |f| f.min(255));
        IntervalLoss {
            expected: expected_interval,
            lost,
            fraction_lost: fraction as u8,
        }
    }
}

fn rtp_units(elapsed: Duration) -> u32 {
    // Only differences matter, so wrapping to 32 bits is harmless.
    (elapsed.as_nanos() * u128::from(SAMPLE_RATE) / 1_000_000_000) as u32
}

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
