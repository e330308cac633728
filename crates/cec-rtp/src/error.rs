//! Error types of the crate: one enum per protocol family.

use thiserror::Error;

/// Why an RTP packet could not be parsed, built or rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RtpError {
    /// The buffer ends before the structure it must hold.
    #[error("RTP packet too short: need {needed} bytes, have {actual}")]
    TooShort {
        /// Bytes required.
        needed: usize,
        /// Bytes present.
        actual: usize,
    },
    /// The version field is not 2.
    #[error("unsupported RTP version {0}")]
    BadVersion(u8),
    /// The padding count is zero or longer than the packet body.
    #[error("invalid RTP padding count {0}")]
    BadPadding(u8),
    /// More than 15 CSRCs were given to the builder.
    #[error("too many CSRCs: {0} (at most 15)")]
    TooManyCsrcs(usize),
    /// The header extension data is not a multiple of 4 bytes or longer than 0xFFFF words.
    #[error("header extension length {0} is not a multiple of 4 bytes or too long")]
    BadExtensionLength(usize),
    /// A payload type outside 0..=127 was given to the builder.
    #[error("payload type {0} out of range 0..=127")]
    BadPayloadType(u8),
    /// An RFC 8285 element does not fit its form (id or length out of range).
    #[error("header extension element id {id} with {len} bytes does not fit the chosen form")]
    BadExtensionElement {
        /// Element id.
        id: u8,
        /// Element data length.
        len: usize,
    },
    /// The output buffer is too small.
    #[error("output buffer too small: need {needed} bytes, have {actual}")]
    BufferTooSmall {
        /// Bytes required.
        needed: usize,
        /// Bytes available.
        actual: usize,
    },
}

/// Why an RTCP compound packet could not be parsed or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RtcpError {
    /// The compound packet is empty.
    #[error("empty RTCP compound packet")]
    Empty,
    /// A packet header has a version other than 2.
    #[error("unsupported RTCP version {0}")]
    BadVersion(u8),
    /// A packet's length field runs past the end of the buffer, or leftover bytes follow.
    #[error("RTCP length field of packet type {packet_type} does not match the buffer")]
    BadLength {
        /// The packet type whose length is wrong.
        packet_type: u8,
    },
    /// The padding count of a packet is zero or longer than its body.
    #[error("invalid RTCP padding in packet type {packet_type}")]
    BadPadding {
        /// The packet type with the bad padding.
        packet_type: u8,
    },
    /// The packet body is shorter than its counts say.
    #[error("RTCP packet type {packet_type} is truncated")]
    Truncated {
        /// The truncated packet type.
        packet_type: u8,
    },
    /// A list is longer than the 5-bit count field (31) or an item longer than 255 bytes.
    #[error("RTCP packet type {packet_type}: {what} too long for its field")]
    TooLong {
        /// The packet type being written.
        packet_type: u8,
        /// What overflowed.
        what: &'static str,
    },
    /// Data that must be a multiple of 4 bytes is not.
    #[error("RTCP packet type {packet_type}: data length {len} is not a multiple of 4")]
    Unaligned {
        /// The packet type being written.
        packet_type: u8,
        /// The offending length.
        len: usize,
    },
}

/// Why an RFC 4733 telephone-event operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DtmfError {
    /// The event payload is shorter than 4 bytes.
    #[error("telephone-event payload too short: {0} bytes")]
    TooShort(usize),
    /// The character is not one of 0-9, *, #, A-D.
    #[error("not a DTMF digit: {0:?}")]
    UnknownDigit(char),
    /// The volume is above 63.
    #[error("volume {0} out of range 0..=63")]
    BadVolume(u8),
    /// A zero duration or packet interval was given.
    #[error("duration and packet interval must be non-zero")]
    ZeroDuration,
    /// The clock rate is zero.
    #[error("clock rate must be non-zero")]
    ZeroClockRate,
    /// The output buffer is shorter than 4 bytes.
    #[error("output buffer too small for a telephone event")]
    BufferTooSmall,
}
