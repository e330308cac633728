//! Error types: parse errors name the line and the problem; negotiation errors name the
//! stream and the rule that was broken.

use std::fmt;

/// Longest excerpt of offending input copied into an error value.
const MAX_EXCERPT: usize = 32;

/// Copies at most [`MAX_EXCERPT`] characters of `s` (hostile input must not make errors big).
pub(crate) fn excerpt(s: &str) -> String {
    s.chars().take(MAX_EXCERPT).collect()
}

/// Which counted thing exceeded its [`crate::ParseLimits`] bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// Total number of lines.
    Lines,
    /// Number of `m=` sections.
    MediaSections,
    /// Number of `a=` lines (session and media together).
    Attributes,
    /// Number of formats on one `m=` line.
    Formats,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Lines => "lines",
            Self::MediaSections => "media sections",
            Self::Attributes => "attributes",
            Self::Formats => "formats on one m= line",
        })
    }
}

/// Why an SDP body was rejected. Line numbers are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The body is larger than [`crate::ParseLimits::max_bytes`].
    #[error("SDP body is {len} bytes, limit is {max}")]
    TooLarge { len: usize, max: usize },
    /// Too many lines, media sections, attributes or formats.
    #[error("line {line}: more than {max} {what}")]
    TooMany {
        line: usize,
        what: Limit,
        max: usize,
    },
    /// The body is empty (or only blank lines).
    #[error("empty SDP body")]
    Empty,
    /// The first line is not `v=`.
    #[error("line {line}: expected v= as the first line")]
    MissingVersion { line: usize },
    /// `v=` is not `0`.
    #[error("line {line}: unsupported SDP version {value:?}")]
    UnsupportedVersion { line: usize, value: String },
    /// No `o=` line before the first `m=` line (or the end).
    #[error("line {line}: missing o= line")]
    MissingOrigin { line: usize },
    /// The `o=` line is malformed.
    #[error("line {line}: invalid o= line: {reason}")]
    InvalidOrigin { line: usize, reason: &'static str },
    /// The `c=` line is malformed.
    #[error("line {line}: invalid c= line: {reason}")]
    InvalidConnection { line: usize, reason: &'static str },
    /// The `m=` line is malformed (other than its port or payload types).
    #[error("line {line}: invalid m= line: {reason}")]
    InvalidMedia { line: usize, reason: &'static str },
    /// The `m=` port is missing or not a decimal number.
    #[error("line {line}: m= port {value:?} is not a number")]
    InvalidPort { line: usize, value: String },
    /// The `m=` port (or port count) is above 65535.
    #[error("line {line}: m= port {value:?} is out of range 0-65535")]
    PortOutOfRange { line: usize, value: String },
    /// An RTP payload type on an `m=` line is not a number in 0-127.
    #[error("line {line}: payload type {value:?} is not in 0-127")]
    InvalidPayloadType { line: usize, value: String },
    /// A `v=`/`o=` line appears twice, or inside a media section.
    #[error("line {line}: unexpected duplicate {kind}= line")]
    Duplicate { line: usize, kind: char },
    /// The line is not `<letter>=<value>`.
    #[error("line {line}: not a <type>=<value> line")]
    MalformedLine { line: usize },
    /// The line contains NUL or a bare CR.
    #[error("line {line}: forbidden control character")]
    ControlCharacter { line: usize },
}

impl ParseError {
    /// The 1-based line the error refers to, if it refers to one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::TooLarge { .. } | Self::Empty => None,
            Self::TooMany { line, .. }
            | Self::MissingVersion { line }
            | Self::UnsupportedVersion { line, .. }
            | Self::MissingOrigin { line }
            | Self::InvalidOrigin { line, .. }
            | Self::InvalidConnection { line, .. }
            | Self::InvalidMedia { line, .. }
            | Self::InvalidPort { line, .. }
            | Self::PortOutOfRange { line, .. }
            | Self::InvalidPayloadType { line, .. }
            | Self::Duplicate { line, .. }
            | Self::MalformedLine { line }
            | Self::ControlCharacter { line } => Some(*line),
        }
    }
}

/// Why an offer cannot be answered at all (the SIP layer answers 488 Not Acceptable Here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotAcceptableReason {
    /// The offer has no `m=` line.
    NoMedia,
    /// No audio stream was offered (or all were already disabled with port 0).
    NoAudio,
    /// Audio was offered only over secure or feedback profiles (RTP/SAVP, RTP/AVPF, ...).
    UnsupportedProfile,
    /// Audio over RTP/AVP was offered but without any codec we support.
    NoCommonCodec,
    /// The peer rejected every stream of our offer.
    AllStreamsRejected,
}

impl fmt::Display for NotAcceptableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoMedia => "no media offered",
            Self::NoAudio => "no usable audio stream offered",
            Self::UnsupportedProfile => "only unsupported transport profiles (e.g. RTP/SAVP)",
            Self::NoCommonCodec => "no common codec",
            Self::AllStreamsRejected => "all streams rejected",
        })
    }
}

/// Offer/answer failure. `index` is the 0-based `m=` line index.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// Nothing in the offer can be served: map to SIP 488.
    #[error("not acceptable: {reason}")]
    NotAcceptable { reason: NotAcceptableReason },
    /// The answer does not have the same number of `m=` lines as the offer.
    #[error("answer has {answered} m= lines, offer had {offered}")]
    MediaCountMismatch { offered: usize, answered: usize },
    /// The answer changed the media type of a stream.
    #[error("m= line {index}: answer media {answered:?} does not match offered {offered:?}")]
    MediaTypeMismatch {
        index: usize,
        offered: String,
        answered: String,
    },
    /// The answer accepted a stream without choosing any codec we offered.
    #[error("m= line {index}: answer picks no codec from our offer")]
    CodecNotOffered { index: usize },
    /// No connection address for an accepted stream (no `c=` at media or session level).
    #[error("m= line {index}: no c= line for accepted stream")]
    MissingConnection { index: usize },
    /// The caller gave no local RTP port to answer with.
    #[error("no local RTP port given")]
    NoLocalPort,
    /// `process_answer` was called but no offer of ours is outstanding.
    #[error("no offer outstanding")]
    NoOfferOutstanding,
}
