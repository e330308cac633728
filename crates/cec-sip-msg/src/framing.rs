//! Message framing: one message per datagram (RFC 3261 §18.3: the body
//! runs to the end of the datagram without Content-Length; extra bytes
//! after Content-Length are ignored), or a byte stream where Content-Length
//! is mandatory and CRLF keep-alives (RFC 5626 §3.5.1) are reported.

use bytes::{Bytes, BytesMut};

use crate::error::{ParseError, ParseErrorKind};
use crate::message::Message;
use crate::parse::{Head, error_with_context, find_head_end, parse_head, parse_head_prefix};

/// Resource limits; exceeding one is an error mapped to 513 (or 413 for the
/// body).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum size of a whole message (header section plus body).
    pub max_message_size: usize,
    /// Maximum number of header lines.
    pub max_headers: usize,
    /// Maximum length of one header, continuation lines included.
    pub max_header_line: usize,
    /// Maximum body size.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_size: 64 * 1024,
            max_headers: 256,
            max_header_line: 8 * 1024,
            max_body: 64 * 1024,
        }
    }
}

fn leading_crlf(s: &[u8]) -> usize {
    s.iter().take_while(|&&b| b == b'\r' || b == b'\n').count()
}

/// Parses one datagram with default [`Limits`].
pub fn parse_datagram(data: Bytes) -> Result<Message, ParseError> {
    parse_datagram_with(data, &Limits::default())
}

/// Parses one datagram. The input is kept (zero-copy) by the message.
pub fn parse_datagram_with(data: Bytes, limits: &Limits) -> Result<Message, ParseError> {
    if data.len() > limits.max_message_size {
        return Err(error_with_context(ParseErrorKind::MessageTooLarge, &data));
    }
    let lead = leading_crlf(&data);
    let msg = if lead == 0 { data } else { data.slice(lead..) };
    let (h, end) = parse_head_prefix(&msg, limits)?;
    let head = msg.get(..end).unwrap_or_default();
    let rest = msg.slice(end..);
    let body = match h.content_length {
        Some(n) if n > rest.len() => {
            return Err(error_with_context(
                ParseErrorKind::ContentLength("larger than the datagram"),
                head,
            ));
        }
        Some(n) => rest.slice(..n),
        None => rest,
    };
    if body.len() > limits.max_body {
        return Err(error_with_context(ParseErrorKind::BodyTooLarge, head));
    }
    Ok(Message::from_parts(h.start, h.raw_start, h.headers, body))
}

/// What a [`StreamDecoder`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // Messages are the common case; boxing costs.
pub enum StreamItem {
    /// A complete message.
    Message(Message),
    /// A double-CRLF keep-alive ping: answer with a single CRLF.
    Ping,
    /// A single-CRLF keep-alive pong.
    Pong,
}

/// Incremental decoder for stream transports (TCP, TLS). Feed bytes with
/// [`StreamDecoder::feed`], then call [`StreamDecoder::next_item`] until it
/// returns `Ok(None)` (need more data).
///
/// A lone CRLF at the very end of the buffered data is reported as a pong;
/// a CRLF followed by a message is skipped. Once an error is returned the
/// framing is lost: every later call returns the same error and the
/// connection should be closed.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    buf: BytesMut,
    limits: Limits,
    scanned: usize,
    pending: Option<PendingHead>,
    failed: Option<ParseError>,
}

#[derive(Debug)]
struct PendingHead {
    head: Head,
    body_len: usize,
}

impl StreamDecoder {
    /// A decoder with default limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder with the given limits.
    pub fn with_limits(limits: Limits) -> Self {
        StreamDecoder {
            limits,
            ..Self::default()
        }
    }

    /// Appends received bytes.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes buffered and not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    fn fail(&mut self, e: ParseError) -> Result<Option<StreamItem>, ParseError> {
        self.failed = Some(e.clone());
        Err(e)
    }

    /// The next message or keep-alive; `Ok(None)` when more data is needed.
    pub fn next_item(&mut self) -> Result<Option<StreamItem>, ParseError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.pending.is_none() {
            if let Some(item) = self.keep_alive() {
                return Ok(item);
            }
            match find_head_end(&self.buf, self.scanned) {
                Err(resume) => {
                    self.scanned = resume;
                    if self.buf.len() > self.limits.max_message_size {
                        let e = error_with_context(ParseErrorKind::MessageTooLarge, &self.buf);
                        return self.fail(e);
                    }
                    return Ok(None);
                }
                Ok(end) => {
                    self.scanned = 0;
                    let head = self.buf.split_to(end).freeze();
                    let h = match parse_head(&head, &self.limits) {
                        Ok(h) => h,
                        Err(e) => return self.fail(e),
                    };
                    let Some(body_len) = h.content_length else {
                        let kind = ParseErrorKind::ContentLength("required on stream transports");
                        return self.fail(error_with_context(kind, &head));
                    };
                    if body_len > self.limits.max_body {
                        return self.fail(error_with_context(ParseErrorKind::BodyTooLarge, &head));
                    }
                    if head.len() + body_len > self.limits.max_message_size {
                        let e = error_with_context(ParseErrorKind::MessageTooLarge, &head);
                        return self.fail(e);
                    }
                    self.pending = Some(PendingHead { head: h, body_len });
                }
            }
        }
        match self.pending.take() {
            Some(p) if self.buf.len() >= p.body_len => {
                let body = self.buf.split_to(p.body_len).freeze();
                let h = p.head;
                Ok(Some(StreamItem::Message(Message::from_parts(
                    h.start,
                    h.raw_start,
                    h.headers,
                    body,
                ))))
            }
            other => {
                self.pending = other;
                Ok(None)
            }
        }
    }

    /// Handles CRLFs before a message. `Some(Ok(None))`-like result folded
    /// into `Option<Option<_>>`: `Some(x)` means return `x` now.
    fn keep_alive(&mut self) -> Option<Option<StreamItem>> {
        loop {
            let b = &self.buf[..];
            if b.starts_with(b"\r\n\r\n") {
                let _ = self.buf.split_to(4);
                return Some(Some(StreamItem::Ping));
            }
            match b {
                [] | [b'\r'] | [b'\r', b'\n', b'\r'] => return Some(None),
                [b'\r', b'\n'] => {
                    let _ = self.buf.split_to(2);
                    return Some(Some(StreamItem::Pong));
                }
                [b'\r', b'\n', ..] => {
                    let _ = self.buf.split_to(2);
                }
                [b'\n', ..] => {
                    let _ = self.buf.split_to(1);
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: 4\r\n\r\nbody";

    #[test]
    fn datagram_body_rules() {
        let m = parse_datagram(Bytes::from_static(OPTIONS)).unwrap();
        assert_eq!(&m.body()[..], b"body");
        let no_cl = b"OPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h\n\nxyz";
        assert_eq!(
            &parse_datagram(Bytes::from_static(no_cl)).unwrap().body()[..],
            b"xyz"
        );
        let short = b"OPTIONS sip:a@b SIP/2.0\r\nl: 10\r\n\r\nxyz";
        assert!(parse_datagram(Bytes::from_static(short)).is_err());
    }

    #[test]
    fn stream_keep_alives_and_messages() {
        let mut d = StreamDecoder::new();
        d.feed(b"\r\n\r\n");
        assert_eq!(d.next_item().unwrap(), Some(StreamItem::Ping));
        d.feed(b"\r\n");
        assert_eq!(d.next_item().unwrap(), Some(StreamItem::Pong));
        d.feed(b"\r\n");
        d.feed(OPTIONS);
        d.feed(OPTIONS);
        assert!(matches!(
            d.next_item().unwrap(),
            Some(StreamItem::Message(_))
        ));
        assert!(matches!(
            d.next_item().unwrap(),
            Some(StreamItem::Message(_))
        ));
        assert_eq!(d.next_item().unwrap(), None);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn too_large_maps_to_513_and_413() {
        let small = Limits {
            max_message_size: 40,
            ..Limits::default()
        };
        let e = parse_datagram_with(Bytes::from_static(OPTIONS), &small).unwrap_err();
        assert_eq!(e.response_status(), Some((513, "Message Too Large")));
        let no_body = Limits {
            max_body: 2,
            ..Limits::default()
        };
        let e = parse_datagram_with(Bytes::from_static(OPTIONS), &no_body).unwrap_err();
        assert_eq!(e.response_status(), Some((413, "Request Entity Too Large")));
        let few = Limits {
            max_headers: 1,
            ..Limits::default()
        };
        let e = parse_datagram_with(Bytes::from_static(OPTIONS), &few).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::TooManyHeaders);
        assert_eq!(e.response_status().map(|s| s.0), Some(513));
    }

    #[test]
    fn stream_limits() {
        let mut d = StreamDecoder::with_limits(Limits {
            max_message_size: 16,
            ..Limits::default()
        });
        d.feed(&[b'a'; 40]);
        assert!(d.next_item().is_err());
        assert!(d.next_item().is_err());
    }
}
