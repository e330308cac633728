//! Extended reports (RFC 3611): the VoIP Metrics block (type 7) decoded, every other block
//! kept raw.

use super::{PT_XR, Reader, check_aligned, pad_to_word};
use crate::error::RtcpError;

/// Block type of the VoIP Metrics report block.
pub const XR_VOIP_METRICS: u8 = 7;
/// Block length (in 32-bit words after the block header) of a VoIP Metrics block.
const VOIP_METRICS_WORDS: u16 = 8;

/// An extended report (XR, packet type 207).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtendedReport {
    /// The reporter's SSRC.
    pub ssrc: u32,
    /// Report blocks, in order.
    pub blocks: Vec<XrBlock>,
}

/// One XR report block.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum XrBlock {
    /// VoIP Metrics (block type 7, RFC 3611 §4.7).
    VoipMetrics(VoipMetrics),
    /// Any other block, raw.
    Unknown {
        /// Block type.
        block_type: u8,
        /// The type-specific octet.
        type_specific: u8,
        /// Block contents after the 4-byte block header (a multiple of 4 bytes).
        data: Vec<u8>,
    },
}

/// The VoIP Metrics report block (RFC 3611 §4.7). Units are the RFC's: rates and densities
/// in 1/256, durations and delays in milliseconds, levels in dBm0 (signed), R factors
/// 0..=100 (127 = unavailable), MOS ×10 (127 = unavailable).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VoipMetrics {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction of packets lost (network), in 1/256.
    pub loss_rate: u8,
    /// Fraction of packets discarded (late or early), in 1/256.
    pub discard_rate: u8,
    /// Fraction lost or discarded within bursts, in 1/256.
    pub burst_density: u8,
    /// Fraction lost or discarded within gaps, in 1/256.
    pub gap_density: u8,
    /// Mean burst duration, ms.
    pub burst_duration: u16,
    /// Mean gap duration, ms.
    pub gap_duration: u16,
    /// Most recent round-trip delay, ms.
    pub round_trip_delay: u16,
    /// End-system delay, ms.
    pub end_system_delay: u16,
    /// Signal level, dBm0 (127 = unavailable).
    pub signal_level: i8,
    /// Noise level, dBm0 (127 = unavailable).
    pub noise_level: i8,
    /// Residual echo return loss, dB (127 = unavailable).
    pub rerl: u8,
    /// Gap threshold (gmin), usually 16.
    pub gmin: u8,
    /// Listening-quality R factor.
    pub r_factor: u8,
    /// External R factor.
    pub ext_r_factor: u8,
    /// Listening-quality MOS ×10.
    pub mos_lq: u8,
    /// Conversational-quality MOS ×10.
    pub mos_cq: u8,
    /// Receiver configuration byte (PLC, jitter-buffer adaptive/rate bits).
    pub rx_config: u8,
    /// Nominal jitter-buffer delay, ms.
    pub jb_nominal: u16,
    /// Current maximum jitter-buffer delay, ms.
    pub jb_maximum: u16,
    /// Absolute maximum jitter-buffer delay, ms.
    pub jb_abs_max: u16,
}

impl VoipMetrics {
    fn parse(data: &[u8]) -> Result<Self, RtcpError> {
        let mut r = Reader::new(data, PT_XR);
        let ssrc = r.u32()?;
        let [loss_rate, discard_rate, burst_density, gap_density] = r.u32()?.to_be_bytes();
        let burst_duration = r.u16()?;
        let gap_duration = r.u16()?;
        let round_trip_delay = r.u16()?;
        let end_system_delay = r.u16()?;
        let [signal, noise, rerl, gmin] = r.u32()?.to_be_bytes();
        let [r_factor, ext_r_factor, mos_lq, mos_cq] = r.u32()?.to_be_bytes();
        let rx_config = r.u8()?;
        let _reserved = r.u8()?;
        Ok(Self {
            ssrc,
            loss_rate,
            discard_rate,
            burst_density,
            gap_density,
            burst_duration,
            gap_duration,
            round_trip_delay,
            end_system_delay,
            signal_level: i8::from_be_bytes([signal]),
            noise_level: i8::from_be_bytes([noise]),
            rerl,
            gmin,
            r_factor,
            ext_r_factor,
            mos_lq,
            mos_cq,
            rx_config,
            jb_nominal: r.u16()?,
            jb_maximum: r.u16()?,
            jb_abs_max: r.u16()?,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[XR_VOIP_METRICS, 0]);
        out.extend_from_slice(&VOIP_METRICS_WORDS.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(&[
            self.loss_rate,
            self.discard_rate,
            self.burst_density,
            self.gap_density,
        ]);
        for v in [
            self.burst_duration,
            self.gap_duration,
            self.round_trip_delay,
        ] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.extend_from_slice(&self.end_system_delay.to_be_bytes());
        out.extend_from_slice(&[
            self.signal_level.to_be_bytes()[0],
            self.noise_level.to_be_bytes()[0],
            self.rerl,
            self.gmin,
            self.r_factor,
            self.ext_r_factor,
            self.mos_lq,
            self.mos_cq,
            self.rx_config,
            0,
        ]);
        for v in [self.jb_nominal, self.jb_maximum, self.jb_abs_max] {
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
}

impl ExtendedReport {
    pub(super) fn parse(body: &[u8]) -> Result<Self, RtcpError> {
        let mut r = Reader::new(body, PT_XR);
        let ssrc = r.u32()?;
        let mut blocks = Vec::new();
        while !r.remaining().is_empty() {
            let block_type = r.u8()?;
            let type_specific = r.u8()?;
            let words = r.u16()?;
            let data = r.take(4 * usize::from(words))?;
            let block = if block_type == XR_VOIP_METRICS && words == VOIP_METRICS_WORDS {
                XrBlock::VoipMetrics(VoipMetrics::parse(data)?)
            } else {
                XrBlock::Unknown {
                    block_type,
                    type_specific,
                    data: data.to_vec(),
                }
            };
            blocks.push(block);
        }
        Ok(Self { ssrc, blocks })
    }

    pub(super) fn write_body(&self, out: &mut Vec<u8>) -> u8 {
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        for block in &self.blocks {
            match block {
                XrBlock::VoipMetrics(m) => m.write(out),
                XrBlock::Unknown {
                    block_type,
                    type_specific,
                    data,
                } => {
                    let words = data.len().div_ceil(4).min(usize::from(u16::MAX));
                    let data = &data[..data.len().min(4 * words)];
                    out.extend_from_slice(&[*block_type, *type_specific]);
                    // Clamped to u16 above.
                    out.extend_from_slice(&(words as u16).to_be_bytes());
                    out.extend_from_slice(data);
                    pad_to_word(out);
                }
            }
        }
        // XR has no count; the field is reserved.
        0
    }

    pub(super) fn validate(&self) -> Result<(), RtcpError> {
        for block in &self.blocks {
            if let XrBlock::Unknown { data, .. } = block {
                check_aligned(PT_XR, data.len())?;
                if data.len() / 4 > usize::from(u16::MAX) {
                    return Err(RtcpError::TooLong {
                        packet_type: PT_XR,
                        what: "block",
                    });
                }
            }
        }
        Ok(())
    }
}
