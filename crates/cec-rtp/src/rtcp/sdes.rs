//! SDES (RFC 3550 §6.5), BYE (§6.6) and APP (§6.7) packets.

use super::{MAX_COUNT, PT_APP, PT_BYE, PT_SDES, Reader, check_aligned, pad_to_word};
use crate::error::RtcpError;

/// SDES item type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SdesType {
    /// CNAME (1): canonical end-point identifier, the only mandatory item.
    Cname,
    /// NAME (2).
    Name,
    /// EMAIL (3).
    Email,
    /// PHONE (4).
    Phone,
    /// LOC (5).
    Loc,
    /// TOOL (6).
    Tool,
    /// NOTE (7).
    Note,
    /// PRIV (8); the value keeps its prefix-length octet and prefix.
    Priv,
    /// Any other non-zero type.
    Other(u8),
}

impl SdesType {
    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            Self::Cname => 1,
            Self::Name => 2,
            Self::Email => 3,
            Self::Phone => 4,
            Self::Loc => 5,
            Self::Tool => 6,
            Self::Note => 7,
            Self::Priv => 8,
            Self::Other(v) => v,
        }
    }

    /// From the wire value (0 is the end marker and becomes `Other(0)`).
    pub fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Cname,
            2 => Self::Name,
            3 => Self::Email,
            4 => Self::Phone,
            5 => Self::Loc,
            6 => Self::Tool,
            7 => Self::Note,
            8 => Self::Priv,
            other => Self::Other(other),
        }
    }
}

/// One SDES item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdesItem {
    /// Item type.
    pub kind: SdesType,
    /// Item value (UTF-8 text for the standard types, at most 255 bytes).
    pub value: Vec<u8>,
}

/// One SDES chunk: a source and its items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SdesChunk {
    /// The source described.
    pub ssrc: u32,
    /// Its items.
    pub items: Vec<SdesItem>,
}

/// A source description (SDES, packet type 202).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceDescription {
    /// Chunks (at most 31).
    pub chunks: Vec<SdesChunk>,
}

impl SourceDescription {
    /// An SDES packet carrying one CNAME.
    pub fn cname(ssrc: u32, cname: &str) -> Self {
        Self {
            chunks: vec![SdesChunk {
                ssrc,
                items: vec![SdesItem {
                    kind: SdesType::Cname,
                    value: cname.as_bytes().to_vec(),
                }],
            }],
        }
    }

    pub(super) fn parse(count: usize, body: &[u8]) -> Result<Self, RtcpError> {
        let truncated = RtcpError::Truncated {
            packet_type: PT_SDES,
        };
        let mut pos = 0;
        let mut chunks = Vec::with_capacity(count);
        for _ in 0..count {
            let mut r = Reader::new(body.get(pos..).ok_or(truncated)?, PT_SDES);
            let ssrc = r.u32()?;
            let mut items = Vec::new();
            loop {
                let kind = r.u8()?;
                if kind == 0 {
                    break;
                }
                let len = usize::from(r.u8()?);
                let value = r.take(len)?.to_vec();
                items.push(SdesItem {
                    kind: SdesType::from_u8(kind),
                    value,
                });
            }
            // Skip the null octets up to the next 32-bit boundary.
            let used = body.len() - pos - r.remaining().len();
            pos += used.next_multiple_of(4);
            if pos > body.len() {
                return Err(truncated);
            }
            chunks.push(SdesChunk { ssrc, items });
        }
        Ok(Self { chunks })
    }

    pub(super) fn write_body(&self, out: &mut Vec<u8>) -> u8 {
        let chunks = &self.chunks[..self.chunks.len().min(MAX_COUNT)];
        for chunk in chunks {
            out.extend_from_slice(&chunk.ssrc.to_be_bytes());
            for item in &chunk.items {
                let value = &item.value[..item.value.len().min(255)];
                // `value` is at most 255 bytes.
                out.extend_from_slice(&[item.kind.to_u8(), value.len() as u8]);
                out.extend_from_slice(value);
            }
            // The end-of-list null octet, then nulls to the boundary.
            out.push(0);
            pad_to_word(out);
        }
        // At most 31.
        chunks.len() as u8
    }

    pub(super) fn validate(&self) -> Result<(), RtcpError> {
        if self.chunks.len() > MAX_COUNT {
            return Err(RtcpError::TooLong {
                packet_type: PT_SDES,
                what: "chunks",
            });
        }
        for item in self.chunks.iter().flat_map(|c| &c.items) {
            if item.value.len() > 255 {
                return Err(RtcpError::TooLong {
                    packet_type: PT_SDES,
                    what: "item value",
                });
            }
            if item.kind.to_u8() == 0 {
                return Err(RtcpError::TooLong {
                    packet_type: PT_SDES,
                    what: "item type 0",
                });
            }
        }
        Ok(())
    }
}

/// A goodbye (BYE, packet type 203).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bye {
    /// Sources leaving (at most 31).
    pub sources: Vec<u32>,
    /// Optional reason text (at most 255 bytes).
    pub reason: Option<Vec<u8>>,
}

impl Bye {
    pub(super) fn parse(count: usize, body: &[u8]) -> Result<Self, RtcpError> {
        let mut r = Reader::new(body, PT_BYE);
        let sources = (0..count).map(|_| r.u32()).collect::<Result<Vec<_>, _>>()?;
        let reason = if r.remaining().is_empty() {
            None
        } else {
            let len = usize::from(r.u8()?);
            Some(r.take(len)?.to_vec())
        };
        Ok(Self { sources, reason })
    }

    pub(super) fn write_body(&self, out: &mut Vec<u8>) -> u8 {
        let sources = &self.sources[..self.sources.len().min(MAX_COUNT)];
        for s in sources {
            out.extend_from_slice(&s.to_be_bytes());
        }
        if let Some(reason) = &self.reason {
            let reason = &reason[..reason.len().min(255)];
            // At most 255.
            out.push(reason.len() as u8);
            out.extend_from_slice(reason);
            pad_to_word(out);
        }
        // At most 31.
        sources.len() as u8
    }

    pub(super) fn validate(&self) -> Result<(), RtcpError> {
        if self.sources.len() > MAX_COUNT {
            return Err(RtcpError::TooLong {
                packet_type: PT_BYE,
                what: "sources",
            });
        }
        if self.reason.as_ref().is_some_and(|r| r.len() > 255) {
            return Err(RtcpError::TooLong {
                packet_type: PT_BYE,
                what: "reason",
            });
        }
        Ok(())
    }
}

/// An application-defined packet (APP, packet type 204).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct App {
    /// The 5-bit subtype (carried in the count field).
    pub subtype: u8,
    /// The sender's SSRC.
    pub ssrc: u32,
    /// Four ASCII characters naming the application.
    pub name: [u8; 4],
    /// Application data (a multiple of 4 bytes).
    pub data: Vec<u8>,
}

impl App {
    pub(super) fn parse(subtype: usize, body: &[u8]) -> Result<Self, RtcpError> {
        let mut r = Reader::new(body, PT_APP);
        let ssrc = r.u32()?;
        let n = r.take(4)?;
        Ok(Self {
            // The count field is 5 bits.
            subtype: subtype as u8,
            ssrc,
            name: [n[0], n[1], n[2], n[3]],
            data: r.remaining().to_vec(),
        })
    }

    pub(super) fn write_body(&self, out: &mut Vec<u8>) -> u8 {
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(&self.name);
        out.extend_from_slice(&self.data);
        pad_to_word(out);
        self.subtype & 0x1F
    }

    pub(super) fn validate(&self) -> Result<(), RtcpError> {
        if usize::from(self.subtype) > MAX_COUNT {
            return Err(RtcpError::TooLong {
                packet_type: PT_APP,
                what: "subtype",
            });
        }
        check_aligned(PT_APP, self.data.len())
    }
}
