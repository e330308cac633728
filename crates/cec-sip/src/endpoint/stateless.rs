//! Stateless answers to requests that cannot enter a transaction: malformed or invalid
//! requests get the status `ParseError::response_status` chooses (400/413/416/505/513), built
//! from whatever Via, From, To, Call-ID and CSeq lines can be salvaged (RFC 3261 §8.2.6 needs
//! exactly those), plus a Warning carrying the parser's explanation.

use bytes::Bytes;
use cec_sip_msg::{Header, HeaderName, Message, ParseError};

const COPIED: [HeaderName; 5] = [
    HeaderName::Via,
    HeaderName::From,
    HeaderName::To,
    HeaderName::CallId,
    HeaderName::CSeq,
];

/// Builds the error response for a request that failed parsing or validation, or `None` when
/// it must not be answered (a response, or no usable Via).
///
/// `raw` is the received datagram or stream frame; `to_tag` is added to To when To carries no
/// tag yet (a UAS must tag its final responses, RFC 3261 §8.2.6.2).
pub fn error_response(
    raw: &[u8],
    error: &ParseError,
    to_tag: &[u8],
    server: &str,
) -> Option<Message> {
    let (code, reason) = error.response_status()?;
    let mut response = Message::response(code, reason);
    let mut copied_any_via = false;
    for (name, value) in salvage_headers(raw) {
        if !COPIED.contains(&name) {
            continue;
        }
        if name == HeaderName::Via {
            copied_any_via = true;
        }
        if name == HeaderName::To && !has_tag(&value) {
            let mut tagged = value.to_vec();
            tagged.extend_from_slice(b";tag=");
            tagged.extend_from_slice(to_tag);
            response.push_header(Header::new(name, &tagged));
        } else {
            response.push_header(Header::new(name, &value));
        }
    }
    if !copied_any_via {
        return None;
    }
    response.push_header(Header::new(HeaderName::Server, server.as_bytes()));
    let warning = format!("399 opencec \"{}\"", sanitize(&error.to_string()));
    response.push_header(Header::new(HeaderName::Warning, warning.as_bytes()));
    Some(response)
}

fn has_tag(value: &[u8]) -> bool {
    // Parameters after the closing `>` (or anywhere for an addr-spec without brackets).
    let params = match value.iter().rposition(|&b| b == b'>') {
        Some(end) => &value[end..],
        None => value,
    };
    params.windows(4).any(|w| w.eq_ignore_ascii_case(b"tag="))
}

fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == '"' || c == '\\' || c.is_control() {
                '\''
            } else {
                c
            }
        })
        .collect()
}

/// Splits the header section of `raw` into (name, value) pairs, unfolding continuation lines;
/// stops at the empty line. Lines without a colon are skipped.
fn salvage_headers(raw: &[u8]) -> Vec<(HeaderName, Bytes)> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    let mut first = true;
    for line in raw.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if first {
            // The start line (skip leading empty keep-alive lines).
            if line.is_empty() {
                continue;
            }
            first = false;
            continue;
        }
        if line.is_empty() {
            break;
        }
        if matches!(line[0], b' ' | b'\t') {
            if let Some(previous) = lines.last_mut() {
                previous.push(b' ');
                previous.extend_from_slice(trim(line));
            }
            continue;
        }
        lines.push(line.to_vec());
    }
    lines
        .into_iter()
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let name = HeaderName::from_bytes(trim(&line[..colon]));
            Some((name, Bytes::copy_from_slice(trim(&line[colon + 1..]))))
        })
        .collect()
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use cec_sip_msg::parse_datagram;

    fn answer(raw: &[u8]) -> Option<Message> {
        let error = match parse_datagram(Bytes::copy_from_slice(raw)) {
            Err(e) => e,
            Ok(m) => m.validate().err()?,
        };
        let bytes = error_response(raw, &error, b"tag1", "OpenCEC")?.to_bytes();
        Some(parse_datagram(bytes).expect("our error response parses"))
    }

    #[test]
    fn bad_version_gets_505_with_the_request_identity_copied() {
        let raw = b"OPTIONS sip:a@b SIP/7.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n";
        let response = answer(raw).expect("answered");
        assert_eq!(response.status(), Some(505));
        assert_eq!(response.call_id().unwrap().as_ref(), b"c1");
        assert_eq!(response.to().unwrap().tag().unwrap().as_ref(), b"tag1");
        assert_eq!(
            response.top_via().unwrap().branch().unwrap().as_ref(),
            b"z9hG4bK1"
        );
        assert!(response.header(&HeaderName::Warning).is_some());
    }

    #[test]
    fn responses_and_requests_without_via_are_not_answered() {
        assert!(
            answer(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: x\r\n\r\n")
                .is_none()
        );
        assert!(
            answer(b"OPTIONS sip:a@b SIP/2.0\r\nFrom: <sip:x@y>;tag=1\r\nCSeq: 1 OPTIONS\r\n\r\n")
                .is_none()
        );
    }

    #[test]
    fn existing_to_tag_is_kept() {
        let raw = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>;tag=old\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n";
        let response = answer(raw).expect("answered");
        assert_eq!(response.status(), Some(400));
        assert_eq!(response.to().unwrap().tag().unwrap().as_ref(), b"old");
    }
}
