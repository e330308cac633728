//! Header names and raw header lines.
//!
//! A parsed [`Header`] keeps its whole raw line (name, separator, value and
//! any folding) so unmodified headers print back byte-exact; the value is a
//! zero-copy view into it.

mod auth;
mod simple;
mod via;

pub use auth::{AuthParam, AuthValue};
pub use simple::{
    CSeq, MediaType, MinSe, RAck, Reason, Refresher, RetryAfter, SessionExpires, Warning,
};
pub use via::{Transport, Via};

pub(crate) use auth::parse_auth_list;
pub(crate) use simple::{
    is_rfc1123_date, parse_cseq, parse_media_type, parse_min_se, parse_rack, parse_reason,
    parse_retry_after, parse_session_expires, parse_token, parse_warning,
};
pub(crate) use via::{parse_via, via_is_routable};

use bytes::Bytes;

macro_rules! header_names {
    ($( $variant:ident => $canon:literal, [$($alias:literal),*] ;)*) => {
        /// A header name. Known names are recognised case-insensitively and
        /// in compact form; others are kept as [`HeaderName::Other`].
        #[derive(Debug, Clone, Eq)]
        #[non_exhaustive]
        pub enum HeaderName {
            $(
                #[doc = $canon]
                $variant,
            )*
            /// Any other header, name as written.
            Other(Bytes),
        }

        impl HeaderName {
            /// Canonical spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(HeaderName::$variant => $canon,)*
                    HeaderName::Other(b) => std::str::from_utf8(b).unwrap_or("?"),
                }
            }

            /// Canonical spelling, `'static` for known names.
            pub(crate) fn static_name(&self) -> &'static str {
                match self {
                    $(HeaderName::$variant => $canon,)*
                    HeaderName::Other(_) => "extension",
                }
            }

            fn from_lower(lower: &[u8]) -> Option<HeaderName> {
                Some(match lower {
                    $( $($alias)|* => HeaderName::$variant, )*
                    _ => return None,
                })
            }
        }
    };
}

header_names! {
    Via => "Via", [b"via", b"v"];
    From => "From", [b"from", b"f"];
    To => "To", [b"to", b"t"];
    CallId => "Call-ID", [b"call-id", b"i"];
    CSeq => "CSeq", [b"cseq"];
    Contact => "Contact", [b"contact", b"m"];
    MaxForwards => "Max-Forwards", [b"max-forwards"];
    ContentLength => "Content-Length", [b"content-length", b"l"];
    ContentType => "Content-Type", [b"content-type", b"c"];
    ContentEncoding => "Content-Encoding", [b"content-encoding", b"e"];
    ContentDisposition => "Content-Disposition", [b"content-disposition"];
    Route => "Route", [b"route"];
    RecordRoute => "Record-Route", [b"record-route"];
    Expires => "Expires", [b"expires"];
    MinExpires => "Min-Expires", [b"min-expires"];
    Supported => "Supported", [b"supported", b"k"];
    Require => "Require", [b"require"];
    ProxyRequire => "Proxy-Require", [b"proxy-require"];
    Unsupported => "Unsupported", [b"unsupported"];
    Allow => "Allow", [b"allow"];
    Accept => "Accept", [b"accept"];
    Subject => "Subject", [b"subject", b"s"];
    Event => "Event", [b"event", b"o"];
    AllowEvents => "Allow-Events", [b"allow-events", b"u"];
    ReferTo => "Refer-To", [b"refer-to", b"r"];
    ReferredBy => "Referred-By", [b"referred-by", b"b"];
    SessionExpires => "Session-Expires", [b"session-expires", b"x"];
    MinSe => "Min-SE", [b"min-se"];
    RSeq => "RSeq", [b"rseq"];
    RAck => "RAck", [b"rack"];
    Authorization => "Authorization", [b"authorization"];
    ProxyAuthorization => "Proxy-Authorization", [b"proxy-authorization"];
    WwwAuthenticate => "WWW-Authenticate", [b"www-authenticate"];
    ProxyAuthenticate => "Proxy-Authenticate", [b"proxy-authenticate"];
    Reason => "Reason", [b"reason"];
    Diversion => "Diversion", [b"diversion"];
    HistoryInfo => "History-Info", [b"history-info"];
    PAssertedIdentity => "P-Asserted-Identity", [b"p-asserted-identity"];
    PPreferredIdentity => "P-Preferred-Identity", [b"p-preferred-identity"];
    RetryAfter => "Retry-After", [b"retry-after"];
    Warning => "Warning", [b"warning"];
    Date => "Date", [b"date"];
    UserAgent => "User-Agent", [b"user-agent"];
    Server => "Server", [b"server"];
    Timestamp => "Timestamp", [b"timestamp"];
    AcceptContact => "Accept-Contact", [b"accept-contact", b"a"];
    RejectContact => "Reject-Contact", [b"reject-contact", b"j"];
    RequestDisposition => "Request-Disposition", [b"request-disposition", b"d"];
    Identity => "Identity", [b"identity", b"y"];
    Path => "Path", [b"path"];
    ServiceRoute => "Service-Route", [b"service-route"];
    Privacy => "Privacy", [b"privacy"];
}

impl HeaderName {
    /// Recognises a header name (case-insensitive, compact forms).
    pub fn from_bytes(name: &[u8]) -> HeaderName {
        HeaderName::from_bytes_known(name)
            .unwrap_or_else(|| HeaderName::Other(Bytes::copy_from_slice(name)))
    }

    #[inline]
    fn from_bytes_known(name: &[u8]) -> Option<HeaderName> {
        // Lower-case into a fixed buffer with a fixed-size copy (no memcpy call), then match.
        const MAX: usize = 24;
        if name.len() > MAX {
            return None;
        }
        let mut buf = [0u8; MAX];
        for (dst, src) in buf.iter_mut().zip(name) {
            *dst = src.to_ascii_lowercase();
        }
        HeaderName::from_lower(buf.get(..name.len())?)
    }
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (HeaderName::Other(a), HeaderName::Other(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl std::hash::Hash for HeaderName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        // Consistent with the case-insensitive PartialEq.
        if let HeaderName::Other(b) = self {
            for c in b.iter() {
                state.write_u8(c.to_ascii_lowercase());
            }
        }
    }
}

impl From<&str> for HeaderName {
    fn from(s: &str) -> Self {
        HeaderName::from_bytes(s.as_bytes())
    }
}

/// One header line: a name and its raw value.
#[derive(Debug, Clone)]
pub struct Header {
    name: HeaderName,
    raw: Bytes,
    value_start: usize,
    value_end: usize,
}

impl Header {
    /// Builds a header from a name and a value. CR and LF in the value
    /// become spaces (no header injection); surrounding whitespace is trimmed.
    pub fn new(name: HeaderName, value: &[u8]) -> Header {
        let canon = name.as_str();
        let mut raw = Vec::with_capacity(canon.len() + 2 + value.len());
        raw.extend_from_slice(canon.as_bytes());
        raw.extend_from_slice(b": ");
        let value_start = raw.len();
        raw.extend(
            crate::text::trim(value)
                .iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        let value_end = raw.len();
        Header {
            name,
            raw: Bytes::from(raw),
            value_start,
            value_end,
        }
    }

    /// Builds a header from a typed value.
    pub fn typed(name: HeaderName, value: &impl crate::print::Print) -> Header {
        Header::new(name, &value.to_vec())
    }

    /// Appends the header line `base[start..end]` to `headers`; the value is built at the
    /// push site so that parsing a header section copies nothing per header.
    #[inline]
    pub(crate) fn push_line(
        headers: &mut Vec<Header>,
        base: &Bytes,
        start: usize,
        end: usize,
    ) -> Result<(), &'static str> {
        let line = base.get(start..end).unwrap_or_default();
        let (name_end, value_start, value_end) = Header::split_line(line)?;
        let name = HeaderName::from_bytes_known(line.get(..name_end).unwrap_or_default())
            .unwrap_or_else(|| HeaderName::Other(base.slice(start..start + name_end)));
        headers.push(Header {
            name,
            raw: base.slice(start..end),
            value_start,
            value_end,
        });
        Ok(())
    }

    /// Offsets of the name end and of the trimmed value within one header line.
    #[inline]
    fn split_line(line: &[u8]) -> Result<(usize, usize, usize), &'static str> {
        let colon = memchr::memchr(b':', line).ok_or("header line without ':'")?;
        let name = line.get(..colon).unwrap_or_default().trim_ascii_end();
        if !crate::text::is_token_str(name) {
            return Err("invalid header name");
        }
        let after = line.get(colon + 1..).unwrap_or_default();
        let lead = after.len() - after.trim_ascii_start().len();
        let value_start = colon + 1 + lead;
        let value_end = value_start + after.trim_ascii().len();
        Ok((name.len(), value_start, value_end))
    }

    /// The header name.
    pub fn name(&self) -> &HeaderName {
        &self.name
    }

    /// The raw value, trimmed (folding, if any, still inside).
    pub fn value(&self) -> &[u8] {
        self.raw
            .get(self.value_start..self.value_end)
            .unwrap_or_default()
    }

    /// The raw value as a zero-copy `Bytes`.
    pub fn value_bytes(&self) -> Bytes {
        crate::text::cut(&self.raw, self.value())
    }

    /// The whole line as received or built (no CRLF).
    pub fn raw_line(&self) -> &Bytes {
        &self.raw
    }

    /// The `Bytes` that `value()` points into (for zero-copy sub-slices).
    pub(crate) fn base(&self) -> &Bytes {
        &self.raw
    }
}

impl PartialEq for Header {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.value() == other.value()
    }
}

impl Eq for Header {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(HeaderName::from_bytes(b"v"), HeaderName::Via);
        assert_eq!(
            HeaderName::from_bytes(b"MaX-fOrWaRdS"),
            HeaderName::MaxForwards
        );
        assert_eq!(HeaderName::from_bytes(b"l"), HeaderName::ContentLength);
        assert_eq!(
            HeaderName::from_bytes(b"X-Foo"),
            HeaderName::from_bytes(b"x-foo")
        );
        assert!(matches!(
            HeaderName::from_bytes(b"C%6Fntact"),
            HeaderName::Other(_)
        ));
        assert!(matches!(
            HeaderName::from_bytes(&[b'a'; 40]),
            HeaderName::Other(_)
        ));
    }

    fn from_raw(line: &'static [u8]) -> Result<Header, &'static str> {
        let mut headers = Vec::new();
        Header::push_line(&mut headers, &Bytes::from_static(line), 0, line.len())?;
        Ok(headers.remove(0))
    }

    #[test]
    fn raw_lines() {
        let h = from_raw(b"TO :\r\n sip:a@b ;tag=1").unwrap();
        assert_eq!(h.name(), &HeaderName::To);
        assert_eq!(h.value(), b"sip:a@b ;tag=1");
        let e = from_raw(b"s :").unwrap();
        assert_eq!(e.value(), b"");
        assert!(from_raw(b"no colon").is_err());
        assert!(from_raw(b"bad name: x").is_err());
        let n = Header::new(HeaderName::Subject, b" a\r\nb ");
        assert_eq!(n.raw_line().as_ref(), b"Subject: a  b");
    }
}
