//! RTCP (RFC 3550 §6) compound packets: SR, RR, SDES, BYE, APP and RFC 3611 XR, with any
//! other packet type kept raw.
//!
//! [`parse_compound`] accepts any sequence of version-2 packets whose length fields tile the
//! buffer exactly (it does not insist on SR/RR first, so RFC 5506 reduced-size RTCP parses
//! too). Padding (a whole number of words) is accepted on any packet and stripped. [`write_compound`] never fails:
//! it clamps lists and strings to what the fields can carry; [`try_write_compound`] reports
//! those cases as errors instead.

mod ntp;
mod report;
mod sdes;
mod xr;

pub use ntp::{
    NTP_UNIX_OFFSET_SECS, compact_to_duration, duration_to_compact, ntp_compact, ntp_from_duration,
    ntp_from_unix, ntp_to_duration, round_trip_time,
};
pub use report::{ReceiverReport, ReportBlock, SenderReport};
pub use sdes::{App, Bye, SdesChunk, SdesItem, SdesType, SourceDescription};
pub use xr::{ExtendedReport, VoipMetrics, XR_VOIP_METRICS, XrBlock};

use crate::error::RtcpError;

/// Packet type of a sender report.
pub const PT_SR: u8 = 200;
/// Packet type of a receiver report.
pub const PT_RR: u8 = 201;
/// Packet type of a source description.
pub const PT_SDES: u8 = 202;
/// Packet type of a goodbye.
pub const PT_BYE: u8 = 203;
/// Packet type of an application-defined packet.
pub const PT_APP: u8 = 204;
/// Packet type of an extended report (RFC 3611).
pub const PT_XR: u8 = 207;

/// The largest value of the 5-bit count field.
pub(crate) const MAX_COUNT: usize = 31;

/// One packet of a compound RTCP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RtcpPacket {
    /// SR (200).
    SenderReport(SenderReport),
    /// RR (201).
    ReceiverReport(ReceiverReport),
    /// SDES (202).
    SourceDescription(SourceDescription),
    /// BYE (203).
    Bye(Bye),
    /// APP (204).
    App(App),
    /// XR (207).
    ExtendedReport(ExtendedReport),
    /// Any other packet type, kept raw (body after the 4-byte header, padding removed).
    Unknown {
        /// Packet type.
        packet_type: u8,
        /// The 5-bit count/format field.
        count: u8,
        /// Body after the common header; a multiple of 4 bytes.
        payload: Vec<u8>,
    },
}

impl RtcpPacket {
    /// The RTCP packet type of this packet.
    pub fn packet_type(&self) -> u8 {
        match self {
            Self::SenderReport(_) => PT_SR,
            Self::ReceiverReport(_) => PT_RR,
            Self::SourceDescription(_) => PT_SDES,
            Self::Bye(_) => PT_BYE,
            Self::App(_) => PT_APP,
            Self::ExtendedReport(_) => PT_XR,
            Self::Unknown { packet_type, .. } => *packet_type,
        }
    }

    /// Checks that every list, string and data block fits its wire field.
    pub fn validate(&self) -> Result<(), RtcpError> {
        match self {
            Self::SenderReport(sr) => report::validate_blocks(PT_SR, &sr.reports, &sr.extension),
            Self::ReceiverReport(rr) => report::validate_blocks(PT_RR, &rr.reports, &rr.extension),
            Self::SourceDescription(sdes) => sdes.validate(),
            Self::Bye(bye) => bye.validate(),
            Self::App(app) => app.validate(),
            Self::ExtendedReport(xr) => xr.validate(),
            Self::Unknown {
                packet_type,
                count,
                payload,
            } => {
                if usize::from(*count) > MAX_COUNT {
                    return Err(RtcpError::TooLong {
                        packet_type: *packet_type,
                        what: "count",
                    });
                }
                check_aligned(*packet_type, payload.len())
            }
        }
    }
}

/// Parses a compound RTCP packet.
pub fn parse_compound(buf: &[u8]) -> Result<Vec<RtcpPacket>, RtcpError> {
    if buf.is_empty() {
        return Err(RtcpError::Empty);
    }
    let mut packets = Vec::new();
    let mut rest = buf;
    while !rest.is_empty() {
        let [first, packet_type, len_hi, len_lo, ..] = *rest else {
            return Err(RtcpError::BadLength {
                packet_type: rest.get(1).copied().unwrap_or(0),
            });
        };
        let version = first >> 6;
        if version != 2 {
            return Err(RtcpError::BadVersion(version));
        }
        let total = 4 * (usize::from(u16::from_be_bytes([len_hi, len_lo])) + 1);
        let packet = rest
            .get(..total)
            .ok_or(RtcpError::BadLength { packet_type })?;
        rest = &rest[total..];
        let mut body = &packet[4..];
        if first & 0x20 != 0 {
            let pad = usize::from(body.last().copied().unwrap_or(0));
            // RTCP content is made of 32-bit words, so padding is too.
            if pad == 0 || pad > body.len() || !pad.is_multiple_of(4) {
                return Err(RtcpError::BadPadding { packet_type });
            }
            body = &body[..body.len() - pad];
        }
        let count = first & 0x1F;
        packets.push(parse_one(packet_type, count, body)?);
    }
    Ok(packets)
}

fn parse_one(packet_type: u8, count: u8, body: &[u8]) -> Result<RtcpPacket, RtcpError> {
    let count = usize::from(count);
    Ok(match packet_type {
        PT_SR => RtcpPacket::SenderReport(SenderReport::parse(count, body)?),
        PT_RR => RtcpPacket::ReceiverReport(ReceiverReport::parse(count, body)?),
        PT_SDES => RtcpPacket::SourceDescription(SourceDescription::parse(count, body)?),
        PT_BYE => RtcpPacket::Bye(Bye::parse(count, body)?),
        PT_APP => RtcpPacket::App(App::parse(count, body)?),
        PT_XR => RtcpPacket::ExtendedReport(ExtendedReport::parse(body)?),
        _ => RtcpPacket::Unknown {
            packet_type,
            // Masked to 5 bits by the caller.
            count: count as u8,
            payload: body.to_vec(),
        },
    })
}

/// Appends the compound packet to `out`. Never fails: lists longer than 31 entries and
/// strings longer than 255 bytes are truncated, and data blocks that must be a multiple of
/// 4 bytes are zero-padded. Use [`try_write_compound`] to be told instead.
pub fn write_compound(packets: &[RtcpPacket], out: &mut Vec<u8>) {
    for packet in packets {
        write_packet(packet, out);
    }
}

/// Like [`write_compound`] but refuses packets that would have to be clamped; on error
/// `out` is left as it was.
pub fn try_write_compound(packets: &[RtcpPacket], out: &mut Vec<u8>) -> Result<(), RtcpError> {
    for packet in packets {
        packet.validate()?;
    }
    let start = out.len();
    for packet in packets {
        if !write_packet(packet, out) {
            out.truncate(start);
            return Err(RtcpError::TooLong {
                packet_type: packet.packet_type(),
                what: "packet",
            });
        }
    }
    Ok(())
}

/// Writes one packet; returns `false` when it had to be cut to the 16-bit length field.
fn write_packet(packet: &RtcpPacket, out: &mut Vec<u8>) -> bool {
    let start = out.len();
    out.extend_from_slice(&[0x80, packet.packet_type(), 0, 0]);
    let count = match packet {
        RtcpPacket::SenderReport(sr) => sr.write_body(out),
        RtcpPacket::ReceiverReport(rr) => rr.write_body(out),
        RtcpPacket::SourceDescription(sdes) => sdes.write_body(out),
        RtcpPacket::Bye(bye) => bye.write_body(out),
        RtcpPacket::App(app) => app.write_body(out),
        RtcpPacket::ExtendedReport(xr) => xr.write_body(out),
        RtcpPacket::Unknown { count, payload, .. } => {
            out.extend_from_slice(payload);
            pad_to_word(out);
            *count
        }
    };
    let words = (out.len() - start) / 4 - 1;
    let fits = words <= usize::from(u16::MAX);
    // The length field is 16 bits; a longer packet cannot be expressed, so cut it.
    let words = words.min(usize::from(u16::MAX));
    out.truncate(start + 4 * (words + 1));
    out[start] = 0x80 | (count & 0x1F);
    out[start + 2..start + 4].copy_from_slice(&(words as u16).to_be_bytes());
    fits
}

pub(crate) fn check_aligned(packet_type: u8, len: usize) -> Result<(), RtcpError> {
    if len.is_multiple_of(4) {
        Ok(())
    } else {
        Err(RtcpError::Unaligned { packet_type, len })
    }
}

pub(crate) fn pad_to_word(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// Big-endian reader over a packet body; every read is bounds-checked.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    packet_type: u8,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8], packet_type: u8) -> Self {
        Self { buf, packet_type }
    }

    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.buf
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], RtcpError> {
        if n > self.buf.len() {
            return Err(RtcpError::Truncated {
                packet_type: self.packet_type,
            });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, RtcpError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, RtcpError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, RtcpError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, RtcpError> {
        Ok((u64::from(self.u32()?) << 32) | u64::from(self.u32()?))
    }
}

#[cfg(test)]
mod tests;
