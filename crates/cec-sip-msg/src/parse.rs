//! Start line and header section parsing, shared by datagram and stream
//! framing. One pass over the bytes, no copies: each header keeps a
//! zero-copy slice of the input.

use bytes::Bytes;

use crate::error::{Origin, ParseError, ParseErrorKind};
use crate::framing::Limits;
use crate::header::{Header, HeaderName};
use crate::message::{RequestLine, StartLine, StatusLine};
use crate::method::Method;
use crate::text::{split_commas, trim};
use crate::uri::parse_uri;

type Kind = ParseErrorKind;

/// A parsed header section.
#[derive(Debug)]
pub(crate) struct Head {
    pub start: StartLine,
    pub raw_start: Bytes,
    pub headers: Vec<Header>,
    pub content_length: Option<usize>,
}

/// Index just past the empty line ending the header section, or, if not
/// found yet, `Err(offset)` from which a later search may resume.
pub(crate) fn find_head_end(buf: &[u8], from: usize) -> Result<usize, usize> {
    let tail = buf.get(from..).unwrap_or_default();
    for i in memchr::memchr_iter(b'\n', tail).map(|i| i + from) {
        match (buf.get(i + 1), buf.get(i + 2)) {
            (Some(b'\n'), _) => return Ok(i + 2),
            (Some(b'\r'), Some(b'\n')) => return Ok(i + 3),
            (None, _) | (Some(b'\r'), None) => return Err(i),
            _ => {}
        }
    }
    Err(buf.len())
}

/// Strips one trailing CR (lines may end in CRLF or bare LF).
fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Parses `head` (start line through the empty line). Errors carry the
/// origin and whether a Via could be found, for the response decision.
pub(crate) fn parse_head(head: &Bytes, limits: &Limits) -> Result<Head, ParseError> {
    parse_head_inner(head, limits)
        .map(|(h, _)| h)
        .map_err(|k| error_with_context(k, head))
}

/// Parses the header section at the start of `msg` in the same pass that finds its end;
/// returns the head and the offset just past the empty line (datagram framing).
pub(crate) fn parse_head_prefix(msg: &Bytes, limits: &Limits) -> Result<(Head, usize), ParseError> {
    parse_head_inner(msg, limits).map_err(|k| error_with_context(k, msg))
}

pub(crate) fn error_with_context(kind: Kind, raw: &[u8]) -> ParseError {
    let (origin, via) = sniff(raw);
    ParseError::new(kind).with_context(origin, via)
}

fn parse_head_inner(head: &Bytes, limits: &Limits) -> Result<(Head, usize), Kind> {
    let s: &[u8] = head;
    let first_lf = memchr::memchr(b'\n', s).ok_or(Kind::Incomplete)?;
    let start_end = strip_cr(s.get(..first_lf).unwrap_or_default()).len();
    let raw_start = head.slice(..start_end);
    let start = parse_start_line(head, &raw_start)?;
    let mut headers = Vec::with_capacity(16);
    let mut content_length = None;
    let mut cur: Option<(usize, usize)> = None;
    let mut pos = first_lf + 1;
    loop {
        let lf = memchr::memchr(b'\n', s.get(pos..).unwrap_or_default()).ok_or(Kind::Incomplete)?;
        let line_end = pos + lf;
        let line = strip_cr(s.get(pos..line_end).unwrap_or_default());
        let content_end = pos + line.len();
        match line.first() {
            None => {
                finish(head, cur, limits, &mut headers, &mut content_length)?;
                pos = line_end + 1;
                break;
            }
            Some(b' ' | b'\t') => match &mut cur {
                Some((_, end)) => *end = content_end,
                None => return Err(Kind::BadHeaderLine("continuation line without a header")),
            },
            Some(_) => {
                finish(head, cur, limits, &mut headers, &mut content_length)?;
                cur = Some((pos, content_end));
            }
        }
        pos = line_end + 1;
    }
    Ok((
        Head {
            start,
            raw_start,
            headers,
            content_length,
        },
        pos,
    ))
}

fn finish(
    head: &Bytes,
    cur: Option<(usize, usize)>,
    limits: &Limits,
    headers: &mut Vec<Header>,
    content_length: &mut Option<usize>,
) -> Result<(), Kind> {
    let Some((start, end)) = cur else {
        return Ok(());
    };
    if end - start > limits.max_header_line {
        return Err(Kind::HeaderLineTooLong);
    }
    if headers.len() >= limits.max_headers {
        return Err(Kind::TooManyHeaders);
    }
    Header::push_line(headers, head, start, end).map_err(Kind::BadHeaderLine)?;
    let Some(h) = headers.last() else {
        return Ok(());
    };
    if *h.name() == HeaderName::ContentLength {
        let v = h.value();
        if v.first() == Some(&b'-') {
            return Err(Kind::ContentLength("negative value"));
        }
        let n = crate::text::parse_u32(v)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(Kind::ContentLength("not a number"))?;
        if content_length.is_some_and(|old| old != n) {
            return Err(Kind::ContentLength("conflicting values"));
        }
        *content_length = Some(n);
    }
    Ok(())
}

fn is_sip_version_prefix(s: &[u8]) -> bool {
    s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
}

fn parse_start_line(base: &Bytes, line: &[u8]) -> Result<StartLine, Kind> {
    if is_sip_version_prefix(line) {
        return parse_status_line(base, line);
    }
    let sp = memchr::memchr(b' ', line).ok_or(Kind::BadStartLine("no space in request line"))?;
    let method = Method::from_bytes(line.get(..sp).unwrap_or_default())
        .ok_or(Kind::BadStartLine("invalid method"))?;
    let rest = line.get(sp + 1..).unwrap_or_default();
    let lsp = memchr::memrchr(b' ', rest).ok_or(Kind::BadStartLine("missing SIP version"))?;
    let version = rest.get(lsp + 1..).unwrap_or_default();
    if !version.eq_ignore_ascii_case(b"SIP/2.0") {
        return Err(if is_sip_version_prefix(version) {
            Kind::VersionNotSupported
        } else {
            Kind::BadStartLine("invalid SIP version (extra or trailing whitespace?)")
        });
    }
    let uri = rest.get(..lsp).unwrap_or_default();
    if uri.is_empty() {
        return Err(Kind::BadStartLine("empty Request-URI (extra whitespace?)"));
    }
    if uri.iter().any(|&b| b == b' ' || b == b'\t') {
        return Err(Kind::BadRequestUri("whitespace in Request-URI"));
    }
    let uri = parse_uri(base, uri).map_err(Kind::BadRequestUri)?;
    Ok(StartLine::Request(RequestLine { method, uri }))
}

fn parse_status_line(base: &Bytes, line: &[u8]) -> Result<StartLine, Kind> {
    let sp = memchr::memchr(b' ', line).ok_or(Kind::BadStartLine("no status code"))?;
    if !line
        .get(..sp)
        .is_some_and(|v| v.eq_ignore_ascii_case(b"SIP/2.0"))
    {
        return Err(Kind::VersionNotSupported);
    }
    let rest = line.get(sp + 1..).unwrap_or_default();
    let (code, reason) = match memchr::memchr(b' ', rest) {
        Some(i) => (
            rest.get(..i).unwrap_or_default(),
            rest.get(i + 1..).unwrap_or_default(),
        ),
        None => (rest, &b""[..]),
    };
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        return Err(Kind::BadStartLine("status code must have three digits"));
    }
    let code = code.iter().fold(0u16, |a, &d| a * 10 + u16::from(d - b'0'));
    if !(100..=699).contains(&code) {
        return Err(Kind::BadStartLine("status code out of range"));
    }
    Ok(StartLine::Response(StatusLine {
        code,
        reason: crate::text::cut(base, reason),
    }))
}

/// Best-effort classification of a message that failed to parse: request
/// or response, and whether its first Via value parses (so that an error
/// response could be routed). Linear in the input.
pub(crate) fn sniff(raw: &[u8]) -> (Origin, bool) {
    let s = raw.trim_ascii_start();
    let first = s.split(|&b| b == b'\n').next().unwrap_or_default();
    let origin = if is_sip_version_prefix(first) {
        Origin::Response
    } else if memchr::memchr(b' ', first)
        .and_then(|sp| first.get(..sp))
        .is_some_and(crate::text::is_token_str)
    {
        Origin::Request
    } else {
        Origin::Unknown
    };
    (origin, sniff_via(s))
}

fn sniff_via(s: &[u8]) -> bool {
    let mut lines = s.split(|&b| b == b'\n').skip(1).peekable();
    while let Some(line) = lines.next() {
        let line = strip_cr(line);
        if line.is_empty() {
            return false;
        }
        let Some(colon) = memchr::memchr(b':', line) else {
            continue;
        };
        let name = trim(line.get(..colon).unwrap_or_default());
        if HeaderName::from_bytes(name) != HeaderName::Via {
            continue;
        }
        let mut value = line.get(colon + 1..).unwrap_or_default().to_vec();
        while let Some(next) =
            lines.next_if(|l| l.first().is_some_and(|&b| b == b' ' || b == b'\t'))
        {
            value.push(b' ');
            value.extend_from_slice(strip_cr(next));
        }
        let value = Bytes::from(value);
        return split_commas(&value)
            .next()
            .and_then(Result::ok)
            .is_some_and(|v| crate::header::via_is_routable(&value, v));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_end() {
        assert_eq!(find_head_end(b"A\r\n\r\nbody", 0), Ok(5));
        assert_eq!(find_head_end(b"A\n\nbody", 0), Ok(3));
        assert_eq!(find_head_end(b"A\r\nB: c\r\n", 0), Err(8));
        assert_eq!(find_head_end(b"A\r\nB: c\r\n\r", 0), Err(8));
        assert_eq!(find_head_end(b"A\r\nB", 0), Err(4));
    }

    fn start(s: &'static [u8]) -> Result<StartLine, Kind> {
        let b = Bytes::from_static(s);
        parse_start_line(&b, &b)
    }

    #[test]
    fn start_lines() {
        assert!(start(b"INVITE sip:a@b SIP/2.0").is_ok());
        assert!(start(b"INVITE sip:a@b sip/2.0").is_ok());
        assert_eq!(
            start(b"INVITE sip:a@b SIP/7.0"),
            Err(Kind::VersionNotSupported)
        );
        assert!(matches!(
            start(b"INVITE  sip:a@b  SIP/2.0"),
            Err(Kind::BadRequestUri(_))
        ));
        assert!(matches!(
            start(b"INVITE sip:a@b SIP/2.0  "),
            Err(Kind::BadStartLine(_))
        ));
        assert!(matches!(
            start(b"SIP/2.0 4294967301 x"),
            Err(Kind::BadStartLine(_))
        ));
        assert!(matches!(
            start(b"SIP/2.0 099 x"),
            Err(Kind::BadStartLine(_))
        ));
        assert!(matches!(start(b"SIP/2.0 100 "), Ok(StartLine::Response(_))));
        assert!(matches!(start(b"SIP/2.0 180"), Ok(StartLine::Response(_))));
        assert!(start(b"").is_err());
    }

    #[test]
    fn sniffing() {
        let (o, v) = sniff(b"OPTIONS x SIP/2.0\r\nv: SIP/2.0/UDP h\r\n ;branch=z\r\n\r\n");
        assert_eq!((o, v), (Origin::Request, true));
        let (o, v) = sniff(b"SIP/2.0 200 OK\r\nTo: x\r\n\r\n");
        assert_eq!((o, v), (Origin::Response, false));
        assert_eq!(sniff(b"\x00\x01").0, Origin::Unknown);
    }
}
