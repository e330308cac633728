//! Request/response validation beyond framing (RFC 3261 §8.1.1, §8.2,
//! §16.3 and the RFC 4475 invalid cases).

use bytes::Bytes;

use crate::error::{ParseError, ParseErrorKind};
use crate::header::{CSeq, HeaderName, Via, is_rfc1123_date};
use crate::message::{Message, StartLine};
use crate::name_addr::NameAddr;
use crate::uri::Uri;

/// Headers that may appear only once.
const N_SINGLE: usize = 14;
static SINGLE: [HeaderName; N_SINGLE] = [
    HeaderName::From,
    HeaderName::To,
    HeaderName::CallId,
    HeaderName::CSeq,
    HeaderName::MaxForwards,
    HeaderName::ContentLength,
    HeaderName::ContentType,
    HeaderName::Date,
    HeaderName::Expires,
    HeaderName::MinExpires,
    HeaderName::RSeq,
    HeaderName::RAck,
    HeaderName::SessionExpires,
    HeaderName::MinSe,
];

/// The headers every transaction and dialog needs, parsed once by [`Message::validate`] so
/// the layers above never parse them again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreHeaders {
    /// Every Via value, top first.
    pub vias: Vec<Via>,
    /// From.
    pub from: NameAddr,
    /// To.
    pub to: NameAddr,
    /// Call-ID.
    pub call_id: Bytes,
    /// CSeq.
    pub cseq: CSeq,
    /// Max-Forwards, when present (RFC 2543 peers may omit it).
    pub max_forwards: Option<u32>,
}

impl CoreHeaders {
    /// The top Via (validation guarantees there is one).
    pub fn top_via(&self) -> Option<&Via> {
        self.vias.first()
    }
}

impl Message {
    /// Checks what a UAS or proxy needs before processing:
    /// Request-URI scheme (sip/sips/tel, else 416) and no `?headers` in it;
    /// Via, From, To, Call-ID and CSeq present and well-formed (Max-Forwards
    /// may be absent for RFC 2543 peers); single-value headers not repeated;
    /// CSeq method equal to the request method; Contact, Max-Forwards,
    /// Content-Type and Date well-formed when present.
    ///
    /// Decisions needing UAS context (501, 420, 415, 483...) are left to
    /// the caller: the typed accessors give the facts.
    ///
    /// Returns the [`CoreHeaders`] it parsed on the way, so callers do not parse them again.
    pub fn validate(&self) -> Result<CoreHeaders, ParseError> {
        if let StartLine::Request(r) = self.start_line() {
            if matches!(r.uri, Uri::Other(_)) {
                return Err(self.err(ParseErrorKind::UnsupportedUriScheme));
            }
            if r.uri.has_headers() {
                return Err(self.err(ParseErrorKind::BadRequestUri(
                    "escaped headers are not allowed in a Request-URI",
                )));
            }
        }
        let mut counts = [0usize; N_SINGLE];
        let mut vias = 0usize;
        for h in self.headers() {
            if *h.name() == HeaderName::Via {
                vias += 1;
            } else if let Some(i) = SINGLE.iter().position(|n| n == h.name())
                && let Some(c) = counts.get_mut(i)
            {
                *c += 1;
            }
        }
        if vias == 0 {
            return Err(self.err(ParseErrorKind::MissingHeader("Via")));
        }
        for (name, &count) in SINGLE.iter().zip(&counts) {
            if count > 1 {
                return Err(self.err(ParseErrorKind::DuplicateHeader(name.static_name())));
            }
        }
        let vias = self.via()?;
        let from = self.from()?;
        let to = self.to()?;
        let call_id = self.call_id()?;
        let cseq = self.cseq()?;
        if let Some(m) = self.method()
            && *m != cseq.method
        {
            return Err(self.err(ParseErrorKind::CSeqMethodMismatch));
        }
        let max_forwards = self.max_forwards()?;
        self.contacts()?;
        self.content_type()?;
        if let Some(d) = self.header(&HeaderName::Date)
            && !is_rfc1123_date(d.value())
        {
            return Err(self.err(ParseErrorKind::InvalidHeader {
                name: "Date",
                reason: "not an RFC 1123 date in GMT",
            }));
        }
        Ok(CoreHeaders {
            vias,
            from,
            to,
            call_id,
            cseq,
            max_forwards,
        })
    }
}
