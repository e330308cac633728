//! Arbitrary bytes as an Authorization header value through parsing and Digest
//! verification (a `@N` in the input is replaced by a genuine nonce so the fuzzer reaches
//! the response and nonce-count checks): must never panic and never authenticate. The same
//! bytes as a WWW-Authenticate value must never panic the client.
#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use cec_sip_auth::{
    Algorithm, AuthOutcome, Credentials, DigestClient, DigestConfig, DigestServer, Ha1, Secret,
    compute_ha1,
};
use cec_sip_msg::bytes::Bytes;
use cec_sip_msg::{HeaderName, Message, Method, Uri};
use libfuzzer_sys::fuzz_target;

const REALM: &str = "pbx.example.com";

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn store(user: &str, realm: &str, algorithm: Algorithm) -> Option<Ha1> {
    (user == "1001").then(|| compute_ha1(algorithm, user, realm, "secret"))
}

fn replace_marker(data: &[u8], nonce: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    let mut i = 0;
    while i < data.len() {
        if data.get(i..i + 2) == Some(b"@N") {
            out.extend_from_slice(nonce.as_bytes());
            i += 2;
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let t0 = epoch();
    let mut server = DigestServer::new(DigestConfig::new(REALM), [1; 32], t0);
    let challenge = server.challenge(t0, false, b"");
    let nonce = challenge
        .first()
        .and_then(|c| c.split("nonce=\"").nth(1))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_owned();
    let value = replace_marker(data, &nonce);
    let uri = Uri::parse(&Bytes::from_static(b"sip:pbx.example.com")).expect("valid URI");
    let mut request = Message::request(Method::Register, uri);
    request.push(HeaderName::Authorization, &value);
    for proxy in [false, true] {
        let outcome = server.verify(&request, t0, proxy, b"", &store);
        assert!(
            !matches!(outcome, AuthOutcome::Authenticated { .. }),
            "authenticated from fuzz input"
        );
        if let AuthOutcome::Rejected(e) = &outcome {
            let _ = (e.to_string(), server.rejection_response(&request, e));
        }
    }

    let mut response = Message::response(401, "Unauthorized");
    response.push(HeaderName::WwwAuthenticate, &value);
    let mut client = DigestClient::new(
        Credentials {
            username: "1001".into(),
            secret: Secret::Password("secret".into()),
        },
        || 42,
    );
    let _ = client.authorize(&request, &response);
    let _ = client.preauthorize(&Method::Invite, request.request_uri().expect("request"), data);
});
