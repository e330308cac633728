//! Typed, on-demand header access. Multi-valued headers return every value
//! of every line in order; commas inside quotes or `<>` do not separate.

use bytes::Bytes;

use crate::error::{ParseError, ParseErrorKind, Res};
use crate::header::{
    AuthValue, CSeq, HeaderName, MediaType, MinSe, RAck, Reason, RetryAfter, SessionExpires, Via,
    Warning, parse_auth_list, parse_cseq, parse_media_type, parse_min_se, parse_rack, parse_reason,
    parse_retry_after, parse_session_expires, parse_via, parse_warning, via_is_routable,
};
use crate::message::Message;
use crate::method::Method;
use crate::name_addr::{Contact, NameAddr, parse_contact, parse_name_addr};
use crate::text::{is_ws, parse_delta, parse_u32, split_commas};

type Parser<T> = fn(&Bytes, &[u8]) -> Res<T>;

impl Message {
    pub(crate) fn err(&self, kind: ParseErrorKind) -> ParseError {
        ParseError::new(kind).with_context(self.origin(), self.via_routable())
    }

    fn invalid(&self, name: &HeaderName, reason: &'static str) -> ParseError {
        self.err(ParseErrorKind::InvalidHeader {
            name: name.static_name(),
            reason,
        })
    }

    /// Whether the top Via has a usable sent-by (a response can be routed).
    pub(crate) fn via_routable(&self) -> bool {
        self.header(&HeaderName::Via).is_some_and(|h| {
            split_commas(h.value())
                .next()
                .and_then(Result::ok)
                .is_some_and(|v| via_is_routable(h.base(), v))
        })
    }

    fn top_via_raw(&self) -> Option<Res<Via>> {
        let h = self.header(&HeaderName::Via)?;
        let first = split_commas(h.value()).next()?;
        Some(first.and_then(|v| parse_via(h.base(), v)))
    }

    /// All values of a comma-separated header, parsed, in order.
    pub(crate) fn list<T>(&self, name: &HeaderName, f: Parser<T>) -> Result<Vec<T>, ParseError> {
        let mut out = Vec::new();
        for h in self.headers_named(name) {
            for item in split_commas(h.value()) {
                let item = item.map_err(|r| self.invalid(name, r))?;
                if item.is_empty() {
                    return Err(self.invalid(name, "empty list element"));
                }
                out.push(f(h.base(), item).map_err(|r| self.invalid(name, r))?);
            }
        }
        Ok(out)
    }

    /// First line of a single-valued header, whole value, parsed.
    pub(crate) fn single<T>(
        &self,
        name: &HeaderName,
        f: Parser<T>,
    ) -> Result<Option<T>, ParseError> {
        match self.header(name) {
            None => Ok(None),
            Some(h) => f(h.base(), h.value())
                .map(Some)
                .map_err(|r| self.invalid(name, r)),
        }
    }

    fn required<T>(&self, name: &HeaderName, f: Parser<T>) -> Result<T, ParseError> {
        self.single(name, f)?
            .ok_or_else(|| self.err(ParseErrorKind::MissingHeader(name.static_name())))
    }

    fn tokens(&self, name: &HeaderName) -> Result<Vec<Bytes>, ParseError> {
        let mut out = Vec::new();
        for h in self.headers_named(name) {
            for item in split_commas(h.value()) {
                let item = item.map_err(|r| self.invalid(name, r))?;
                if let Some(t) =
                    crate::header::parse_token(h.base(), item).map_err(|r| self.invalid(name, r))?
                {
                    out.push(t);
                }
            }
        }
        Ok(out)
    }

    /// Every Via value, top first.
    pub fn via(&self) -> Result<Vec<Via>, ParseError> {
        self.list(&HeaderName::Via, parse_via)
    }

    /// The top Via value only (fast path for transactions).
    pub fn top_via(&self) -> Result<Via, ParseError> {
        match self.top_via_raw() {
            None => Err(self.err(ParseErrorKind::MissingHeader("Via"))),
            Some(r) => r.map_err(|reason| {
                ParseError::invalid("Via", reason).with_context(self.origin(), self.via_routable())
            }),
        }
    }

    /// From.
    pub fn from(&self) -> Result<NameAddr, ParseError> {
        self.required(&HeaderName::From, parse_name_addr)
    }

    /// To.
    pub fn to(&self) -> Result<NameAddr, ParseError> {
        self.required(&HeaderName::To, parse_name_addr)
    }

    /// Call-ID (a word, or word@word; no whitespace).
    pub fn call_id(&self) -> Result<Bytes, ParseError> {
        self.required(&HeaderName::CallId, |base, v| {
            if v.is_empty() {
                Err("empty Call-ID")
            } else if v.iter().any(|&b| is_ws(b)) {
                Err("whitespace in Call-ID")
            } else {
                Ok(crate::text::cut(base, v))
            }
        })
    }

    /// CSeq.
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        self.required(&HeaderName::CSeq, parse_cseq)
    }

    /// Contact values (`*` included).
    pub fn contacts(&self) -> Result<Vec<Contact>, ParseError> {
        self.list(&HeaderName::Contact, parse_contact)
    }

    /// Route values.
    pub fn route(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.list(&HeaderName::Route, parse_name_addr)
    }

    /// Record-Route values.
    pub fn record_route(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.list(&HeaderName::RecordRoute, parse_name_addr)
    }

    /// Max-Forwards (absent in RFC 2543 requests).
    pub fn max_forwards(&self) -> Result<Option<u32>, ParseError> {
        self.single(&HeaderName::MaxForwards, |_, v| {
            parse_u32(v).ok_or("not a number below 2^32")
        })
    }

    /// Content-Length as declared.
    pub fn content_length(&self) -> Result<Option<u32>, ParseError> {
        self.single(&HeaderName::ContentLength, |_, v| {
            parse_u32(v).ok_or("not a number below 2^32")
        })
    }

    /// Content-Type.
    pub fn content_type(&self) -> Result<Option<MediaType>, ParseError> {
        self.single(&HeaderName::ContentType, parse_media_type)
    }

    /// Accept media ranges.
    pub fn accept(&self) -> Result<Vec<MediaType>, ParseError> {
        self.list(&HeaderName::Accept, parse_media_type)
    }

    /// Expires, saturating at 2^32-1.
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.single(&HeaderName::Expires, |_, v| {
            parse_delta(v).ok_or("expected delta-seconds")
        })
    }

    /// Supported option tags.
    pub fn supported(&self) -> Result<Vec<Bytes>, ParseError> {
        self.tokens(&HeaderName::Supported)
    }

    /// Require option tags.
    pub fn require(&self) -> Result<Vec<Bytes>, ParseError> {
        self.tokens(&HeaderName::Require)
    }

    /// Proxy-Require option tags.
    pub fn proxy_require(&self) -> Result<Vec<Bytes>, ParseError> {
        self.tokens(&HeaderName::ProxyRequire)
    }

    /// Unsupported option tags.
    pub fn unsupported(&self) -> Result<Vec<Bytes>, ParseError> {
        self.tokens(&HeaderName::Unsupported)
    }

    /// Allow methods.
    pub fn allow(&self) -> Result<Vec<Method>, ParseError> {
        let name = HeaderName::Allow;
        self.tokens(&name)?
            .iter()
            .map(|t| Method::from_bytes(t).ok_or_else(|| self.invalid(&name, "invalid method")))
            .collect()
    }

    /// RSeq (RFC 3262).
    pub fn rseq(&self) -> Result<Option<u32>, ParseError> {
        self.single(&HeaderName::RSeq, |_, v| parse_u32(v).ok_or("invalid RSeq"))
    }

    /// RAck (RFC 3262).
    pub fn rack(&self) -> Result<Option<RAck>, ParseError> {
        self.single(&HeaderName::RAck, parse_rack)
    }

    /// Authorization credentials, in order (several may share one header line).
    pub fn authorization(&self) -> Result<Vec<AuthValue>, ParseError> {
        self.auth_values(&HeaderName::Authorization)
    }

    /// Proxy-Authorization credentials, in order (several may share one header line).
    pub fn proxy_authorization(&self) -> Result<Vec<AuthValue>, ParseError> {
        self.auth_values(&HeaderName::ProxyAuthorization)
    }

    /// WWW-Authenticate challenges, in order (several may share one header line).
    pub fn www_authenticate(&self) -> Result<Vec<AuthValue>, ParseError> {
        self.auth_values(&HeaderName::WwwAuthenticate)
    }

    /// Proxy-Authenticate challenges, in order (several may share one header line).
    pub fn proxy_authenticate(&self) -> Result<Vec<AuthValue>, ParseError> {
        self.auth_values(&HeaderName::ProxyAuthenticate)
    }

    /// Session-Expires (RFC 4028).
    pub fn session_expires(&self) -> Result<Option<SessionExpires>, ParseError> {
        self.single(&HeaderName::SessionExpires, parse_session_expires)
    }

    /// Min-SE (RFC 4028).
    pub fn min_se(&self) -> Result<Option<MinSe>, ParseError> {
        self.single(&HeaderName::MinSe, parse_min_se)
    }

    /// Reason values (RFC 3326).
    pub fn reasons(&self) -> Result<Vec<Reason>, ParseError> {
        self.list(&HeaderName::Reason, parse_reason)
    }

    /// Diversion values (RFC 5806).
    pub fn diversion(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.list(&HeaderName::Diversion, parse_name_addr)
    }

    /// History-Info entries (RFC 7044); see [`NameAddr::index`].
    pub fn history_info(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.list(&HeaderName::HistoryInfo, parse_name_addr)
    }

    /// P-Asserted-Identity values (RFC 3325).
    pub fn p_asserted_identity(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.list(&HeaderName::PAssertedIdentity, parse_name_addr)
    }

    /// Retry-After.
    pub fn retry_after(&self) -> Result<Option<RetryAfter>, ParseError> {
        self.single(&HeaderName::RetryAfter, parse_retry_after)
    }

    /// Warning values.
    pub fn warnings(&self) -> Result<Vec<Warning>, ParseError> {
        self.list(&HeaderName::Warning, parse_warning)
    }

    fn auth_values(&self, name: &HeaderName) -> Result<Vec<AuthValue>, ParseError> {
        let mut out = Vec::new();
        for h in self.headers_named(name) {
            out.extend(parse_auth_list(h.base(), h.value()).map_err(|r| self.invalid(name, r))?);
        }
        Ok(out)
    }
}
