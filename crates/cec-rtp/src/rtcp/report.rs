//! Sender and receiver reports (RFC 3550 §6.4) and their report blocks.

use super::{MAX_COUNT, PT_RR, PT_SR, Reader, check_aligned, pad_to_word};
use crate::error::RtcpError;

/// Smallest and largest values of the 24-bit signed cumulative-loss field.
const CUMULATIVE_LOST_MIN: i32 = -0x80_0000;
const CUMULATIVE_LOST_MAX: i32 = 0x7F_FFFF;

/// One reception report block (24 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative number of packets lost, a 24-bit signed value (clamped when written).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the last SR's NTP timestamp (0 if none).
    pub lsr: u32,
    /// Delay since the last SR in 1/65536 s (0 if none).
    pub dlsr: u32,
}

impl ReportBlock {
    /// Wire length of a report block.
    pub const LEN: usize = 24;

    fn parse(r: &mut Reader<'_>) -> Result<Self, RtcpError> {
        let ssrc = r.u32()?;
        let loss = r.u32()?;
        // Sign-extend the low 24 bits.
        let cumulative_lost = ((loss << 8) as i32) >> 8;
        Ok(Self {
            ssrc,
            fraction_lost: (loss >> 24) as u8,
            cumulative_lost,
            highest_seq: r.u32()?,
            jitter: r.u32()?,
            lsr: r.u32()?,
            dlsr: r.u32()?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        let lost = self
            .cumulative_lost
            .clamp(CUMULATIVE_LOST_MIN, CUMULATIVE_LOST_MAX);
        let loss = (u32::from(self.fraction_lost) << 24) | (lost as u32 & 0x00FF_FFFF);
        for word in [
            self.ssrc,
            loss,
            self.highest_seq,
            self.jitter,
            self.lsr,
            self.dlsr,
        ] {
            out.extend_from_slice(&word.to_be_bytes());
        }
    }
}

/// A sender report (SR, packet type 200).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SenderReport {
    /// The sender's SSRC.
    pub ssrc: u32,
    /// 64-bit NTP timestamp of this report.
    pub ntp_timestamp: u64,
    /// RTP timestamp corresponding to `ntp_timestamp`.
    pub rtp_timestamp: u32,
    /// Packets sent since the start of transmission.
    pub packet_count: u32,
    /// Payload octets sent since the start of transmission.
    pub octet_count: u32,
    /// Reception report blocks (at most 31).
    pub reports: Vec<ReportBlock>,
    /// Profile-specific extension (a multiple of 4 bytes), usually empty.
    pub extension: Vec<u8>,
}

impl SenderReport {
    pub(super) fn parse(count: usize, body: &[u8]) -> Result<Self, RtcpError> {
        let mut r = Reader::new(body, PT_SR);
        let ssrc = r.u32()?;
        let ntp_timestamp = r.u64()?;
        let rtp_timestamp = r.u32()?;
        let packet_count = r.u32()?;
        let octet_count = r.u32()?;
        let reports = parse_blocks(&mut r, count)?;
        Ok(Self {
            ssrc,
            ntp_timestamp,
            rtp_timestamp,
            packet_count,
            octet_count,
            reports,
            extension: r.remaining().to_vec(),
        })
    }

    pub(super) fn write_body(&self, out: &mut Vec<u8>) -> u8 {
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(&self.ntp_timestamp.to_be_bytes());
        for word in [self.rtp_timestamp, self.packet_count, self.octet_count] {
            out.extend_from_slice(&word.to_be_bytes());
        }
        write_blocks(&self.reports, &self.extension, out)
    }
}

/// A receiver report (RR, packet type 201).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiverReport {
    /// The reporter's SSRC.
    pub ssrc: u32,
    /// Reception report blocks (at most 31).
    pub reports: Vec<ReportBlock>,
    /// Profile-specific extension (a multiple of 4 bytes), usually empty.
    pub extension: Vec<u8>,
}

impl ReceiverReport {
    pub(super) fn parse(count: usize, body: &[u8]) -> Result<Self, RtcpError> {
        let mut r = Reader::new(body, PT_RR);
        let ssrc = r.u32()?;
        let reports = parse_blocks(&mut r, count)?;
        Ok(Self {
            ssrc,
            reports,
            extension: r.remaining().to_vec(),
        })
    }

    pub(super) fn write_body(&self, out: &mut Vec<u8>) -> u8 {
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        write_blocks(&self.reports, &self.extension, out)
    }
}

fn parse_blocks(r: &mut Reader<'_>, count: usize) -> Result<Vec<ReportBlock>, RtcpError> {
    (0..count).map(|_| ReportBlock::parse(r)).collect()
}

fn write_blocks(reports: &[ReportBlock], extension: &[u8], out: &mut Vec<u8>) -> u8 {
    let reports = &reports[..reports.len().min(MAX_COUNT)];
    for block in reports {
        block.write(out);
    }
    out.extend_from_slice(extension);
    pad_to_word(out);
    // At most 31.
    reports.len() as u8
}

pub(super) fn validate_blocks(
    packet_type: u8,
    reports: &[ReportBlock],
    extension: &[u8],
) -> Result<(), RtcpError> {
    if reports.len() > MAX_COUNT {
        return Err(RtcpError::TooLong {
            packet_type,
            what: "report blocks",
        });
    }
    let in_range =
        |b: &ReportBlock| (CUMULATIVE_LOST_MIN..=CUMULATIVE_LOST_MAX).contains(&b.cumulative_lost);
    if !reports.iter().all(in_range) {
        return Err(RtcpError::TooLong {
            packet_type,
            what: "cumulative lost",
        });
    }
    check_aligned(packet_type, extension.len())
}
