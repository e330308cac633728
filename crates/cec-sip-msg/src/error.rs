//! Structured parse errors and their mapping to the SIP response a UAS sends.

/// Whether the message that failed was a request, a response, or unknown
/// (the start line could not even be classified).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// A request: it may be answered with an error response.
    Request,
    /// A response: errors are never answered, the response is discarded.
    Response,
    /// Neither could be determined.
    Unknown,
}

/// What went wrong. Every variant carries static text so that mapping to a
/// response needs no allocation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The header section never ended (no empty line).
    #[error("incomplete message: header section not terminated")]
    Incomplete,
    /// The request line or status line is malformed.
    #[error("bad start line: {0}")]
    BadStartLine(&'static str),
    /// The SIP version is not 2.0.
    #[error("SIP version not supported")]
    VersionNotSupported,
    /// The Request-URI scheme is not sip, sips or tel.
    #[error("unsupported Request-URI scheme")]
    UnsupportedUriScheme,
    /// The Request-URI is syntactically wrong.
    #[error("bad Request-URI: {0}")]
    BadRequestUri(&'static str),
    /// A header line cannot be split into name and value.
    #[error("malformed header line: {0}")]
    BadHeaderLine(&'static str),
    /// A known header has a value that does not follow its grammar.
    #[error("invalid {name} header: {reason}")]
    InvalidHeader {
        /// Canonical header name.
        name: &'static str,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A mandatory header is absent.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A header allowed once appears several times.
    #[error("{0} header appears more than once")]
    DuplicateHeader(&'static str),
    /// The CSeq method differs from the request method.
    #[error("CSeq method does not match the request method")]
    CSeqMethodMismatch,
    /// Content-Length is invalid or does not fit the data.
    #[error("bad Content-Length: {0}")]
    ContentLength(&'static str),
    /// The message exceeds `Limits::max_message_size`.
    #[error("message too large")]
    MessageTooLarge,
    /// More headers than `Limits::max_headers`.
    #[error("too many headers")]
    TooManyHeaders,
    /// A header (with its continuation lines) exceeds `Limits::max_header_line`.
    #[error("header line too long")]
    HeaderLineTooLong,
    /// The body exceeds `Limits::max_body`.
    #[error("body too large")]
    BodyTooLarge,
}

/// A parse or validation error, with enough context to decide whether and
/// how to answer it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
#[non_exhaustive]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// Request, response or unknown.
    pub origin: Origin,
    /// Whether the top Via could be parsed, i.e. a response can be routed back.
    pub via_usable: bool,
}

impl ParseError {
    /// Builds an error without context (unknown origin, no usable Via).
    pub fn new(kind: ParseErrorKind) -> Self {
        ParseError {
            kind,
            origin: Origin::Unknown,
            via_usable: false,
        }
    }

    pub(crate) fn invalid(name: &'static str, reason: &'static str) -> Self {
        Self::new(ParseErrorKind::InvalidHeader { name, reason })
    }

    pub(crate) fn with_context(mut self, origin: Origin, via_usable: bool) -> Self {
        self.origin = origin;
        self.via_usable = via_usable;
        self
    }

    /// The response a UAS should send for this error: status code and a
    /// reason phrase naming the problem (use `to_string()` for a longer text
    /// to put in a Warning header).
    ///
    /// `None` when the message is a response (bad responses are discarded,
    /// never answered), when its kind is unknown, or when it has no usable
    /// Via to send the answer to.
    pub fn response_status(&self) -> Option<(u16, &'static str)> {
        if self.origin != Origin::Request || !self.via_usable {
            return None;
        }
        use ParseErrorKind as K;
        Some(match &self.kind {
            K::VersionNotSupported => (505, "Version Not Supported"),
            K::UnsupportedUriScheme => (416, "Unsupported URI Scheme"),
            K::MessageTooLarge | K::TooManyHeaders | K::HeaderLineTooLong => {
                (513, "Message Too Large")
            }
            K::BodyTooLarge => (413, "Request Entity Too Large"),
            K::Incomplete => (400, "Incomplete Message"),
            K::BadStartLine(_) => (400, "Bad Request Line"),
            K::BadRequestUri(_) => (400, "Bad Request-URI"),
            K::BadHeaderLine(_) => (400, "Malformed Header Line"),
            K::InvalidHeader { name, .. } => (400, bad_header_phrase(name)),
            K::MissingHeader(name) => (400, missing_header_phrase(name)),
            K::DuplicateHeader(_) => (400, "Duplicate Single-Value Header"),
            K::CSeqMethodMismatch => (400, "CSeq Method Mismatch"),
            K::ContentLength(_) => (400, "Bad Content-Length"),
        })
    }
}

fn bad_header_phrase(name: &str) -> &'static str {
    match name {
        "Via" => "Bad Via",
        "From" => "Bad From",
        "To" => "Bad To",
        "Call-ID" => "Bad Call-ID",
        "CSeq" => "Bad CSeq",
        "Contact" => "Bad Contact",
        "Max-Forwards" => "Bad Max-Forwards",
        "Content-Type" => "Bad Content-Type",
        "Date" => "Bad Date",
        _ => "Bad Header",
    }
}

fn missing_header_phrase(name: &str) -> &'static str {
    match name {
        "Via" => "Missing Via",
        "From" => "Missing From",
        "To" => "Missing To",
        "Call-ID" => "Missing Call-ID",
        "CSeq" => "Missing CSeq",
        _ => "Missing Header",
    }
}

/// Internal result for typed value parsers: the reason text only; the caller
/// adds the header name.
pub(crate) type Res<T> = Result<T, &'static str>;

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(kind: ParseErrorKind) -> Option<(u16, &'static str)> {
        ParseError::new(kind)
            .with_context(Origin::Request, true)
            .response_status()
    }

    /// The reason phrase names the header, so a peer's log says what was wrong.
    #[test]
    fn reason_phrases_name_the_header() {
        for (name, phrase) in [
            ("Via", "Bad Via"),
            ("From", "Bad From"),
            ("To", "Bad To"),
            ("Call-ID", "Bad Call-ID"),
            ("CSeq", "Bad CSeq"),
            ("Contact", "Bad Contact"),
            ("Max-Forwards", "Bad Max-Forwards"),
            ("Content-Type", "Bad Content-Type"),
            ("Date", "Bad Date"),
            ("Reason", "Bad Header"),
        ] {
            let kind = ParseErrorKind::InvalidHeader { name, reason: "x" };
            assert_eq!(answered(kind), Some((400, phrase)), "{name}");
        }
        for (name, phrase) in [
            ("Via", "Missing Via"),
            ("From", "Missing From"),
            ("To", "Missing To"),
            ("Call-ID", "Missing Call-ID"),
            ("CSeq", "Missing CSeq"),
            ("Expires", "Missing Header"),
        ] {
            let kind = ParseErrorKind::MissingHeader(name);
            assert_eq!(answered(kind), Some((400, phrase)), "{name}");
        }
    }

    #[test]
    fn only_requests_with_a_usable_via_are_answered() {
        let kind = || ParseErrorKind::VersionNotSupported;
        assert_eq!(answered(kind()), Some((505, "Version Not Supported")));
        let response = ParseError::new(kind()).with_context(Origin::Response, true);
        assert_eq!(response.response_status(), None);
        let no_via = ParseError::new(kind()).with_context(Origin::Request, false);
        assert_eq!(no_via.response_status(), None);
        assert_eq!(ParseError::new(kind()).response_status(), None);
    }
}
