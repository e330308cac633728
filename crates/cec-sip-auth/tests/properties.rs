//! Properties over arbitrary input: credentials built from random bytes or random Digest
//! parameters never panic the server and never authenticate; random challenges never panic
//! the client; random Contact and Expires values never panic the registrar, and a refused
//! REGISTER leaves the table as it was.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use cec_sip_auth::{
    AuthOutcome, BindingSource, Credentials, DigestClient, DigestConfig, DigestServer, Registrar,
    RegistrarConfig, Secret,
};
use cec_sip_msg::bytes::Bytes;
use cec_sip_msg::{HeaderName, Message, Method, Uri, parse_datagram};
use common::*;
use proptest::prelude::*;

fn bare_register() -> Message {
    let uri = Uri::parse(&Bytes::from(format!("sip:{REALM}"))).unwrap();
    Message::request(Method::Register, uri)
}

/// The first nonce of a server with secret `[3; 32]` challenged at its epoch (nonces are a
/// pure function of secret, time since epoch, sequence and realm).
fn first_nonce() -> String {
    let t0 = base_instant();
    let server = DigestServer::new(DigestConfig::new(REALM), [3; 32], t0);
    param(&server.challenge(t0, false, b"")[0], "nonce").unwrap()
}

fn param_name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "username",
        "realm",
        "nonce",
        "uri",
        "response",
        "algorithm",
        "qop",
        "nc",
        "cnonce",
        "opaque",
        "userhash",
        "stale",
        "x",
    ])
    .prop_map(str::to_owned)
}

fn param_value(nonce: &str) -> impl Strategy<Value = String> {
    prop_oneof![
        Just(format!("\"{REALM}\"")),
        Just(format!("\"{USER}\"")),
        Just(format!("\"{nonce}\"")),
        Just(format!("\"sip:{REALM}\"")),
        Just("SHA-256".to_owned()),
        Just("MD5-sess".to_owned()),
        Just("auth".to_owned()),
        Just("00000001".to_owned()),
        "[0-9a-f]{32}".prop_map(|h| format!("\"{h}\"")),
        "[0-9a-f]{64}".prop_map(|h| format!("\"{h}\"")),
        "[ -~]{0,12}".prop_map(|s| format!("\"{}\"", s.replace(['"', '\\'], ""))),
        "[a-zA-Z0-9=/:-]{0,12}",
    ]
}

proptest! {
    #[test]
    fn arbitrary_credential_bytes_never_authenticate(value in prop::collection::vec(any::<u8>(), 0..300)) {
        let t0 = base_instant();
        let mut server = DigestServer::new(DigestConfig::new(REALM), [3; 32], t0);
        let mut req = bare_register();
        req.push(HeaderName::Authorization, &value);
        let outcome = server.verify(&req, t0, false, b"", &store);
        let authenticated = matches!(outcome, AuthOutcome::Authenticated { .. });
        prop_assert!(!authenticated);
    }

    #[test]
    fn random_digest_parameters_never_authenticate(
        params in prop::collection::vec((param_name(), param_value(&first_nonce())), 0..14),
    ) {
        let t0 = base_instant();
        let mut server = DigestServer::new(DigestConfig::new(REALM), [3; 32], t0);
        // The server's first nonce, so the parameters can carry a genuine one.
        assert_eq!(param(&server.challenge(t0, false, b"")[0], "nonce"), Some(first_nonce()));
        let mut text = String::from("Digest ");
        for (i, (name, value)) in params.iter().enumerate() {
            if i > 0 {
                text.push_str(", ");
            }
            text.push_str(&format!("{name}={value}"));
        }
        let mut req = bare_register();
        req.push(HeaderName::Authorization, text.as_bytes());
        let outcome = server.verify(&req, t0, false, b"", &store);
        let authenticated = matches!(outcome, AuthOutcome::Authenticated { .. });
        prop_assert!(!authenticated, "{}", text);
    }

    #[test]
    fn a_valid_header_with_any_other_response_is_refused(response in "[0-9a-fA-F]{64}") {
        let t0 = base_instant();
        let mut server = DigestServer::new(DigestConfig::new(REALM), [3; 32], t0);
        let req = register(&[]);
        let challenge = server.challenge_response(&req, t0, false, false, b"");
        let mut client = DigestClient::new(
            Credentials { username: USER.into(), secret: Secret::Password(PASSWORD.into()) },
            counter_random(),
        );
        let (_, value) = client.authorize(&req, &challenge).unwrap();
        let genuine = param(&value, "response").unwrap();
        prop_assume!(!genuine.eq_ignore_ascii_case(&response));
        let forged = value.replace(&genuine, &response);
        let signed = with_header(&req, "Authorization", &forged);
        let outcome = server.verify(&signed, t0 + Duration::from_secs(1), false, b"", &store);
        let authenticated = matches!(outcome, AuthOutcome::Authenticated { .. });
        prop_assert!(!authenticated);
    }

    #[test]
    fn arbitrary_challenges_never_panic_the_client(value in prop::collection::vec(any::<u8>(), 0..300)) {
        let mut challenge = Message::response(401, "Unauthorized");
        challenge.push(HeaderName::WwwAuthenticate, &value);
        let mut client = DigestClient::new(
            Credentials { username: USER.into(), secret: Secret::Password(PASSWORD.into()) },
            counter_random(),
        );
        let req = register(&[]);
        if let Ok((_, header)) = client.authorize(&req, &challenge) {
            // Whatever we answered must itself parse as credentials.
            let signed = with_header(&req, "Authorization", &header);
            prop_assert_eq!(signed.authorization().unwrap().len(), 1);
        }
    }

    #[test]
    fn arbitrary_contacts_never_panic_and_refusals_change_nothing(
        contact in "[ -~]{0,60}",
        expires in prop::option::of("[0-9a-z ]{0,6}"),
        cseq in 1u32..4,
    ) {
        let t0 = base_instant();
        let mut registrar = Registrar::new(RegistrarConfig::default());
        let src = BindingSource {
            transport: "UDP".into(),
            addr: "192.0.2.1:5060".parse::<SocketAddr>().unwrap(),
            connection: None,
        };
        let base = register(&["Contact: <sip:a@192.0.2.1>".to_owned()]);
        prop_assert_eq!(registrar.register(t0, "aor", &base, &src).status(), Some(200));
        let mut text = format!(
            "REGISTER sip:{REALM} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-p\r\n\
             From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: call-1@192.0.2.1\r\n\
             CSeq: {cseq} REGISTER\r\nContact: {contact}\r\n"
        );
        if let Some(e) = expires {
            text.push_str(&format!("Expires: {e}\r\n"));
        }
        text.push_str("Content-Length: 0\r\n\r\n");
        let Ok(req) = parse_datagram(Bytes::from(text)) else { return Ok(()); };
        let before = registrar.lookup(t0, "aor");
        let resp = registrar.register(t0, "aor", &req, &src);
        let status = resp.status().unwrap();
        prop_assert!([200, 400, 403, 423, 500].contains(&status), "{}", status);
        if status != 200 {
            prop_assert_eq!(registrar.lookup(t0, "aor"), before);
        }
    }
}
