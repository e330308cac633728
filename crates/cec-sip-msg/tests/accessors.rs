//! Every typed accessor on a message that carries its header, checked for the value a
//! transaction, dialog or call layer reads (mutation testing showed that replacing most
//! accessors with "nothing there" went unnoticed).

use cec_sip_msg::bytes::Bytes;
use cec_sip_msg::header::Refresher;
use cec_sip_msg::{Message, Method, parse_datagram};

const RESPONSE: &str = "SIP/2.0 183 Session Progress\r\n\
    Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1;rport=5070;received=192.0.2.9\r\n\
    Record-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n\
    From: <sip:a@example.com>;tag=1\r\n\
    To: <sip:4001@example.com>;tag=2\r\n\
    Call-ID: c1\r\n\
    CSeq: 10 INVITE\r\n\
    Expires: 300\r\n\
    Supported: 100rel, timer\r\n\
    Unsupported: foo\r\n\
    Allow: INVITE, ACK, PRACK, X-NEW\r\n\
    RSeq: 7\r\n\
    RAck: 7 10 INVITE\r\n\
    Proxy-Authorization: Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"abc\", algorithm=SHA-256\r\n\
    WWW-Authenticate: Digest realm=\"r\", nonce=\"n1\", qop=\"auth\", stale=true\r\n\
    Proxy-Authenticate: Digest realm=\"p\", nonce=\"n2\", algorithm=MD5\r\n\
    Session-Expires: 1800;refresher=uas\r\n\
    Min-SE: 90\r\n\
    Reason: Q.850;cause=16;text=\"Normal call clearing\"\r\n\
    Diversion: <sip:4000@example.com>;reason=unconditional\r\n\
    P-Asserted-Identity: \"Caller\" <sip:+15551234@example.com>, <tel:+15551234>\r\n\
    Retry-After: 120 (maintenance);duration=60\r\n\
    Warning: 399 opencec \"codec mismatch\"\r\n\
    Content-Length: 0\r\n\r\n";

fn message() -> Message {
    parse_datagram(Bytes::from_static(RESPONSE.as_bytes())).expect("valid")
}

fn text(b: &[u8]) -> &str {
    std::str::from_utf8(b).expect("ASCII")
}

#[test]
fn lists_and_numbers() {
    let m = message();
    let rr = m.record_route().expect("record-route");
    assert_eq!(rr.len(), 2);
    assert_eq!(m.expires().expect("expires"), Some(300));
    let supported = m.supported().expect("supported");
    assert_eq!(
        supported.iter().map(|t| text(t)).collect::<Vec<_>>(),
        ["100rel", "timer"]
    );
    let unsupported = m.unsupported().expect("unsupported");
    assert_eq!(
        unsupported.iter().map(|t| text(t)).collect::<Vec<_>>(),
        ["foo"]
    );
    let allow = m.allow().expect("allow");
    assert_eq!(allow.len(), 4);
    assert_eq!(allow[2], Method::Prack);
    assert!(matches!(&allow[3], Method::Extension(name) if &name[..] == b"X-NEW"));
    assert_eq!(m.rseq().expect("rseq"), Some(7));
    let rack = m.rack().expect("rack").expect("present");
    assert_eq!((rack.rseq, rack.cseq, rack.method), (7, 10, Method::Invite));
}

#[test]
fn authentication_headers() {
    let m = message();
    let credentials = m.proxy_authorization().expect("proxy-authorization");
    assert_eq!(credentials.len(), 1);
    assert!(credentials[0].is_digest());
    assert_eq!(
        credentials[0].param("response").map(|v| text(v)),
        Some("abc")
    );
    let challenge = m.www_authenticate().expect("www-authenticate");
    assert_eq!(challenge[0].param("nonce").map(|v| text(v)), Some("n1"));
    assert_eq!(challenge[0].param("stale").map(|v| text(v)), Some("true"));
    let proxy = m.proxy_authenticate().expect("proxy-authenticate");
    assert_eq!(proxy[0].param("realm").map(|v| text(v)), Some("p"));
    assert_eq!(proxy[0].param("algorithm").map(|v| text(v)), Some("MD5"));
    assert!(m.authorization().expect("none").is_empty());

    let bearer = RESPONSE.replace(
        "Proxy-Authenticate: Digest realm=\"p\", nonce=\"n2\", algorithm=MD5",
        "Proxy-Authenticate: Bearer realm=\"p\", scope=a/b:c=d",
    );
    let m = parse_datagram(Bytes::from(bearer)).expect("valid");
    let proxy = m.proxy_authenticate().expect("bearer challenge");
    assert!(!proxy[0].is_digest());
    assert_eq!(proxy[0].param("scope").map(|v| text(v)), Some("a/b:c=d"));
}

#[test]
fn timers_reasons_and_identities() {
    let m = message();
    let se = m
        .session_expires()
        .expect("session-expires")
        .expect("present");
    assert_eq!(se.delta, 1800);
    assert_eq!(se.refresher(), Some(Refresher::Uas));
    assert_eq!(m.min_se().expect("min-se").map(|v| v.delta), Some(90));
    let reasons = m.reasons().expect("reason");
    assert_eq!(reasons[0].cause(), Some(16));
    assert_eq!(
        reasons[0].text().as_deref(),
        Some(&b"Normal call clearing"[..])
    );
    let diversion = m.diversion().expect("diversion");
    assert_eq!(diversion.len(), 1);
    assert_eq!(
        diversion[0]
            .param("reason")
            .and_then(|p| p.value.as_deref()),
        Some(&b"unconditional"[..])
    );
    let pai = m.p_asserted_identity().expect("p-asserted-identity");
    assert_eq!(pai.len(), 2);
    assert_eq!(pai[0].display_name.as_deref(), Some(&b"Caller"[..]));
    let retry = m.retry_after().expect("retry-after").expect("present");
    assert_eq!(retry.delta, 120);
    assert_eq!(retry.comment.as_deref(), Some(&b"maintenance"[..]));
    let warnings = m.warnings().expect("warning");
    assert_eq!(
        (warnings[0].code, &warnings[0].text[..]),
        (399, &b"codec mismatch"[..])
    );
}

#[test]
fn an_error_in_a_request_is_answerable_only_with_a_routable_via() {
    let request = "OPTIONS sip:u@example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
        From: <sip:a@example.com>;tag=1\r\nTo: <sip:u@example.com>\r\n\
        Call-ID: c1\r\nCSeq: 1 OPTIONS\r\nCSeq: 2 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    let m = parse_datagram(Bytes::from_static(request.as_bytes())).expect("frames");
    let err = m.validate().expect_err("two CSeq headers");
    assert_eq!(err.response_status().map(|s| s.0), Some(400));
    let broken_via = request.replace("SIP/2.0/UDP 192.0.2.1", "SIP/2.0/UDP");
    let m = parse_datagram(Bytes::from(broken_via)).expect("frames");
    let err = m.validate().expect_err("bad Via");
    assert_eq!(err.response_status(), None, "nowhere to send the answer");
}
