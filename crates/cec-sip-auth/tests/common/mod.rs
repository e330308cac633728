//! Helpers shared by the integration tests: a virtual clock origin, request builders, a
//! credential store.
#![allow(dead_code)]

use std::time::Instant;

use cec_sip_auth::{Algorithm, Ha1, compute_ha1};
use cec_sip_msg::bytes::Bytes;
use cec_sip_msg::{Message, parse_datagram};

pub const REALM: &str = "pbx.example.com";
pub const USER: &str = "1001";
pub const PASSWORD: &str = "s3cret-pass";

/// The origin of a test's virtual timeline (the crate bans `Instant::now`: time is an
/// argument); the simulator's clock is the one place that reads the real clock.
pub fn base_instant() -> Instant {
    cec_sim::VirtualClock::start().now()
}

/// Parses a request built from a start line, extra header lines and a body.
pub fn request(method: &str, uri: &str, extra: &[String], body: &str) -> Message {
    let mut text = format!(
        "{method} {uri} SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-test\r\n\
         From: <sip:{USER}@{REALM}>;tag=from1\r\n\
         To: <sip:{USER}@{REALM}>\r\n\
         Call-ID: call-1@192.0.2.1\r\n\
         CSeq: 1 {method}\r\n"
    );
    for line in extra {
        text.push_str(line);
        text.push_str("\r\n");
    }
    text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    parse_datagram(Bytes::from(text)).expect("test request parses")
}

/// A REGISTER to our realm with extra header lines.
pub fn register(extra: &[String]) -> Message {
    request("REGISTER", &format!("sip:{REALM}"), extra, "")
}

/// A copy of `m` with one more header line (re-parsed, as if received).
pub fn with_header(m: &Message, name: &str, value: &str) -> Message {
    let mut m = m.clone();
    m.push(name.into(), value.as_bytes());
    parse_datagram(m.to_bytes()).expect("still parses")
}

/// Store knowing USER with PASSWORD in REALM, for both base algorithms.
pub fn store(username: &str, realm: &str, algorithm: Algorithm) -> Option<Ha1> {
    (username == USER && realm == REALM).then(|| compute_ha1(algorithm, USER, REALM, PASSWORD))
}

/// A deterministic cnonce source.
pub fn counter_random() -> impl FnMut() -> u64 + Send + 'static {
    let mut n = 0x1234_5678_u64;
    move || {
        n = n
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        n
    }
}

/// A parameter of the first challenge or credential in a header value.
pub fn param(header_value: &str, name: &str) -> Option<String> {
    let m = parse_datagram(Bytes::from(format!(
        "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n\
         To: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\nWWW-Authenticate: {header_value}\r\n\
         Content-Length: 0\r\n\r\n"
    )))
    .expect("parses");
    let values = m.www_authenticate().expect("auth header parses");
    values
        .first()?
        .param(name)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}
