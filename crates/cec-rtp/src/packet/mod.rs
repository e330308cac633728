//! RTP packets (RFC 3550 §5.1): a zero-copy parser, a builder and in-place header rewrites
//! for the relay path.
//!
//! ```text
//!  0                   1                   2                   3
//! |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//! |                           timestamp                           |
//! |           synchronization source (SSRC) identifier            |
//! |            contributing source (CSRC) identifiers ...         |
//! | [profile-defined 16 bits]     | [extension length in words]   |
//! | [extension data ...]  payload ...  [padding ... | count]      |
//! ```

mod extension;
mod header;

pub use extension::{
    Extension, ExtensionElement, ExtensionElements, ONE_BYTE_PROFILE, TWO_BYTE_PROFILE_MASK,
    TWO_BYTE_PROFILE_VALUE, build_one_byte_extension, build_two_byte_extension,
};
pub use header::RtpHeader;

use crate::error::RtpError;

/// The only RTP version in use (RFC 3550).
pub const RTP_VERSION: u8 = 2;
/// Length of the fixed RTP header (without CSRCs or extension).
pub const FIXED_HEADER_LEN: usize = 12;
/// Maximum number of CSRCs (4-bit CC field).
pub const MAX_CSRCS: usize = 15;

/// A parsed RTP packet borrowing the datagram it came from (no allocation, no copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    buf: &'a [u8],
    header_len: usize,
    extension: Option<Extension<'a>>,
    payload: &'a [u8],
    padding_len: usize,
}

impl<'a> RtpPacket<'a> {
    /// Parses and validates one RTP packet: version 2, CSRC list, extension and padding
    /// all inside the buffer, padding count non-zero.
    pub fn parse(buf: &'a [u8]) -> Result<Self, RtpError> {
        let fixed = buf.get(..FIXED_HEADER_LEN).ok_or(RtpError::TooShort {
            needed: FIXED_HEADER_LEN,
            actual: buf.len(),
        })?;
        let first = fixed[0];
        let version = first >> 6;
        if version != RTP_VERSION {
            return Err(RtpError::BadVersion(version));
        }
        let csrc_count = usize::from(first & 0x0F);
        let mut header_len = FIXED_HEADER_LEN + 4 * csrc_count;
        if buf.len() < header_len {
            return Err(RtpError::TooShort {
                needed: header_len,
                actual: buf.len(),
            });
        }
        let mut extension = None;
        if first & 0x10 != 0 {
            let ext_header = buf
                .get(header_len..header_len + 4)
                .ok_or(RtpError::TooShort {
                    needed: header_len + 4,
                    actual: buf.len(),
                })?;
            let profile = u16::from_be_bytes([ext_header[0], ext_header[1]]);
            let words = usize::from(u16::from_be_bytes([ext_header[2], ext_header[3]]));
            let data_start = header_len + 4;
            let data_end = data_start + 4 * words;
            let data = buf.get(data_start..data_end).ok_or(RtpError::TooShort {
                needed: data_end,
                actual: buf.len(),
            })?;
            extension = Some(Extension::new(profile, data));
            header_len = data_end;
        }
        let mut padding_len = 0;
        if first & 0x20 != 0 {
            // The last octet counts the padding including itself (RFC 3550 §5.1).
            let count = buf.last().copied().unwrap_or(0);
            if count == 0 || usize::from(count) > buf.len() - header_len {
                return Err(RtpError::BadPadding(count));
            }
            padding_len = usize::from(count);
        }
        let payload = buf.get(header_len..buf.len() - padding_len).unwrap_or(&[]);
        Ok(Self {
            buf,
            header_len,
            extension,
            payload,
            padding_len,
        })
    }

    /// The version field (always 2 for a parsed packet).
    pub fn version(&self) -> u8 {
        self.first_byte() >> 6
    }

    /// Whether the P bit is set.
    pub fn padding(&self) -> bool {
        self.first_byte() & 0x20 != 0
    }

    /// Whether the X bit is set.
    pub fn has_extension(&self) -> bool {
        self.extension.is_some()
    }

    /// The M bit.
    pub fn marker(&self) -> bool {
        self.second_byte() & 0x80 != 0
    }

    /// The 7-bit payload type.
    pub fn payload_type(&self) -> u8 {
        self.second_byte() & 0x7F
    }

    /// The sequence number.
    pub fn sequence(&self) -> u16 {
        u16::from_be_bytes([self.byte(2), self.byte(3)])
    }

    /// The RTP timestamp.
    pub fn timestamp(&self) -> u32 {
        self.word(4)
    }

    /// The synchronisation source.
    pub fn ssrc(&self) -> u32 {
        self.word(8)
    }

    /// Number of CSRCs (the CC field).
    pub fn csrc_count(&self) -> usize {
        usize::from(self.first_byte() & 0x0F)
    }

    /// The contributing sources, in order.
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + 'a {
        let end = FIXED_HEADER_LEN + 4 * self.csrc_count();
        self.buf
            .get(FIXED_HEADER_LEN..end)
            .unwrap_or(&[])
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }

    /// The header extension, if the X bit is set.
    pub fn extension(&self) -> Option<Extension<'a>> {
        self.extension
    }

    /// The payload, without header, extension or padding.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// Number of padding octets at the end (0 when P is clear).
    pub fn padding_len(&self) -> usize {
        self.padding_len
    }

    /// Length of the header including CSRCs and extension.
    pub fn header_len(&self) -> usize {
        self.header_len
    }

    /// The whole packet as received.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.buf
    }

    fn byte(&self, index: usize) -> u8 {
        self.buf.get(index).copied().unwrap_or(0)
    }

    fn first_byte(&self) -> u8 {
        self.byte(0)
    }

    fn second_byte(&self) -> u8 {
        self.byte(1)
    }

    fn word(&self, at: usize) -> u32 {
        u32::from_be_bytes([
            self.byte(at),
            self.byte(at + 1),
            self.byte(at + 2),
            self.byte(at + 3),
        ])
    }
}

/// Rewrites sequence, timestamp and SSRC (and optionally payload type and marker) of the
/// RTP packet in `buf`, in place, without allocating. The buffer must hold a valid packet.
pub fn rewrite_header(
    buf: &mut [u8],
    seq: u16,
    timestamp: u32,
    ssrc: u32,
    payload_type: Option<u8>,
    marker: Option<bool>,
) -> Result<(), RtpError> {
    RtpPacket::parse(buf)?;
    if let Some(pt) = payload_type
        && pt > 0x7F
    {
        return Err(RtpError::BadPayloadType(pt));
    }
    let Some(header) = buf.get_mut(..FIXED_HEADER_LEN) else {
        return Err(RtpError::TooShort {
            needed: FIXED_HEADER_LEN,
            actual: 0,
        });
    };
    let mut second = header[1];
    if let Some(pt) = payload_type {
        second = (second & 0x80) | pt;
    }
    if let Some(m) = marker {
        second = (second & 0x7F) | if m { 0x80 } else { 0 };
    }
    header[1] = second;
    header[2..4].copy_from_slice(&seq.to_be_bytes());
    header[4..8].copy_from_slice(&timestamp.to_be_bytes());
    header[8..12].copy_from_slice(&ssrc.to_be_bytes());
    Ok(())
}

/// RFC 5761 §4 demultiplexing: `true` when the datagram looks like RTCP (version 2 and a
/// second octet whose low 7 bits are 64..=95, i.e. RTCP packet types 192..=223), `false`
/// for RTP or anything too short.
pub fn is_rtcp(buf: &[u8]) -> bool {
    match buf {
        [first, second, ..] => first >> 6 == RTP_VERSION && (64..=95).contains(&(second & 0x7F)),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
