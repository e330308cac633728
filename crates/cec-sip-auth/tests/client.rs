//! The Digest client on its own: which challenge it answers (strongest algorithm, usable
//! qop, realm of a stored HA1), the nonce count and cnonce it sends, pre-authentication,
//! and the loop guard — a refused fresh answer is a failure, `stale=true` is not.

mod common;

use cec_sip_auth::{Algorithm, ClientError, Credentials, DigestClient, Secret, compute_ha1};
use cec_sip_msg::bytes::Bytes;
use cec_sip_msg::{HeaderName, Message, parse_datagram};
use common::*;

fn challenge(status: &str, headers: &[&str]) -> Message {
    let mut text = format!(
        "SIP/2.0 {status}\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-test\r\n\
         From: <sip:{USER}@{REALM}>;tag=from1\r\nTo: <sip:{USER}@{REALM}>;tag=t\r\n\
         Call-ID: call-1@192.0.2.1\r\nCSeq: 1 REGISTER\r\n"
    );
    for h in headers {
        text.push_str(h);
        text.push_str("\r\n");
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    parse_datagram(Bytes::from(text)).unwrap()
}

fn www(params: &str) -> String {
    format!("WWW-Authenticate: Digest realm=\"{REALM}\", {params}")
}

fn client() -> DigestClient {
    DigestClient::new(
        Credentials {
            username: USER.into(),
            secret: Secret::Password(PASSWORD.into()),
        },
        counter_random(),
    )
}

#[test]
fn picks_the_strongest_supported_algorithm() {
    let cases = [
        (
            vec![
                www("nonce=\"a\", algorithm=MD5, qop=\"auth\""),
                www("nonce=\"b\", algorithm=SHA-256, qop=\"auth\""),
            ],
            "SHA-256",
            "b",
        ),
        (
            vec![
                www("nonce=\"a\", algorithm=SHA-256, qop=\"auth\""),
                www("nonce=\"b\", algorithm=MD5, qop=\"auth\""),
            ],
            "SHA-256",
            "a",
        ),
        (vec![www("nonce=\"a\", qop=\"auth\"")], "MD5", "a"),
        (
            vec![
                www("nonce=\"a\", algorithm=SHA-512-256, qop=\"auth\""),
                www("nonce=\"b\", algorithm=MD5-sess, qop=\"auth\""),
            ],
            "MD5-sess",
            "b",
        ),
        // Among equals the first offered wins.
        (
            vec![
                www("nonce=\"first\", algorithm=SHA-256, qop=\"auth\""),
                www("nonce=\"second\", algorithm=SHA-256, qop=\"auth\""),
            ],
            "SHA-256",
            "first",
        ),
        // A qop list without auth or auth-int cannot be answered.
        (
            vec![
                www("nonce=\"a\", algorithm=SHA-256, qop=\"auth-conf\""),
                www("nonce=\"b\", algorithm=MD5, qop=\"auth,auth-int\""),
            ],
            "MD5",
            "b",
        ),
    ];
    for (headers, algorithm, nonce) in cases {
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let (name, value) = client()
            .authorize(&register(&[]), &challenge("401 Unauthorized", &headers))
            .unwrap();
        assert_eq!(name, HeaderName::Authorization);
        assert_eq!(param(&value, "algorithm").as_deref(), Some(algorithm));
        assert_eq!(param(&value, "nonce").as_deref(), Some(nonce));
        assert_eq!(param(&value, "qop").as_deref(), Some("auth"));
        assert_eq!(param(&value, "username").as_deref(), Some(USER));
        assert_eq!(param(&value, "uri").as_deref(), Some("sip:pbx.example.com"));
    }
}

#[test]
fn unusable_challenges_and_non_challenges() {
    let req = register(&[]);
    let only_unknown = www("nonce=\"a\", algorithm=SHA-512-256");
    assert_eq!(
        client().authorize(&req, &challenge("401 Unauthorized", &[&only_unknown])),
        Err(ClientError::NoUsableChallenge)
    );
    assert_eq!(
        client().authorize(
            &req,
            &challenge("401 Unauthorized", &["WWW-Authenticate: Bearer abc=="])
        ),
        Err(ClientError::NoUsableChallenge)
    );
    assert_eq!(
        client().authorize(
            &req,
            &challenge("401 Unauthorized", &[&www("algorithm=MD5")])
        ),
        Err(ClientError::NoUsableChallenge),
        "no nonce"
    );
    assert_eq!(
        client().authorize(&req, &challenge("200 OK", &[&www("nonce=\"a\"")])),
        Err(ClientError::NotAChallenge)
    );
    assert!(matches!(
        client().authorize(
            &req,
            &challenge("401 Unauthorized", &["WWW-Authenticate: Digest realm=\"x"])
        ),
        Err(ClientError::Malformed(_))
    ));
    assert_eq!(
        client().preauthorize(req.method().unwrap(), req.request_uri().unwrap(), b""),
        None
    );
}

#[test]
fn proxy_challenge_gets_proxy_authorization() {
    let c = challenge(
        "407 Proxy Authentication Required",
        &[&format!(
            "Proxy-Authenticate: Digest realm=\"{REALM}\", nonce=\"p\", qop=\"auth\""
        )],
    );
    let (name, _) = client().authorize(&register(&[]), &c).unwrap();
    assert_eq!(name, HeaderName::ProxyAuthorization);
}

#[test]
fn nonce_count_increments_and_cnonce_changes() {
    let mut client = client();
    let req = register(&[]);
    let c = challenge(
        "401 Unauthorized",
        &[&www(
            "nonce=\"n1\", algorithm=SHA-256, qop=\"auth\", opaque=\"o\"",
        )],
    );
    let (_, first) = client.authorize(&req, &c).unwrap();
    assert_eq!(param(&first, "nc").as_deref(), Some("00000001"));
    assert_eq!(param(&first, "opaque").as_deref(), Some("o"));
    let (m, u) = (req.method().unwrap(), req.request_uri().unwrap());
    let (_, second) = client.preauthorize(m, u, b"").unwrap();
    assert_eq!(param(&second, "nc").as_deref(), Some("00000002"));
    assert_eq!(param(&second, "nonce").as_deref(), Some("n1"));
    assert_ne!(param(&first, "cnonce"), param(&second, "cnonce"));
    assert_eq!(param(&second, "cnonce").map(|c| c.len()), Some(32));
    // A new challenge restarts the count.
    let c2 = challenge(
        "401 Unauthorized",
        &[&www(
            "nonce=\"n2\", algorithm=SHA-256, qop=\"auth\", stale=true",
        )],
    );
    let sent = with_header(&req, "Authorization", &second);
    let (_, third) = client.authorize(&sent, &c2).unwrap();
    assert_eq!(param(&third, "nc").as_deref(), Some("00000001"));
    assert_eq!(param(&third, "nonce").as_deref(), Some("n2"));
    client.reset();
    assert_eq!(client.preauthorize(m, u, b""), None);
}

#[test]
fn refused_fresh_credentials_fail_instead_of_looping() {
    let mut client = client();
    let req = register(&[]);
    let c1 = challenge("401 Unauthorized", &[&www("nonce=\"n1\", qop=\"auth\"")]);
    let (_, value) = client.authorize(&req, &c1).unwrap();
    let sent = with_header(&req, "Authorization", &value);
    // Same answer again without stale: the password is wrong.
    let c2 = challenge("401 Unauthorized", &[&www("nonce=\"n2\", qop=\"auth\"")]);
    assert_eq!(
        client.authorize(&sent, &c2),
        Err(ClientError::Rejected {
            realm: REALM.into()
        })
    );
    // The remembered nonce is dropped with the failure.
    assert_eq!(
        client.preauthorize(req.method().unwrap(), req.request_uri().unwrap(), b""),
        None
    );
    // A request without credentials is an ordinary first challenge.
    assert!(client.authorize(&req, &c2).is_ok());
}

#[test]
fn preauthenticated_request_refused_is_retried_once() {
    let mut client = client();
    let req = register(&[]);
    let c1 = challenge("401 Unauthorized", &[&www("nonce=\"n1\", qop=\"auth\"")]);
    client.authorize(&req, &c1).unwrap();
    let (_, pre) = client
        .preauthorize(req.method().unwrap(), req.request_uri().unwrap(), b"")
        .unwrap();
    let sent = with_header(&req, "Authorization", &pre);
    // The server forgot n1 and (against RFC 7616) did not say stale: retry with n2.
    let c2 = challenge("401 Unauthorized", &[&www("nonce=\"n2\", qop=\"auth\"")]);
    let (_, fresh) = client.authorize(&sent, &c2).unwrap();
    let sent = with_header(&req, "Authorization", &fresh);
    let c3 = challenge("401 Unauthorized", &[&www("nonce=\"n3\", qop=\"auth\"")]);
    assert!(matches!(
        client.authorize(&sent, &c3),
        Err(ClientError::Rejected { .. })
    ));
}

#[test]
fn endless_stale_answers_end_in_failure() {
    let mut client = client();
    let req = register(&[]);
    let mut sent = req.clone();
    let mut failures = 0;
    for round in 0..6 {
        let c = challenge(
            "401 Unauthorized",
            &[&www(&format!(
                "nonce=\"n{round}\", qop=\"auth\", stale=true"
            ))],
        );
        match client.authorize(&sent, &c) {
            Ok((_, value)) => sent = with_header(&req, "Authorization", &value),
            Err(e) => {
                assert!(matches!(e, ClientError::Rejected { .. }));
                failures += 1;
                break;
            }
        }
    }
    assert_eq!(
        failures, 1,
        "gives up after a bounded number of stale rounds"
    );
}

#[test]
fn stored_ha1_answers_only_its_realm_and_algorithms() {
    let ha1_client = |sha256: bool| {
        DigestClient::new(
            Credentials {
                username: USER.into(),
                secret: Secret::Ha1 {
                    realm: REALM.into(),
                    md5: (!sha256).then(|| compute_ha1(Algorithm::Md5, USER, REALM, PASSWORD)),
                    sha256: sha256.then(|| compute_ha1(Algorithm::Sha256, USER, REALM, PASSWORD)),
                },
            },
            counter_random(),
        )
    };
    let req = register(&[]);
    let both = challenge(
        "401 Unauthorized",
        &[
            &www("nonce=\"a\", algorithm=SHA-256, qop=\"auth\""),
            &www("nonce=\"b\", algorithm=MD5, qop=\"auth\""),
        ],
    );
    let (_, v) = ha1_client(false).authorize(&req, &both).unwrap();
    assert_eq!(param(&v, "algorithm").as_deref(), Some("MD5"));
    let (_, v) = ha1_client(true).authorize(&req, &both).unwrap();
    assert_eq!(param(&v, "algorithm").as_deref(), Some("SHA-256"));
    let elsewhere = challenge(
        "401 Unauthorized",
        &["WWW-Authenticate: Digest realm=\"other\", nonce=\"a\", algorithm=MD5, qop=\"auth\""],
    );
    assert_eq!(
        ha1_client(false).authorize(&req, &elsewhere),
        Err(ClientError::NoUsableChallenge)
    );
    assert!(
        !format!("{:?}", ha1_client(true))
            .contains(&compute_ha1(Algorithm::Sha256, USER, REALM, PASSWORD).as_str()[..8])
    );
    assert!(!format!("{:?}", client()).contains(PASSWORD));
}
