//! The leg's RTCP: periodic SR/RR with SDES CNAME, RTT from the peer's report blocks, and
//! the per-interval quality evaluation.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cec_rtp::rtcp::{
    ReceiverReport, ReportBlock, RtcpPacket, SourceDescription, parse_compound, write_compound,
};
use cec_rtp::stats::{IntervalLoss, SenderStats};

use super::{Channel, DropReason, LegEvent, MediaLeg, Received};
use crate::frame::SAMPLE_RATE;
use crate::quality::{IntervalQuality, duration_to_compact, round_trip_time};

/// RTCP bookkeeping of one leg.
#[derive(Debug, Clone)]
pub(super) struct RtcpState {
    pub(super) next_report: Instant,
    pub(super) rtt: Option<Duration>,
    sent: SenderStats,
    sent_since_report: bool,
    /// Compact NTP time of the peer's last SR, and when it arrived.
    last_sr: Option<(u32, Instant)>,
}

impl RtcpState {
    pub(super) fn new(next_report: Instant) -> Self {
        Self {
            next_report,
            rtt: None,
            sent: SenderStats::default(),
            sent_since_report: false,
            last_sr: None,
        }
    }

    pub(super) fn count_sent(&mut self, payload_octets: usize, rtp_timestamp: u32) {
        self.sent.on_sent(payload_octets, rtp_timestamp);
        self.sent_since_report = true;
    }
}

impl MediaLeg {
    /// Handles a datagram received on the RTCP port.
    pub fn handle_rtcp<'d>(
        &mut self,
        now: Instant,
        from: SocketAddr,
        data: &'d [u8],
    ) -> Received<'d> {
        let Ok(packets) = parse_compound(data) else {
            return Received::Dropped(DropReason::Malformed);
        };
        if self.rtcp_latched && Some(from) != self.remote_rtcp {
            return Received::Dropped(DropReason::WrongSource);
        }
        if self.config.latching && !self.rtcp_latched {
            self.rtcp_latched = true;
            self.remote_rtcp = Some(from);
        }
        let arrival = self.config.ntp.compact(now);
        let ours = self.outbound.ssrc();
        for packet in &packets {
            let blocks = match packet {
                RtcpPacket::SenderReport(sr) => {
                    // LSR is the middle 32 bits of the SR's NTP timestamp.
                    self.rtcp.last_sr = Some(((sr.ntp_timestamp >> 16) as u32, now));
                    sr.reports.as_slice()
                }
                RtcpPacket::ReceiverReport(rr) => rr.reports.as_slice(),
                RtcpPacket::Bye(_) => {
                    self.events.push_back(LegEvent::RemoteBye);
                    continue;
                }
                _ => continue,
            };
            for block in blocks.iter().filter(|b| b.ssrc == ours) {
                if let Some(rtt) = round_trip_time(arrival, block.lsr, block.dlsr) {
                    self.rtcp.rtt = Some(rtt);
                }
            }
        }
        Received::Rtcp
    }

    /// Builds and queues our report, then evaluates the interval's quality.
    pub(super) fn send_report(&mut self, now: Instant) {
        let interval = self
            .stats
            .as_mut()
            .map(|stats| stats.take_interval())
            .unwrap_or_default();
        let (lsr, dlsr) = self.rtcp.last_sr.map_or((0, 0), |(lsr, at)| {
            (lsr, duration_to_compact(now.saturating_duration_since(at)))
        });
        let block = self
            .remote_ssrc
            .zip(self.stats.as_ref())
            .map(|(ssrc, stats)| stats.block_for_interval(ssrc, &interval, lsr, dlsr));
        let ssrc = self.outbound.ssrc();
        let reports: Vec<ReportBlock> = block.into_iter().collect();
        let report = if self.rtcp.sent_since_report {
            let rtp_timestamp = self.outbound.timestamp_at(now);
            RtcpPacket::SenderReport(self.rtcp.sent.sender_report(
                ssrc,
                self.config.ntp.ntp(now),
                rtp_timestamp,
                reports,
            ))
        } else {
            RtcpPacket::ReceiverReport(ReceiverReport {
                ssrc,
                reports,
                extension: Vec::new(),
            })
        };
        self.rtcp.sent_since_report = false;
        let sdes =
            RtcpPacket::SourceDescription(SourceDescription::cname(ssrc, &self.config.cname));
        let mut bytes = Vec::new();
        write_compound(&[report, sdes], &mut bytes);
        if let Some(to) = self.remote_rtcp {
            self.queue.push_with(Channel::Rtcp, to, |buf| {
                buf.get_mut(..bytes.len())?.copy_from_slice(&bytes);
                Some(bytes.len())
            });
        }
        self.evaluate_quality(&interval);
    }

    /// Raises the interval's quality and any crossed limits; only an interval in which
    /// media was expected means something.
    fn evaluate_quality(&mut self, interval: &IntervalLoss) {
        if interval.expected > 0 {
            let jitter = self
                .stats
                .as_ref()
                .map(|stats| stats.jitter_duration(SAMPLE_RATE))
                .unwrap_or_default();
            let quality = IntervalQuality::new(
                interval.percent(),
                jitter,
                self.rtcp.rtt,
                self.config.playout_delay,
                self.config.plc,
            );
            for alert in quality.alerts(&self.config.thresholds) {
                self.events.push_back(LegEvent::QualityAlert(alert));
            }
            self.events.push_back(LegEvent::Quality(quality));
        }
    }
}
