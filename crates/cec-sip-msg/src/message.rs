//! The message: start line, raw headers in order, body.

use bytes::Bytes;

use crate::error::{Origin, ParseError};
use crate::header::{Header, HeaderName};
use crate::method::Method;
use crate::print::Print;
use crate::uri::Uri;

/// Request line: method and Request-URI (the version is always SIP/2.0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLine {
    /// Method.
    pub method: Method,
    /// Request-URI.
    pub uri: Uri,
}

/// Status line: code and reason phrase (any bytes, may be empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    /// Status code, 100 to 699.
    pub code: u16,
    /// Reason phrase as received.
    pub reason: Bytes,
}

/// Request or status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// A request.
    Request(RequestLine),
    /// A response.
    Response(StatusLine),
}

/// A SIP message. Headers are kept raw and in order; typed accessors parse
/// on demand. Equality ignores raw formatting: same start line, same header
/// names and values, same body.
#[derive(Debug, Clone)]
pub struct Message {
    start: StartLine,
    /// Start line as received, printed as-is while unmodified.
    raw_start: Option<Bytes>,
    headers: Vec<Header>,
    body: Bytes,
    /// Whether printing must add a missing Content-Length.
    add_content_length: bool,
}

impl PartialEq for Message {
    fn eq(&self, other: &Self) -> bool {
        self.start == other.start && self.headers == other.headers && self.body == other.body
    }
}

impl Eq for Message {}

impl Message {
    pub(crate) fn from_parts(
        start: StartLine,
        raw_start: Bytes,
        headers: Vec<Header>,
        body: Bytes,
    ) -> Message {
        Message {
            start,
            raw_start: Some(raw_start),
            headers,
            body,
            add_content_length: false,
        }
    }

    /// A new request with no headers.
    pub fn request(method: Method, uri: Uri) -> Message {
        Message {
            start: StartLine::Request(RequestLine { method, uri }),
            raw_start: None,
            headers: Vec::new(),
            body: Bytes::new(),
            add_content_length: true,
        }
    }

    /// A new response with no headers. Codes outside 100..=699 are clamped
    /// into range so the result always re-parses.
    pub fn response(code: u16, reason: impl Into<Bytes>) -> Message {
        Message {
            start: StartLine::Response(StatusLine {
                code: code.clamp(100, 699),
                reason: reason.into(),
            }),
            raw_start: None,
            headers: Vec::new(),
            body: Bytes::new(),
            add_content_length: true,
        }
    }

    /// Builds a response to `req` per RFC 3261 §8.2.6: copies every Via (in
    /// order), From, To, Call-ID and CSeq, and adds `to_tag` to To when
    /// given and To has no tag yet. Fails if To cannot be parsed while a tag
    /// must be added.
    pub fn response_to(
        req: &Message,
        code: u16,
        reason: impl Into<Bytes>,
        to_tag: Option<&[u8]>,
    ) -> Result<Message, ParseError> {
        let mut resp = Message::response(code, reason);
        for h in &req.headers {
            match h.name() {
                HeaderName::Via | HeaderName::From | HeaderName::CallId | HeaderName::CSeq => {
                    resp.headers.push(h.clone());
                }
                HeaderName::To => match to_tag {
                    Some(tag) => {
                        let mut to = req.to()?;
                        if to.tag().is_none() {
                            to.set_tag(Bytes::copy_from_slice(tag));
                        }
                        resp.headers.push(Header::typed(HeaderName::To, &to));
                    }
                    None => resp.headers.push(h.clone()),
                },
                _ => {}
            }
        }
        Ok(resp)
    }

    /// Start line.
    pub fn start_line(&self) -> &StartLine {
        &self.start
    }

    pub(crate) fn raw_start_line(&self) -> Option<&Bytes> {
        self.raw_start.as_ref()
    }

    pub(crate) fn adds_content_length(&self) -> bool {
        self.add_content_length
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request(_))
    }

    /// Request or response, for error context.
    pub fn origin(&self) -> Origin {
        if self.is_request() {
            Origin::Request
        } else {
            Origin::Response
        }
    }

    /// The request method (`None` for a response).
    pub fn method(&self) -> Option<&Method> {
        match &self.start {
            StartLine::Request(r) => Some(&r.method),
            StartLine::Response(_) => None,
        }
    }

    /// The Request-URI (`None` for a response).
    pub fn request_uri(&self) -> Option<&Uri> {
        match &self.start {
            StartLine::Request(r) => Some(&r.uri),
            StartLine::Response(_) => None,
        }
    }

    /// The status code (`None` for a request).
    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response(s) => Some(s.code),
            StartLine::Request(_) => None,
        }
    }

    /// The reason phrase (`None` for a request).
    pub fn reason(&self) -> Option<&Bytes> {
        match &self.start {
            StartLine::Response(s) => Some(&s.reason),
            StartLine::Request(_) => None,
        }
    }

    /// All headers, in order.
    pub fn headers(&self) -> &[Header] {
        &self.headers
    }

    /// Headers with the given name, in order.
    pub fn headers_named<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a Header> {
        self.headers.iter().filter(move |h| h.name() == name)
    }

    /// First header with the given name.
    pub fn header(&self, name: &HeaderName) -> Option<&Header> {
        self.headers.iter().find(|h| h.name() == name)
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Replaces the Request-URI (no effect on a response).
    pub fn set_request_uri(&mut self, uri: Uri) {
        if let StartLine::Request(r) = &mut self.start {
            r.uri = uri;
            self.raw_start = None;
        }
    }

    /// Replaces the method (no effect on a response).
    pub fn set_method(&mut self, method: Method) {
        if let StartLine::Request(r) = &mut self.start {
            r.method = method;
            self.raw_start = None;
        }
    }

    /// Replaces status code and reason (no effect on a request).
    pub fn set_status(&mut self, code: u16, reason: impl Into<Bytes>) {
        if let StartLine::Response(s) = &mut self.start {
            s.code = code.clamp(100, 699);
            s.reason = reason.into();
            self.raw_start = None;
        }
    }

    /// Replaces the body; Content-Length is fixed when printing.
    pub fn set_body(&mut self, body: impl Into<Bytes>) {
        self.body = body.into();
        self.add_content_length = true;
    }

    /// Appends a header.
    pub fn push_header(&mut self, header: Header) {
        self.headers.push(header);
    }

    /// Appends a header from name and raw value.
    pub fn push(&mut self, name: HeaderName, value: &[u8]) {
        self.headers.push(Header::new(name, value));
    }

    /// Appends a typed header value.
    pub fn push_typed(&mut self, name: HeaderName, value: &impl Print) {
        self.headers.push(Header::typed(name, value));
    }

    /// Inserts a header before the first header with the same name, or
    /// appends it (how a proxy adds its Via on top).
    pub fn insert_top(&mut self, header: Header) {
        match self.headers.iter().position(|h| h.name() == header.name()) {
            Some(i) => self.headers.insert(i, header),
            None => self.headers.push(header),
        }
    }

    /// Inserts a header at a position (clamped to the end).
    pub fn insert_header(&mut self, index: usize, header: Header) {
        let i = index.min(self.headers.len());
        self.headers.insert(i, header);
    }

    /// Removes every header with this name; returns how many.
    pub fn remove_header(&mut self, name: &HeaderName) -> usize {
        let before = self.headers.len();
        self.headers.retain(|h| h.name() != name);
        before - self.headers.len()
    }

    /// Removes and returns the first header with this name.
    pub fn remove_first(&mut self, name: &HeaderName) -> Option<Header> {
        let i = self.headers.iter().position(|h| h.name() == name)?;
        Some(self.headers.remove(i))
    }

    /// Replaces all headers of this name by one, at the position of the
    /// first one (or appended).
    pub fn set_header(&mut self, header: Header) {
        let name = header.name().clone();
        match self.headers.iter().position(|h| *h.name() == name) {
            Some(i) => {
                if let Some(slot) = self.headers.get_mut(i) {
                    *slot = header;
                }
                let mut idx = 0;
                self.headers.retain(|h| {
                    let keep = idx <= i || *h.name() != name;
                    idx += 1;
                    keep
                });
            }
            None => self.headers.push(header),
        }
    }

    /// Like [`Message::set_header`] with a typed value.
    pub fn set_typed(&mut self, name: HeaderName, value: &impl Print) {
        self.set_header(Header::typed(name, value));
    }
}
