//! Small helpers for what goes on the wire: quoted strings, response skeletons.

use cec_sip_msg::Message;
use sha2::{Digest, Sha256};

use crate::hash::hex;

/// Appends `value` as a quoted-string, escaping `"` and `\` (RFC 3261 §25.1).
pub(crate) fn push_quoted(out: &mut String, value: &str) {
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
}

/// A To tag derived from the request's From tag, Call-ID and CSeq: stable across
/// retransmissions, distinct between requests. These responses create no dialog, so the tag
/// needs to be unique, not secret.
fn derived_tag(request: &Message) -> String {
    let mut h = Sha256::new();
    h.update(b"opencec to-tag");
    for name in [
        cec_sip_msg::HeaderName::From,
        cec_sip_msg::HeaderName::CallId,
        cec_sip_msg::HeaderName::CSeq,
    ] {
        if let Some(header) = request.header(&name) {
            h.update(header.value());
        }
        h.update([0]);
    }
    hex(h.finalize().get(..8).unwrap_or_default())
}

/// A response copying the request's Via, From, To, Call-ID and CSeq, with a To tag
/// (RFC 3261 §8.2.6.2). A request whose To cannot take a tag still gets an answer.
pub(crate) fn build_response(request: &Message, code: u16, reason: &str) -> Message {
    let tag = derived_tag(request);
    Message::response_to(request, code, reason.to_owned(), Some(tag.as_bytes()))
        .or_else(|_| Message::response_to(request, code, reason.to_owned(), None))
        .unwrap_or_else(|_| Message::response(code, reason.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_quote_and_backslash() {
        let mut out = String::new();
        push_quoted(&mut out, r#"a"b\c"#);
        assert_eq!(out, r#""a\"b\\c""#);
    }
}
