//! The session description data model.

use std::fmt;

pub use crate::address::{AddressType, Connection, Origin};
use crate::attribute::{Attribute, Direction, Fmtp, Rtcp, RtpMap};

/// `b=<bwtype>:<bandwidth>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bandwidth {
    /// `AS`, `CT`, `TIAS`, ...
    pub bw_type: String,
    /// Value (kbit/s for AS/CT).
    pub bandwidth: u64,
}

/// `t=<start> <stop>` and the `r=` lines that follow it (kept verbatim).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Timing {
    /// Start time (NTP seconds), 0 for unbounded.
    pub start: u64,
    /// Stop time (NTP seconds), 0 for unbounded.
    pub stop: u64,
    /// Values of the `r=` lines following this `t=`.
    pub repeats: Vec<String>,
}

/// A line kept verbatim: `i= u= e= p= z= k=`, unknown type letters, and known lines whose
/// value could not be typed (tolerated `b=`/`t=`, a second `s=`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawLine {
    /// The type letter.
    pub kind: char,
    /// Everything after `=`.
    pub value: String,
}

impl RawLine {
    /// Position class in RFC 8866 order; lines are printed grouped by it (stable).
    pub(crate) fn rank(&self) -> u8 {
        match self.kind {
            's' => 2,
            'i' => 3,
            'u' => 4,
            'e' => 5,
            'p' => 6,
            'c' => 7,
            'b' => 8,
            't' => 9,
            'r' => 10,
            'z' => 11,
            'k' => 12,
            _ => 14,
        }
    }
}

/// RTP profile / transport of an `m=` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `RTP/AVP`.
    RtpAvp,
    /// `RTP/SAVP`.
    RtpSavp,
    /// `RTP/AVPF`.
    RtpAvpf,
    /// `RTP/SAVPF`.
    RtpSavpf,
    /// `UDP/TLS/RTP/SAVPF`.
    UdpTlsRtpSavpf,
    /// Anything else (`udptl`, `TCP/MSRP`, ...), verbatim; formats are not payload types.
    Other(String),
}

impl Protocol {
    /// Case-insensitive parse.
    pub fn parse(s: &str) -> Self {
        const KNOWN: [(&str, Protocol); 5] = [
            ("RTP/AVP", Protocol::RtpAvp),
            ("RTP/SAVP", Protocol::RtpSavp),
            ("RTP/AVPF", Protocol::RtpAvpf),
            ("RTP/SAVPF", Protocol::RtpSavpf),
            ("UDP/TLS/RTP/SAVPF", Protocol::UdpTlsRtpSavpf),
        ];
        KNOWN
            .into_iter()
            .find(|(name, _)| s.eq_ignore_ascii_case(name))
            .map_or_else(|| Self::Other(s.to_owned()), |(_, p)| p)
    }

    /// Whether formats are RTP payload types.
    pub fn is_rtp(&self) -> bool {
        !matches!(self, Self::Other(_))
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RtpAvp => "RTP/AVP",
            Self::RtpSavp => "RTP/SAVP",
            Self::RtpAvpf => "RTP/AVPF",
            Self::RtpSavpf => "RTP/SAVPF",
            Self::UdpTlsRtpSavpf => "UDP/TLS/RTP/SAVPF",
            Self::Other(s) => s,
        })
    }
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MediaDescription {
    /// `audio`, `video`, `image`, ... verbatim.
    pub media: String,
    /// Transport port; 0 means the stream is rejected/disabled.
    pub port: u16,
    /// The `/<number of ports>` suffix.
    pub port_count: Option<u16>,
    /// Transport profile.
    pub protocol: Protocol,
    /// Formats verbatim; for RTP profiles each is a validated payload type 0-127.
    pub formats: Vec<String>,
    /// `c=` lines of this section.
    pub connections: Vec<Connection>,
    /// `b=` lines of this section.
    pub bandwidths: Vec<Bandwidth>,
    /// `a=` lines of this section, in order.
    pub attributes: Vec<Attribute>,
    /// Other lines (`i=`, `k=`, unknown), kept in order.
    pub other_lines: Vec<RawLine>,
}

impl MediaDescription {
    /// An `m=` section with no lines below it.
    pub fn new(media: &str, port: u16, protocol: Protocol, formats: Vec<String>) -> Self {
        Self {
            media: media.to_owned(),
            port,
            port_count: None,
            protocol,
            formats,
            connections: Vec::new(),
            bandwidths: Vec::new(),
            attributes: Vec::new(),
            other_lines: Vec::new(),
        }
    }

    /// The formats that are RTP payload types, in order.
    pub fn payload_types(&self) -> Vec<u8> {
        self.formats
            .iter()
            .filter_map(|f| f.parse().ok().filter(|pt| *pt <= 127))
            .collect()
    }

    /// First media-level `c=`.
    pub fn connection(&self) -> Option<&Connection> {
        self.connections.first()
    }

    /// Media-level direction attribute (the last one wins if there are several).
    pub fn direction(&self) -> Option<Direction> {
        self.attributes.iter().rev().find_map(|a| match a {
            Attribute::Direction(d) => Some(*d),
            _ => None,
        })
    }

    /// `a=rtpmap` for a payload type.
    pub fn rtpmap(&self, pt: u8) -> Option<&RtpMap> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::RtpMap(m) if m.payload_type == pt => Some(m),
            _ => None,
        })
    }

    /// `a=fmtp` for a format.
    pub fn fmtp(&self, format: &str) -> Option<&Fmtp> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Fmtp(f) if f.format == format => Some(f),
            _ => None,
        })
    }

    /// `a=ptime`.
    pub fn ptime(&self) -> Option<u32> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Ptime(p) => Some(*p),
            _ => None,
        })
    }

    /// `a=rtcp`.
    pub fn rtcp(&self) -> Option<&Rtcp> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Rtcp(r) => Some(r),
            _ => None,
        })
    }

    /// Replaces every direction attribute by `dir` (appending one if there was none).
    pub fn set_direction(&mut self, dir: Direction) {
        self.attributes
            .retain(|a| !matches!(a, Attribute::Direction(_)));
        self.attributes.push(Attribute::Direction(dir));
    }
}

/// A parsed session description. `v=0` is implicit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionDescription {
    /// `o=`.
    pub origin: Origin,
    /// `s=`; `None` when the line was missing (tolerated). `Some("")` prints as `s= `.
    pub session_name: Option<String>,
    /// Session-level `c=` lines (several are tolerated).
    pub connections: Vec<Connection>,
    /// Session-level `b=` lines.
    pub bandwidths: Vec<Bandwidth>,
    /// `t=` lines; empty when missing (tolerated).
    pub timing: Vec<Timing>,
    /// Session-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// `m=` sections, in order.
    pub media: Vec<MediaDescription>,
    /// Other session-level lines (`i= u= e= p= z= k=`, unknown), in order.
    pub other_lines: Vec<RawLine>,
}

impl SessionDescription {
    /// A session with `s=-`, no connection, `t=0 0` and no media.
    pub fn new(origin: Origin) -> Self {
        Self {
            origin,
            session_name: Some("-".to_owned()),
            connections: Vec::new(),
            bandwidths: Vec::new(),
            timing: vec![Timing::default()],
            attributes: Vec::new(),
            media: Vec::new(),
            other_lines: Vec::new(),
        }
    }

    /// First session-level `c=`.
    pub fn connection(&self) -> Option<&Connection> {
        self.connections.first()
    }

    /// Session-level direction attribute.
    pub fn direction(&self) -> Option<Direction> {
        self.attributes.iter().rev().find_map(|a| match a {
            Attribute::Direction(d) => Some(*d),
            _ => None,
        })
    }

    /// The `c=` that applies to a media section (media level, else session level).
    pub fn media_connection<'a>(&'a self, m: &'a MediaDescription) -> Option<&'a Connection> {
        m.connection().or_else(|| self.connection())
    }

    /// The direction that applies to a media section (media, session, else sendrecv).
    pub fn media_direction(&self, m: &MediaDescription) -> Direction {
        m.direction()
            .or_else(|| self.direction())
            .unwrap_or_default()
    }
}
