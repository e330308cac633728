//! The called and calling numbers of an inbound INVITE, read as the trunk is configured.
//!
//! A carrier that forwards a call to the contact center (a 400 number diverted to a SIP
//! line) puts the number the customer dialled in History-Info (RFC 7044) or Diversion
//! (RFC 5806); the Request-URI then names the line. The CEC reads the original called
//! number first, then the Request-URI or To.

use cec_sip_msg::{Message, NameAddr, Uri};

use crate::config::CalledSource;

/// The number a URI carries: user part (SIP) or number (tel), without visual separators
/// and without a user-part parameter (`;phone-context=...`, `;isub=`...).
pub fn number_of(uri: &Uri) -> Option<String> {
    let user = uri.user()?;
    let text = std::str::from_utf8(user).ok()?;
    let text = text.split(';').next().unwrap_or_default();
    let number: String = text
        .chars()
        .filter(|c| !matches!(c, '-' | '.' | '(' | ')' | ' '))
        .collect();
    (!number.is_empty()).then_some(number)
}

/// The original called number: the first History-Info entry (lowest index), else the
/// last Diversion value (each diversion adds one on top, so the bottom one is the first).
pub fn original_called(request: &Message) -> Option<String> {
    let history = request.history_info().unwrap_or_default();
    let first = history
        .iter()
        .min_by(|a, b| index_key(a).cmp(&index_key(b)))
        .and_then(|entry| number_of(&entry.uri));
    first.or_else(|| {
        request
            .diversion()
            .unwrap_or_default()
            .last()
            .and_then(|d| number_of(&d.uri))
    })
}

/// History-Info index `1.1.2` as numbers for ordering; entries without one sort last.
fn index_key(entry: &NameAddr) -> Vec<u32> {
    match entry.index() {
        Some(index) => String::from_utf8_lossy(index)
            .split('.')
            .map(|p| p.parse().unwrap_or(u32::MAX))
            .collect(),
        None => vec![u32::MAX],
    }
}

/// The called number by the trunk's source order (default: original called, Request-URI,
/// To).
pub fn called_number(request: &Message, order: &[CalledSource]) -> Option<String> {
    const DEFAULT: [CalledSource; 3] = [
        CalledSource::OriginalCalled,
        CalledSource::RequestUri,
        CalledSource::To,
    ];
    let order = if order.is_empty() {
        &DEFAULT[..]
    } else {
        order
    };
    order.iter().find_map(|source| match source {
        CalledSource::OriginalCalled => original_called(request),
        CalledSource::RequestUri => request.request_uri().and_then(number_of),
        CalledSource::To => request.to().ok().and_then(|to| number_of(&to.uri)),
    })
}

/// The caller's number: P-Asserted-Identity (the carrier vouches for it), else From.
pub fn caller_number(request: &Message) -> String {
    request
        .p_asserted_identity()
        .unwrap_or_default()
        .first()
        .and_then(|id| number_of(&id.uri))
        .or_else(|| request.from().ok().and_then(|from| number_of(&from.uri)))
        .unwrap_or_else(|| "anonymous".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(extra: &str) -> Message {
        let text = format!(
            "INVITE sip:line1@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2;branch=z9hG4bK1\r\n\
             From: <sip:02160123456@10.0.0.2>;tag=a\r\nTo: <sip:4001-9@10.0.0.1>\r\n\
             Call-ID: c1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        cec_sip_msg::parse_datagram(bytes::Bytes::from(text)).unwrap()
    }

    #[test]
    fn history_info_first_entry_wins_over_diversion() {
        let request = invite(
            "History-Info: <sip:line1@10.0.0.1>;index=1.1, <sip:40018@carrier>;index=1\r\n\
             Diversion: <sip:4002@carrier>;reason=unconditional\r\n",
        );
        assert_eq!(original_called(&request).as_deref(), Some("40018"));
    }

    #[test]
    fn bottom_diversion_is_the_original() {
        let request = invite(
            "Diversion: <sip:5555@b>;reason=user-busy\r\nDiversion: <tel:4001>;reason=unconditional\r\n",
        );
        assert_eq!(original_called(&request).as_deref(), Some("4001"));
    }

    #[test]
    fn order_falls_back_to_request_uri_then_to() {
        let request = invite("");
        let all = [
            CalledSource::OriginalCalled,
            CalledSource::RequestUri,
            CalledSource::To,
        ];
        assert_eq!(called_number(&request, &all).as_deref(), Some("line1"));
        assert_eq!(
            called_number(&request, &[CalledSource::To]).as_deref(),
            Some("40019")
        );
        assert_eq!(called_number(&request, &[]).as_deref(), Some("line1"));
    }

    #[test]
    fn caller_prefers_asserted_identity() {
        let request = invite("P-Asserted-Identity: <tel:+861012345>\r\n");
        assert_eq!(caller_number(&request), "+861012345");
        assert_eq!(caller_number(&invite("")), "02160123456");
    }
}
