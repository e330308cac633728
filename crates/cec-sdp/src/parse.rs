//! Line-oriented SDP parser: tolerant of carrier quirks, strict where a mistake would
//! misroute media, bounded so hostile input cannot exhaust memory.

use std::str::FromStr;

use crate::fields;

use crate::attribute::Attribute;
use crate::error::{Limit, ParseError, excerpt};
use crate::model::{Origin, RawLine, SessionDescription};

/// Bounds applied while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseLimits {
    /// Maximum body size in bytes (default 64 KiB).
    pub max_bytes: usize,
    /// Maximum number of lines, blank ones included (default 4096).
    pub max_lines: usize,
    /// Maximum number of `m=` sections (default 64).
    pub max_media: usize,
    /// Maximum number of `a=` lines in total (default 1024).
    pub max_attributes: usize,
    /// Maximum number of formats on one `m=` line (default 256).
    pub max_formats: usize,
}

impl Default for ParseLimits {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024,
            max_lines: 4096,
            max_media: 64,
            max_attributes: 1024,
            max_formats: 256,
        }
    }
}

/// Something tolerated while parsing; useful for logs and carrier diagnostics.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseNote {
    /// Lines end in bare LF instead of CRLF (reported once, at the first such line).
    BareLineFeed { line: usize },
    /// Trailing spaces/tabs were removed.
    TrailingWhitespace { line: usize },
    /// A blank line was skipped.
    BlankLine { line: usize },
    /// `in`/`ip4`/`ip6` written in lower case.
    LowerCaseToken { line: usize },
    /// No `s=` line.
    MissingSessionName,
    /// No `t=` line.
    MissingTiming,
    /// More than one session-level `c=` line.
    MultipleConnections { line: usize },
    /// A known line or attribute whose value did not parse was kept verbatim.
    KeptVerbatim { line: usize, kind: char },
    /// A line with an unknown type letter was kept verbatim.
    UnknownLineType { line: usize, kind: char },
}

/// Maximum number of notes collected for one body.
const MAX_NOTES: usize = 64;

/// Result of [`SessionDescription::parse_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The session description.
    pub sdp: SessionDescription,
    /// What was tolerated (at most 64 notes).
    pub notes: Vec<ParseNote>,
}

impl SessionDescription {
    /// Parses an SDP body with the default [`ParseLimits`].
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        Self::parse_with(input, &ParseLimits::default()).map(|p| p.sdp)
    }

    /// Parses raw bytes; invalid UTF-8 (e.g. Latin-1 in `s=`) is replaced by U+FFFD.
    pub fn parse_bytes(input: &[u8]) -> Result<Self, ParseError> {
        Self::parse_bytes_with(input, &ParseLimits::default()).map(|p| p.sdp)
    }

    /// [`Self::parse_bytes`] with explicit limits; `max_bytes` applies to the raw bytes.
    pub fn parse_bytes_with(input: &[u8], limits: &ParseLimits) -> Result<Parsed, ParseError> {
        let max = limits.max_bytes;
        if input.len() > max {
            return Err(ParseError::TooLarge {
                len: input.len(),
                max,
            });
        }
        let text = String::from_utf8_lossy(input);
        // U+FFFD takes 3 bytes where the invalid input byte took 1.
        let limits = ParseLimits {
            max_bytes: max.saturating_mul(3),
            ..*limits
        };
        Self::parse_with(&text, &limits)
    }

    /// Parses with explicit limits, also returning what was tolerated.
    pub fn parse_with(input: &str, limits: &ParseLimits) -> Result<Parsed, ParseError> {
        if input.len() > limits.max_bytes {
            return Err(ParseError::TooLarge {
                len: input.len(),
                max: limits.max_bytes,
            });
        }
        Parser {
            limits,
            notes: Vec::new(),
            attributes: 0,
        }
        .run(input)
    }
}

impl FromStr for SessionDescription {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

struct Parser<'l> {
    limits: &'l ParseLimits,
    notes: Vec<ParseNote>,
    attributes: usize,
}

/// Session fields collected before we know `o=` was present.
struct Draft {
    origin: Option<Origin>,
    sdp: SessionDescription,
}

impl Parser<'_> {
    fn lower_case(&mut self, lower: bool, line: usize) {
        if lower {
            self.note(ParseNote::LowerCaseToken { line });
        }
    }

    fn note(&mut self, note: ParseNote) {
        if self.notes.len() < MAX_NOTES {
            self.notes.push(note);
        }
    }

    fn run(mut self, input: &str) -> Result<Parsed, ParseError> {
        let placeholder = Origin::new(0, 0, std::net::Ipv4Addr::UNSPECIFIED.into());
        let mut draft = Draft {
            origin: None,
            sdp: SessionDescription::new(placeholder),
        };
        draft.sdp.session_name = None;
        draft.sdp.timing.clear();
        let mut seen_version = false;
        let mut bare_lf_noted = false;
        let mut line_no = 0;
        for segment in input.split_inclusive('\n') {
            line_no += 1;
            if line_no > self.limits.max_lines {
                let max = self.limits.max_lines;
                return Err(ParseError::TooMany {
                    line: line_no,
                    what: Limit::Lines,
                    max,
                });
            }
            let (line, bare_lf) = match segment.strip_suffix('\n') {
                Some(l) => l.strip_suffix('\r').map_or((l, true), |l| (l, false)),
                None => (segment, false),
            };
            if bare_lf && !bare_lf_noted {
                bare_lf_noted = true;
                self.note(ParseNote::BareLineFeed { line: line_no });
            }
            let trimmed = line.trim_end_matches([' ', '\t', '\r']);
            if trimmed.is_empty() {
                self.note(ParseNote::BlankLine { line: line_no });
                continue;
            }
            if trimmed.len() != line.len() {
                self.note(ParseNote::TrailingWhitespace { line: line_no });
            }
            if trimmed.contains(['\0', '\r']) {
                return Err(ParseError::ControlCharacter { line: line_no });
            }
            let (kind, value) = fields::split_line(trimmed, line_no)?;
            if !seen_version {
                if kind != 'v' {
                    return Err(ParseError::MissingVersion { line: line_no });
                }
                if value != "0" {
                    return Err(ParseError::UnsupportedVersion {
                        line: line_no,
                        value: excerpt(value),
                    });
                }
                seen_version = true;
                continue;
            }
            self.line(&mut draft, line_no, kind, value)?;
        }
        if !seen_version {
            return Err(ParseError::Empty);
        }
        let Some(origin) = draft.origin else {
            return Err(ParseError::MissingOrigin { line: line_no + 1 });
        };
        let mut sdp = draft.sdp;
        sdp.origin = origin;
        if sdp.session_name.is_none() {
            self.note(ParseNote::MissingSessionName);
        }
        if sdp.timing.is_empty() && !sdp.other_lines.iter().any(|l| l.kind == 't') {
            self.note(ParseNote::MissingTiming);
        }
        Ok(Parsed {
            sdp,
            notes: self.notes,
        })
    }

    fn line(
        &mut self,
        d: &mut Draft,
        line: usize,
        kind: char,
        value: &str,
    ) -> Result<(), ParseError> {
        match kind {
            'v' => return Err(ParseError::Duplicate { line, kind }),
            'o' if d.origin.is_some() => return Err(ParseError::Duplicate { line, kind }),
            'o' => {
                let (o, lower) = fields::origin(line, value)?;
                self.lower_case(lower, line);
                d.origin = Some(o);
            }
            'm' => {
                if d.origin.is_none() {
                    return Err(ParseError::MissingOrigin { line });
                }
                if d.sdp.media.len() >= self.limits.max_media {
                    let max = self.limits.max_media;
                    return Err(ParseError::TooMany {
                        line,
                        what: Limit::MediaSections,
                        max,
                    });
                }
                let m = fields::media(line, value, self.limits.max_formats)?;
                d.sdp.media.push(m);
            }
            'a' => {
                if self.attributes >= self.limits.max_attributes {
                    let max = self.limits.max_attributes;
                    return Err(ParseError::TooMany {
                        line,
                        what: Limit::Attributes,
                        max,
                    });
                }
                self.attributes += 1;
                let attr = Attribute::parse(value);
                if attr.is_unparsed_known() {
                    self.note(ParseNote::KeptVerbatim { line, kind });
                }
                match d.sdp.media.last_mut() {
                    Some(m) => m.attributes.push(attr),
                    None => d.sdp.attributes.push(attr),
                }
            }
            'c' => {
                let (c, lower) = fields::connection(line, value)?;
                self.lower_case(lower, line);
                match d.sdp.media.last_mut() {
                    Some(m) => m.connections.push(c),
                    None => {
                        if !d.sdp.connections.is_empty() {
                            self.note(ParseNote::MultipleConnections { line });
                        }
                        d.sdp.connections.push(c);
                    }
                }
            }
            'b' => match (fields::parse_bandwidth(value), d.sdp.media.last_mut()) {
                (Some(b), Some(m)) => m.bandwidths.push(b),
                (Some(b), None) => d.sdp.bandwidths.push(b),
                (None, _) => self.raw(d, line, kind, value, true),
            },
            's' if d.sdp.media.is_empty() && d.sdp.session_name.is_none() => {
                d.sdp.session_name = Some(value.to_owned());
            }
            't' if d.sdp.media.is_empty() => match fields::parse_timing(value) {
                Some(t) => d.sdp.timing.push(t),
                None => self.raw(d, line, kind, value, true),
            },
            'r' if d.sdp.media.is_empty() && !d.sdp.timing.is_empty() => {
                if let Some(t) = d.sdp.timing.last_mut() {
                    t.repeats.push(value.to_owned());
                }
            }
            _ => self.raw(d, line, kind, value, false),
        }
        Ok(())
    }

    /// Keeps a line verbatim in the current section, in RFC order (stable).
    fn raw(&mut self, d: &mut Draft, line: usize, kind: char, value: &str, known: bool) {
        if known {
            self.note(ParseNote::KeptVerbatim { line, kind });
        } else if !matches!(kind, 'i' | 'u' | 'e' | 'p' | 'z' | 'k' | 's' | 't' | 'r') {
            self.note(ParseNote::UnknownLineType { line, kind });
        }
        let raw = RawLine {
            kind,
            value: value.to_owned(),
        };
        let list = match d.sdp.media.last_mut() {
            Some(m) => &mut m.other_lines,
            None => &mut d.sdp.other_lines,
        };
        let rank = raw.rank();
        let pos = list
            .iter()
            .rposition(|l| l.rank() <= rank)
            .map_or(0, |p| p + 1);
        list.insert(pos, raw);
    }
}
