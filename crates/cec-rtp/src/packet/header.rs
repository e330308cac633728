//! [`RtpHeader`]: the owned header used to build packets.

use super::{FIXED_HEADER_LEN, MAX_CSRCS, RTP_VERSION, RtpPacket};
use crate::error::RtpError;

/// An RTP header to write in front of a payload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RtpHeader {
    /// The M bit.
    pub marker: bool,
    /// Payload type, 0..=127.
    pub payload_type: u8,
    /// Sequence number.
    pub sequence: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Synchronisation source.
    pub ssrc: u32,
    /// Contributing sources, at most 15.
    pub csrcs: Vec<u32>,
    /// Header extension: profile field and data (a multiple of 4 bytes).
    pub extension: Option<(u16, Vec<u8>)>,
    /// Number of padding octets to append (0 = no padding, P bit clear).
    pub padding: u8,
}

impl RtpHeader {
    /// Copies the header fields of a parsed packet.
    pub fn from_packet(packet: &RtpPacket<'_>) -> Self {
        Self {
            marker: packet.marker(),
            payload_type: packet.payload_type(),
            sequence: packet.sequence(),
            timestamp: packet.timestamp(),
            ssrc: packet.ssrc(),
            csrcs: packet.csrcs().collect(),
            extension: packet.extension().map(|e| (e.profile(), e.data().to_vec())),
            // Truncation impossible: the padding count came from one octet.
            padding: u8::try_from(packet.padding_len()).unwrap_or(u8::MAX),
        }
    }

    /// Length of the header in bytes (fixed part, CSRCs and extension).
    #[expect(clippy::len_without_is_empty, reason = "a header is never empty")]
    pub fn len(&self) -> usize {
        FIXED_HEADER_LEN
            + 4 * self.csrcs.len()
            + self
                .extension
                .as_ref()
                .map_or(0, |(_, data)| 4 + data.len())
    }

    /// Length of the whole packet for a payload of `payload_len` bytes.
    pub fn packet_len(&self, payload_len: usize) -> usize {
        self.len() + payload_len + usize::from(self.padding)
    }

    /// Writes header, payload and padding into `out` and returns the packet length.
    /// Does not allocate.
    pub fn write(&self, payload: &[u8], out: &mut [u8]) -> Result<usize, RtpError> {
        if self.payload_type > 0x7F {
            return Err(RtpError::BadPayloadType(self.payload_type));
        }
        if self.csrcs.len() > MAX_CSRCS {
            return Err(RtpError::TooManyCsrcs(self.csrcs.len()));
        }
        let ext_words = match &self.extension {
            Some((_, data)) => {
                let words = data.len() / 4;
                if !data.len().is_multiple_of(4) || words > usize::from(u16::MAX) {
                    return Err(RtpError::BadExtensionLength(data.len()));
                }
                Some(words as u16)
            }
            None => None,
        };
        let total = self.packet_len(payload.len());
        let actual = out.len();
        let out = out.get_mut(..total).ok_or(RtpError::BufferTooSmall {
            needed: total,
            actual,
        })?;

        let mut first = RTP_VERSION << 6;
        if self.padding > 0 {
            first |= 0x20;
        }
        if ext_words.is_some() {
            first |= 0x10;
        }
        // Checked above: at most 15.
        first |= self.csrcs.len() as u8;
        out[0] = first;
        out[1] = self.payload_type | if self.marker { 0x80 } else { 0 };
        out[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        out[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        out[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        let mut at = FIXED_HEADER_LEN;
        for csrc in &self.csrcs {
            out[at..at + 4].copy_from_slice(&csrc.to_be_bytes());
            at += 4;
        }
        if let (Some((profile, data)), Some(words)) = (&self.extension, ext_words) {
            out[at..at + 2].copy_from_slice(&profile.to_be_bytes());
            out[at + 2..at + 4].copy_from_slice(&words.to_be_bytes());
            at += 4;
            out[at..at + data.len()].copy_from_slice(data);
            at += data.len();
        }
        out[at..at + payload.len()].copy_from_slice(payload);
        at += payload.len();
        if self.padding > 0 {
            let pad = &mut out[at..];
            pad.fill(0);
            if let Some(last) = pad.last_mut() {
                *last = self.padding;
            }
        }
        Ok(total)
    }

    /// Convenience: writes the packet into a new vector.
    pub fn to_vec(&self, payload: &[u8]) -> Result<Vec<u8>, RtpError> {
        let mut out = vec![0; self.packet_len(payload.len())];
        let n = self.write(payload, &mut out)?;
        out.truncate(n);
        Ok(out)
    }
}
