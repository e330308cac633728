//! `a=` attributes: the ones the offer/answer logic needs are typed, every other one is
//! kept verbatim as [`Attribute::Other`].

use std::fmt;

use crate::model::Connection;

/// Media direction (RFC 8866 §6.7), from the point of view of the side that wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// `a=sendrecv` (the default when no direction attribute is present).
    #[default]
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// Builds a direction from "sends" and "receives" flags.
    pub fn from_flags(send: bool, recv: bool) -> Self {
        match (send, recv) {
            (true, true) => Self::SendRecv,
            (true, false) => Self::SendOnly,
            (false, true) => Self::RecvOnly,
            (false, false) => Self::Inactive,
        }
    }

    /// Whether this side sends media.
    pub fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }

    /// Whether this side receives media.
    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }

    /// The same stream seen from the other side (sendonly <-> recvonly).
    pub fn reversed(self) -> Self {
        Self::from_flags(self.receives(), self.sends())
    }

    /// What both directions allow.
    pub fn intersect(self, other: Self) -> Self {
        Self::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }

    /// The attribute name (`sendrecv`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "sendrecv" => Some(Self::SendRecv),
            "sendonly" => Some(Self::SendOnly),
            "recvonly" => Some(Self::RecvOnly),
            "inactive" => Some(Self::Inactive),
            _ => None,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RtpMap {
    /// RTP payload type, 0-127.
    pub payload_type: u8,
    /// Encoding name as written (`PCMA`, `telephone-event`); compare case-insensitively.
    pub encoding: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Encoding parameters (channel count for audio), verbatim.
    pub params: Option<String>,
}

impl RtpMap {
    /// Channel count (encoding parameters), 1 when absent or not a number.
    pub fn channels(&self) -> u16 {
        self.params
            .as_deref()
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
    }
}

/// `a=fmtp:<format> <format specific parameters>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fmtp {
    /// The format (payload type for RTP) the parameters apply to.
    pub format: String,
    /// Parameters, verbatim (may be empty).
    pub params: String,
}

impl Fmtp {
    /// The format as an RTP payload type, if it is one.
    pub fn payload_type(&self) -> Option<u8> {
        self.format.parse().ok().filter(|pt| *pt <= 127)
    }
}

/// `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rtcp {
    /// RTCP port.
    pub port: u16,
    /// RTCP address when it differs from the `c=` address.
    pub connection: Option<Connection>,
}

/// One `a=` line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Attribute {
    /// `a=rtpmap`.
    RtpMap(RtpMap),
    /// `a=fmtp`.
    Fmtp(Fmtp),
    /// `a=ptime` in milliseconds.
    Ptime(u32),
    /// `a=maxptime` in milliseconds.
    MaxPtime(u32),
    /// `a=sendrecv`, `a=sendonly`, `a=recvonly`, `a=inactive`.
    Direction(Direction),
    /// `a=rtcp`.
    Rtcp(Rtcp),
    /// Any other attribute, or a known one whose value did not parse; printed back verbatim.
    Other {
        /// Text before the first `:`.
        name: String,
        /// Text after the first `:`, if there was a `:`.
        value: Option<String>,
    },
}

impl Attribute {
    /// Parses the text after `a=`. Never fails: what is not understood becomes `Other`.
    pub fn parse(text: &str) -> Self {
        let (name, value) = match text.split_once(':') {
            Some((n, v)) => (n, Some(v)),
            None => (text, None),
        };
        let typed = match (name, value) {
            ("rtpmap", Some(v)) => parse_rtpmap(v).map(Self::RtpMap),
            ("fmtp", Some(v)) => parse_fmtp(v).map(Self::Fmtp),
            ("ptime", Some(v)) => v.trim().parse().ok().map(Self::Ptime),
            ("maxptime", Some(v)) => v.trim().parse().ok().map(Self::MaxPtime),
            ("rtcp", Some(v)) => parse_rtcp(v).map(Self::Rtcp),
            (n, None) => Direction::from_name(n).map(Self::Direction),
            _ => None,
        };
        typed.unwrap_or_else(|| Self::Other {
            name: name.to_owned(),
            value: value.map(str::to_owned),
        })
    }

    /// The attribute name (`rtpmap`, `sendrecv`, ...).
    pub fn name(&self) -> &str {
        match self {
            Self::RtpMap(_) => "rtpmap",
            Self::Fmtp(_) => "fmtp",
            Self::Ptime(_) => "ptime",
            Self::MaxPtime(_) => "maxptime",
            Self::Direction(d) => d.as_str(),
            Self::Rtcp(_) => "rtcp",
            Self::Other { name, .. } => name,
        }
    }

    /// Whether this is one of the typed attributes that failed to parse (kept as `Other`).
    pub(crate) fn is_unparsed_known(&self) -> bool {
        matches!(self, Self::Other { name, .. }
            if matches!(name.as_str(), "rtpmap" | "fmtp" | "ptime" | "maxptime" | "rtcp"
                | "sendrecv" | "sendonly" | "recvonly" | "inactive"))
    }
}

/// Strict decimal `u16`: digits only (no sign, no spaces).
pub(crate) fn parse_u16_digits(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_rtpmap(v: &str) -> Option<RtpMap> {
    let (pt, rest) = v.split_once(|c: char| c.is_ascii_whitespace())?;
    let payload_type: u8 = pt.parse().ok().filter(|pt| *pt <= 127)?;
    let mut parts = rest.trim_start().splitn(3, '/');
    let encoding = parts.next()?;
    if encoding.is_empty() || encoding.contains(|c: char| c.is_whitespace()) {
        return None;
    }
    let clock_rate = parts.next()?.parse().ok()?;
    Some(RtpMap {
        payload_type,
        encoding: encoding.to_owned(),
        clock_rate,
        params: parts.next().map(str::to_owned),
    })
}

fn parse_fmtp(v: &str) -> Option<Fmtp> {
    let (format, params) = match v.split_once(|c: char| c.is_ascii_whitespace()) {
        Some((f, p)) => (f, p.trim_start()),
        None => (v, ""),
    };
    if format.is_empty() {
        return None;
    }
    Some(Fmtp {
        format: format.to_owned(),
        params: params.to_owned(),
    })
}

fn parse_rtcp(v: &str) -> Option<Rtcp> {
    let mut tokens = v.split_ascii_whitespace();
    let port = parse_u16_digits(tokens.next()?)?;
    let rest: Vec<&str> = tokens.collect();
    let connection = match rest.as_slice() {
        [] => None,
        [net, addr_type, address] => Some(Connection::from_parts(net, addr_type, address)),
        _ => return None,
    };
    Some(Rtcp { port, connection })
}

impl fmt::Display for Attribute {
    /// Prints the text after `a=`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RtpMap(m) => {
                write!(
                    f,
                    "rtpmap:{} {}/{}",
                    m.payload_type, m.encoding, m.clock_rate
                )?;
                match &m.params {
                    Some(p) => write!(f, "/{p}"),
                    None => Ok(()),
                }
            }
            Self::Fmtp(x) if x.params.is_empty() => write!(f, "fmtp:{}", x.format),
            Self::Fmtp(x) => write!(f, "fmtp:{} {}", x.format, x.params),
            Self::Ptime(p) => write!(f, "ptime:{p}"),
            Self::MaxPtime(p) => write!(f, "maxptime:{p}"),
            Self::Direction(d) => f.write_str(d.as_str()),
            Self::Rtcp(r) => match &r.connection {
                Some(c) => write!(f, "rtcp:{} {c}", r.port),
                None => write!(f, "rtcp:{}", r.port),
            },
            Self::Other {
                name,
                value: Some(v),
            } => write!(f, "{name}:{v}"),
            Self::Other { name, value: None } => f.write_str(name),
        }
    }
}
