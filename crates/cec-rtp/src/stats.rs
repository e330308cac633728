//! RTP reception and transmission statistics (RFC 3550 Appendix A.1, A.3, A.8) and the
//! report blocks built from them.

use std::time::{Duration, Instant};

use crate::rtcp::{ReportBlock, SenderReport, duration_to_compact, ntp_compact};

/// Sequential packets needed before a new source is believed (A.1).
const MIN_SEQUENTIAL: u32 = 2;
/// Largest forward jump treated as loss rather than a restart (A.1).
const MAX_DROPOUT: u32 = 3000;
/// Largest backward jump treated as reordering rather than a restart (A.1).
const MAX_MISORDER: u32 = 100;
const SEQ_MOD: u32 = 1 << 16;

/// What [`ReceiverStats::on_packet`] made of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SequenceCheck {
    /// Counted.
    Valid,
    /// The source is still on probation; not yet counted.
    Probation,
    /// A big jump: ignored unless the next packet confirms it (then the source restarts).
    Bad,
    /// The previous packet's jump was confirmed; statistics restarted from this packet.
    Restarted,
}

/// Per-source reception statistics.
#[derive(Debug, Clone)]
pub struct ReceiverStats {
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    last_transit: Option<u32>,
    // Jitter ×16, the integer form of A.8.
    jitter_scaled: u32,
    last_sr: Option<(u32, Instant)>,
}

impl ReceiverStats {
    /// Statistics for a new source whose first packet has sequence number `seq`. That
    /// packet must also be passed to [`on_packet`](Self::on_packet); like every packet of
    /// the probation (A.1: two in sequence) it is not counted.
    pub fn new(seq: u16) -> Self {
        let mut s = Self {
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: SEQ_MOD + 1,
            probation: 0,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            last_transit: None,
            jitter_scaled: 0,
            last_sr: None,
        };
        s.init_seq(seq);
        s.max_seq = seq.wrapping_sub(1);
        s.probation = MIN_SEQUENTIAL;
        s
    }

    /// Statistics for a source already trusted (no probation): every packet from `seq`
    /// on is counted.
    pub fn new_validated(seq: u16) -> Self {
        let mut s = Self::new(seq);
        s.probation = 0;
        // One step before `seq`, so the first packet is in sequence; when `seq` is 0 that
        // step crosses the wrap, which the next packet undoes.
        if seq == 0 {
            s.cycles = 0u32.wrapping_sub(SEQ_MOD);
        }
        s
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    /// Accounts one packet: sequence number, RTP timestamp and arrival time already
    /// converted to the RTP clock by the caller (any origin, wrapping).
    pub fn on_packet(&mut self, seq: u16, rtp_timestamp: u32, arrival: u32) -> SequenceCheck {
        let verdict = self.update_seq(seq);
        if matches!(verdict, SequenceCheck::Valid | SequenceCheck::Restarted) {
            self.update_jitter(rtp_timestamp, arrival);
        }
        verdict
    }

    // RFC 3550 A.1 update_seq.
    fn update_seq(&mut self, seq: u16) -> SequenceCheck {
        let udelta = u32::from(seq.wrapping_sub(self.max_seq));
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return SequenceCheck::Valid;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return SequenceCheck::Probation;
        }
        if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(SEQ_MOD);
            }
            self.max_seq = seq;
        } else if udelta <= SEQ_MOD - MAX_MISORDER {
            if u32::from(seq) == self.bad_seq {
                // Two sequential packets after a jump: the source restarted.
                self.init_seq(seq);
                self.last_transit = None;
                self.received += 1;
                return SequenceCheck::Restarted;
            }
            self.bad_seq = (u32::from(seq) + 1) & (SEQ_MOD - 1);
            return SequenceCheck::Bad;
        }
        // Duplicates and reordered packets count as received (A.3).
        self.received += 1;
        SequenceCheck::Valid
    }

    // RFC 3550 A.8, integer form.
    fn update_jitter(&mut self, rtp_timestamp: u32, arrival: u32) {
        let transit = arrival.wrapping_sub(rtp_timestamp);
        if let Some(last) = self.last_transit {
            let d = (transit.wrapping_sub(last) as i32).unsigned_abs();
            let jitter = i64::from(self.jitter_scaled);
            let updated = jitter + i64::from(d) - ((jitter + 8) >> 4);
            self.jitter_scaled = u32::try_from(updated.max(0)).unwrap_or(u32::MAX);
        }
        self.last_transit = Some(transit);
    }

    /// Records a sender report from this source: its NTP timestamp and when it arrived,
    /// for the LSR and DLSR of later report blocks.
    pub fn on_sender_report(&mut self, ntp_timestamp: u64, now: Instant) {
        self.last_sr = Some((ntp_compact(ntp_timestamp), now));
    }

    /// Extended highest sequence number received (cycles and sequence number).
    pub fn extended_highest_seq(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    /// Number of times the sequence number wrapped.
    pub fn cycles(&self) -> u32 {
        self.cycles >> 16
    }

    /// Whether the source is still on probation.
    pub fn on_probation(&self) -> bool {
        self.probation > 0
    }

    /// Packets expected: extended highest minus first plus one.
    pub fn expected(&self) -> u32 {
        if self.on_probation() {
            return 0;
        }
        self.extended_highest_seq()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    /// Packets received (duplicates included).
    pub fn received(&self) -> u32 {
        self.received
    }

    /// Cumulative packets lost (negative with duplicates).
    pub fn cumulative_lost(&self) -> i64 {
        i64::from(self.expected()) - i64::from(self.received)
    }

    /// Interarrival jitter in timestamp units.
    pub fn jitter(&self) -> u32 {
        self.jitter_scaled >> 4
    }

    /// Interarrival jitter in milliseconds for a `clock_rate` Hz clock.
    pub fn jitter_ms(&self, clock_rate: u32) -> f64 {
        if clock_rate == 0 {
            return 0.0;
        }
        f64::from(self.jitter_scaled) / 16.0 * 1000.0 / f64::from(clock_rate)
    }

    /// Interarrival jitter as a duration for a `clock_rate` Hz clock (zero for a zero
    /// rate).
    pub fn jitter_duration(&self, clock_rate: u32) -> Duration {
        let nanos = u64::from(self.jitter_scaled) * 1_000_000_000 / 16;
        nanos
            .checked_div(u64::from(clock_rate))
            .map_or(Duration::ZERO, Duration::from_nanos)
    }

    /// Loss since the previous call, and starts a new interval (A.3). Call it once per
    /// report: it is what [`report_block`](Self::report_block) uses for the fraction lost.
    pub fn take_interval(&mut self) -> IntervalLoss {
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.received_prior = self.received;
        let lost = expected_interval.saturating_sub(received_interval);
        let fraction_lost = if expected_interval == 0 {
            0
        } else {
            // lost <= expected_interval, so the result is at most 256; cap to 255.
            ((u64::from(lost) << 8) / u64::from(expected_interval)).min(255) as u8
        };
        IntervalLoss {
            expected: expected_interval,
            received: received_interval,
            lost,
            fraction_lost,
        }
    }

    /// Fraction lost (in 1/256) since the previous call, and starts a new interval (A.3).
    pub fn fraction_lost_since_last(&mut self) -> u8 {
        self.take_interval().fraction_lost
    }

    /// A report block for this source with the given LSR and DLSR; starts a new
    /// fraction-lost interval.
    pub fn report_block(&mut self, ssrc: u32, lsr: u32, dlsr: u32) -> ReportBlock {
        let interval = self.take_interval();
        self.block_for_interval(ssrc, &interval, lsr, dlsr)
    }

    /// A report block whose fraction lost is `interval`'s (from
    /// [`take_interval`](Self::take_interval)), for a caller that also needs the interval
    /// itself (e.g. for quality alerts).
    pub fn block_for_interval(
        &self,
        ssrc: u32,
        interval: &IntervalLoss,
        lsr: u32,
        dlsr: u32,
    ) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: interval.fraction_lost,
            // Clamped to the 24-bit field.
            cumulative_lost: self.cumulative_lost().clamp(-0x80_0000, 0x7F_FFFF) as i32,
            highest_seq: self.extended_highest_seq(),
            jitter: self.jitter(),
            lsr,
            dlsr,
        }
    }

    /// A report block whose LSR and DLSR come from the last
    /// [`on_sender_report`](Self::on_sender_report) (zero if none).
    pub fn report_block_at(&mut self, ssrc: u32, now: Instant) -> ReportBlock {
        let (lsr, dlsr) = match self.last_sr {
            Some((lsr, at)) => (lsr, duration_to_compact(now.saturating_duration_since(at))),
            None => (0, 0),
        };
        self.report_block(ssrc, lsr, dlsr)
    }
}

/// Loss over one reporting interval (RFC 3550 A.3), from
/// [`ReceiverStats::take_interval`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IntervalLoss {
    /// Packets expected in the interval.
    pub expected: u32,
    /// Packets received in the interval (duplicates included).
    pub received: u32,
    /// Packets lost in the interval (0 when duplicates outnumber losses).
    pub lost: u32,
    /// Lost fraction in 1/256 units, as in a report block.
    pub fraction_lost: u8,
}

impl IntervalLoss {
    /// The loss in percent of the packets expected (0 when none were expected).
    pub fn percent(&self) -> f64 {
        if self.expected == 0 {
            0.0
        } else {
            f64::from(self.lost) * 100.0 / f64::from(self.expected)
        }
    }
}

/// Counters of what we sent, for sender reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SenderStats {
    /// Packets sent (wrapping).
    pub packet_count: u32,
    /// Payload octets sent (wrapping; headers and padding excluded).
    pub octet_count: u32,
    /// RTP timestamp of the last packet sent.
    pub last_rtp_timestamp: Option<u32>,
}

impl SenderStats {
    /// Accounts one sent packet.
    pub fn on_sent(&mut self, payload_len: usize, rtp_timestamp: u32) {
        self.packet_count = self.packet_count.wrapping_add(1);
        // Wrapping is the RFC's behaviour for the 32-bit counters.
        self.octet_count = self.octet_count.wrapping_add(payload_len as u32);
        self.last_rtp_timestamp = Some(rtp_timestamp);
    }

    /// A sender report at NTP time `ntp_timestamp` whose RTP timestamp is
    /// `rtp_timestamp` (the caller maps wall clock to the media clock).
    pub fn sender_report(
        &self,
        ssrc: u32,
        ntp_timestamp: u64,
        rtp_timestamp: u32,
        reports: Vec<ReportBlock>,
    ) -> SenderReport {
        SenderReport {
            ssrc,
            ntp_timestamp,
            rtp_timestamp,
            packet_count: self.packet_count,
            octet_count: self.octet_count,
            reports,
            extension: Vec::new(),
        }
    }
}

/// Converts an elapsed time to RTP clock units (for the arrival argument of
/// [`ReceiverStats::on_packet`]), wrapping like an RTP timestamp.
pub fn to_rtp_units(elapsed: Duration, clock_rate: u32) -> u32 {
    let ticks = elapsed.as_nanos() * u128::from(clock_rate) / 1_000_000_000;
    // Wrap modulo 2^32 like any RTP clock.
    (ticks & 0xFFFF_FFFF) as u32
}

#[cfg(test)]
mod tests;
