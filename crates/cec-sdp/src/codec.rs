//! Codecs, the RFC 3551 static payload type table, and our local capabilities.

use crate::attribute::RtpMap;
use crate::model::MediaDescription;

/// A codec identity plus the payload type we use for it in our own offers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Codec {
    /// Encoding name (`PCMA`); compared case-insensitively.
    pub name: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channel count.
    pub channels: u16,
    /// Payload type for our offers: the static one, or our preferred dynamic one.
    pub payload_type: u8,
    /// `a=fmtp` parameters we send for this codec, if any.
    pub fmtp: Option<String>,
}

impl Codec {
    /// A codec with one channel and no fmtp.
    pub fn new(name: &str, clock_rate: u32, payload_type: u8) -> Self {
        Self {
            name: name.to_owned(),
            clock_rate,
            channels: 1,
            payload_type,
            fmtp: None,
        }
    }

    /// G.711 A-law, static PT 8.
    pub fn pcma() -> Self {
        Self::new("PCMA", 8000, 8)
    }

    /// G.711 µ-law, static PT 0.
    pub fn pcmu() -> Self {
        Self::new("PCMU", 8000, 0)
    }

    /// G.729, static PT 18, `annexb=no`.
    pub fn g729() -> Self {
        Self {
            fmtp: Some("annexb=no".to_owned()),
            ..Self::new("G729", 8000, 18)
        }
    }

    /// Whether `other` names the same codec (name case-insensitive, rate, channels).
    pub fn same_codec(&self, other: &Self) -> bool {
        self.name.eq_ignore_ascii_case(&other.name)
            && self.clock_rate == other.clock_rate
            && self.channels == other.channels
    }

    /// Whether this is RFC 4733 `telephone-event`.
    pub fn is_telephone_event(&self) -> bool {
        self.name.eq_ignore_ascii_case("telephone-event")
    }

    /// Whether this is comfort noise (`CN`), which we never pick as the voice codec.
    pub fn is_comfort_noise(&self) -> bool {
        self.name.eq_ignore_ascii_case("CN")
    }

    /// The codec an RTP payload type stands for in a media section: its `a=rtpmap`, else
    /// the RFC 3551 static assignment, else `None` (unmapped dynamic type).
    pub fn from_media(m: &MediaDescription, pt: u8) -> Option<Self> {
        match m.rtpmap(pt) {
            Some(map) => Some(Self::from_rtpmap(map)),
            None => Self::from_static(pt),
        }
    }

    fn from_rtpmap(map: &RtpMap) -> Self {
        Self {
            channels: map.channels(),
            ..Self::new(&map.encoding, map.clock_rate, map.payload_type)
        }
    }

    /// RFC 3551 static audio payload types.
    pub fn from_static(pt: u8) -> Option<Self> {
        let (name, rate) = match pt {
            0 => ("PCMU", 8000),
            3 => ("GSM", 8000),
            4 => ("G723", 8000),
            5 => ("DVI4", 8000),
            6 => ("DVI4", 16000),
            7 => ("LPC", 8000),
            8 => ("PCMA", 8000),
            9 => ("G722", 8000),
            10 => {
                return Some(Self {
                    channels: 2,
                    ..Self::new("L16", 44100, 10)
                });
            }
            11 => ("L16", 44100),
            12 => ("QCELP", 8000),
            13 => ("CN", 8000),
            14 => ("MPA", 90000),
            15 => ("G728", 8000),
            16 => ("DVI4", 11025),
            17 => ("DVI4", 22050),
            18 => ("G729", 8000),
            _ => return None,
        };
        Some(Self::new(name, rate, pt))
    }

    /// The `a=rtpmap` for this codec under payload type `pt`.
    pub fn rtpmap(&self, pt: u8) -> RtpMap {
        RtpMap {
            payload_type: pt,
            encoding: self.name.clone(),
            clock_rate: self.clock_rate,
            params: (self.channels != 1).then(|| self.channels.to_string()),
        }
    }
}

/// RFC 4733 telephone-event settings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TelephoneEvent {
    /// Payload type for our offers (default 101); in answers the offerer's is used.
    pub payload_type: u8,
    /// Clock rate (default 8000).
    pub clock_rate: u32,
    /// Events we accept, `a=fmtp` value (default `0-15`).
    pub events: String,
}

impl Default for TelephoneEvent {
    fn default() -> Self {
        Self {
            payload_type: 101,
            clock_rate: 8000,
            events: "0-15".to_owned(),
        }
    }
}

/// What we can do, per trunk: codec preference, DTMF, packetisation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocalCapabilities {
    /// Voice codecs, most preferred first.
    pub codecs: Vec<Codec>,
    /// RFC 4733 DTMF; `None` disables it.
    pub telephone_event: Option<TelephoneEvent>,
    /// Packetisation time we ask for (`a=ptime`), in ms.
    pub ptime: Option<u32>,
    /// `a=maxptime` we advertise, in ms.
    pub maxptime: Option<u32>,
    /// In answers, list every common codec (our order) instead of only the chosen one.
    pub answer_all_common_codecs: bool,
}

impl Default for LocalCapabilities {
    /// PCMA, then PCMU, telephone-event 101 `0-15`, ptime 20.
    fn default() -> Self {
        Self::with_codecs(vec![Codec::pcma(), Codec::pcmu()])
    }
}

impl LocalCapabilities {
    /// Given codecs in preference order, telephone-event 101 `0-15`, ptime 20.
    pub fn with_codecs(codecs: Vec<Codec>) -> Self {
        Self {
            codecs,
            telephone_event: Some(TelephoneEvent::default()),
            ptime: Some(20),
            maxptime: None,
            answer_all_common_codecs: false,
        }
    }

    /// PCMU first, then PCMA.
    pub fn pcmu_first() -> Self {
        Self::with_codecs(vec![Codec::pcmu(), Codec::pcma()])
    }

    /// PCMA only.
    pub fn pcma_only() -> Self {
        Self::with_codecs(vec![Codec::pcma()])
    }

    /// Our codec matching `offered`, if we support it.
    pub fn find(&self, offered: &Codec) -> Option<&Codec> {
        self.codecs.iter().find(|c| c.same_codec(offered))
    }
}
