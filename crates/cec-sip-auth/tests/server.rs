//! The Digest server end to end with our client: challenge format (RFC 8760 order, 401/407),
//! round trips for every algorithm, and every refusal — stale, forged and modified nonces,
//! a new secret, replayed nonce counts, wrong password, URI mismatch, unknown user, realm,
//! algorithm, qop and opaque policy, the nonce binding and the bounded nonce-count table.

mod common;

use std::time::{Duration, Instant};

use cec_sip_auth::{
    Algorithm, AuthError, AuthOutcome, Credentials, DigestClient, DigestConfig, DigestServer,
    Secret,
};
use cec_sip_msg::{HeaderName, Message};
use common::*;

const BIND: &[u8] = b"192.0.2.1";

fn server_with(config: DigestConfig) -> (DigestServer, Instant) {
    let t0 = base_instant();
    (DigestServer::new(config, [7; 32], t0), t0)
}

fn server() -> (DigestServer, Instant) {
    server_with(DigestConfig::new(REALM))
}

fn client_with(password: &str) -> DigestClient {
    DigestClient::new(
        Credentials {
            username: USER.into(),
            secret: Secret::Password(password.into()),
        },
        counter_random(),
    )
}

fn client() -> DigestClient {
    client_with(PASSWORD)
}

/// Challenges `req`, lets `client` answer, returns the request carrying the answer.
fn answered(
    server: &DigestServer,
    client: &mut DigestClient,
    now: Instant,
    req: &Message,
) -> Message {
    let challenge = server.challenge_response(req, now, false, false, BIND);
    let (name, value) = client.authorize(req, &challenge).expect("client answers");
    assert_eq!(name, HeaderName::Authorization);
    with_header(req, "Authorization", &value)
}

fn authenticated() -> AuthOutcome {
    AuthOutcome::Authenticated {
        username: USER.into(),
        realm: REALM.into(),
    }
}

#[test]
fn challenge_offers_sha256_then_md5_with_one_nonce() {
    let (server, t0) = server();
    let req = register(&[]);
    let resp = server.challenge_response(&req, t0, false, false, BIND);
    assert_eq!(resp.status(), Some(401));
    let challenges = resp.www_authenticate().unwrap();
    assert_eq!(challenges.len(), 2);
    let alg: Vec<_> = challenges
        .iter()
        .map(|c| c.param("algorithm").unwrap().clone())
        .collect();
    assert_eq!(alg, ["SHA-256", "MD5"]);
    assert_eq!(challenges[0].param("nonce"), challenges[1].param("nonce"));
    for c in &challenges {
        assert_eq!(c.param("realm").map(|r| &r[..]), Some(REALM.as_bytes()));
        assert_eq!(c.param("qop").map(|r| &r[..]), Some(&b"auth"[..]));
        assert!(c.param("stale").is_none());
    }
    assert!(
        resp.to().unwrap().tag().is_some(),
        "final response carries a To tag"
    );
    assert_eq!(resp.call_id().unwrap(), req.call_id().unwrap());

    let stale = server.challenge(t0, true, BIND);
    assert!(
        stale
            .iter()
            .all(|v| param(v, "stale").as_deref() == Some("true"))
    );
    // Every challenge has a fresh nonce.
    assert_ne!(
        param(&stale[0], "nonce"),
        challenges[0]
            .param("nonce")
            .map(|n| String::from_utf8_lossy(n).into_owned())
    );

    let proxy = server.challenge_response(&req, t0, false, true, BIND);
    assert_eq!(proxy.status(), Some(407));
    assert_eq!(proxy.proxy_authenticate().unwrap().len(), 2);
    assert!(proxy.www_authenticate().unwrap().is_empty());
}

#[test]
fn round_trip_sha256_and_md5() {
    for (offered, expected) in [
        (vec![Algorithm::Sha256, Algorithm::Md5], "SHA-256"),
        (vec![Algorithm::Md5, Algorithm::Sha256], "SHA-256"),
        (vec![Algorithm::Md5], "MD5"),
        (vec![Algorithm::Sha256Sess], "SHA-256-sess"),
        (vec![Algorithm::Md5Sess], "MD5-sess"),
    ] {
        let (mut server, t0) = server_with(DigestConfig {
            algorithms: offered,
            ..DigestConfig::new(REALM)
        });
        let mut client = client();
        let req = register(&[]);
        assert_eq!(
            server.verify(&req, t0, false, BIND, &store),
            AuthOutcome::NoCredentials
        );
        let signed = answered(&server, &mut client, t0, &req);
        let header = signed.authorization().unwrap();
        assert_eq!(
            header[0].param("algorithm").map(|a| &a[..]),
            Some(expected.as_bytes())
        );
        assert_eq!(
            server.verify(&signed, t0 + Duration::from_secs(1), false, BIND, &store),
            authenticated(),
            "{expected}"
        );
        // Pre-authentication with the remembered nonce: nc 2 is accepted.
        let (_, value) = client
            .preauthorize(req.method().unwrap(), req.request_uri().unwrap(), b"")
            .unwrap();
        assert_eq!(param(&value, "nc").as_deref(), Some("00000002"));
        let next = with_header(&req, "Authorization", &value);
        assert_eq!(
            server.verify(&next, t0, false, BIND, &store),
            authenticated()
        );
    }
}

#[test]
fn proxy_authorization_round_trip() {
    let (mut server, t0) = server();
    let mut client = client();
    let req = request("INVITE", "sip:4000@pbx.example.com", &[], "v=0\r\n");
    let challenge = server.challenge_response(&req, t0, false, true, BIND);
    let (name, value) = client.authorize(&req, &challenge).unwrap();
    assert_eq!(name, HeaderName::ProxyAuthorization);
    let signed = with_header(&req, "Proxy-Authorization", &value);
    assert_eq!(
        server.verify(&signed, t0, false, BIND, &store),
        AuthOutcome::NoCredentials
    );
    assert_eq!(
        server.verify(&signed, t0, true, BIND, &store),
        authenticated()
    );
}

#[test]
fn auth_int_covers_the_body() {
    let (mut server, t0) = server();
    let mut client = client();
    let req = request("INVITE", "sip:4000@pbx.example.com", &[], "v=0\r\n");
    let challenge = server.challenge_response(&req, t0, false, false, BIND);
    // Offer auth-int only: rewrite the challenge as a server configured that way would.
    let text = String::from_utf8(challenge.to_bytes().to_vec()).unwrap();
    let text = text.replace("qop=\"auth\"", "qop=\"auth-int\"");
    let challenge = cec_sip_msg::parse_datagram(text.into()).unwrap();
    let (_, value) = client.authorize(&req, &challenge).unwrap();
    assert_eq!(param(&value, "qop").as_deref(), Some("auth-int"));
    let signed = with_header(&req, "Authorization", &value);
    let mut tampered = signed.clone();
    tampered.set_body("v=1\r\n");
    assert_eq!(
        server.verify(&tampered, t0, false, BIND, &store),
        AuthOutcome::Rejected(AuthError::BadResponse)
    );
    assert_eq!(
        server.verify(&signed, t0, false, BIND, &store),
        authenticated()
    );
}

#[test]
fn expired_nonce_with_right_password_is_stale_and_client_retries() {
    let (mut server, t0) = server();
    let mut client = client();
    let req = register(&[]);
    let signed = answered(&server, &mut client, t0, &req);
    let late = t0 + Duration::from_secs(301);
    assert_eq!(
        server.verify(&signed, late, false, BIND, &store),
        AuthOutcome::Stale
    );
    // The caller re-challenges with stale=true; the client answers without failing.
    let again = server.challenge_response(&signed, late, true, false, BIND);
    let (_, value) = client
        .authorize(&signed, &again)
        .expect("stale is not a failure");
    let retry = with_header(&req, "Authorization", &value);
    assert_eq!(
        server.verify(&retry, late, false, BIND, &store),
        authenticated()
    );
    // Just inside the lifetime is still fine.
    let signed = answered(&server, &mut client, t0, &req);
    let edge = t0 + Duration::from_secs(300);
    assert_eq!(
        server.verify(&signed, edge, false, BIND, &store),
        authenticated()
    );
}

#[test]
fn expired_nonce_with_wrong_password_is_rejected() {
    let (mut server, t0) = server();
    let mut client = client_with("wrong");
    let signed = answered(&server, &mut client, t0, &register(&[]));
    assert_eq!(
        server.verify(&signed, t0 + Duration::from_secs(400), false, BIND, &store),
        AuthOutcome::Rejected(AuthError::BadResponse)
    );
}

#[test]
fn forged_and_modified_nonces_are_refused() {
    let (mut server, t0) = server();
    let mut client = client();
    let req = register(&[]);
    let signed = answered(&server, &mut client, t0, &req);
    let value = String::from_utf8_lossy(signed.header(&HeaderName::Authorization).unwrap().value())
        .into_owned();
    let nonce = param(&value, "nonce").unwrap();
    // Modified: the creation time pushed forward to extend the nonce's life.
    let mut modified = nonce.clone().into_bytes();
    modified[10] = if modified[10] == b'f' { b'e' } else { b'f' };
    let modified = String::from_utf8(modified).unwrap();
    let tampered = with_header(&req, "Authorization", &value.replace(&nonce, &modified));
    assert_eq!(
        server.verify(&tampered, t0, false, BIND, &store),
        AuthOutcome::Rejected(AuthError::BadNonce)
    );
    // Forged: a made-up nonce with a made-up response.
    let forged = format!(
        "Digest username=\"{USER}\", realm=\"{REALM}\", nonce=\"{}\", uri=\"sip:{REALM}\", \
         response=\"{}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"abc\"",
        "0".repeat(64),
        "0".repeat(32)
    );
    let forged = with_header(&req, "Authorization", &forged);
    assert_eq!(
        server.verify(&forged, t0, false, BIND, &store),
        AuthOutcome::Rejected(AuthError::BadNonce)
    );
    // The untouched request still authenticates.
    assert_eq!(
        server.verify(&signed, t0, false, BIND, &store),
        authenticated()
    );
}

#[test]
fn nonce_from_an_older_secret_is_stale_not_accepted() {
    let (before_restart, t0) = server();
    let mut after_restart = DigestServer::new(DigestConfig::new(REALM), [9; 32], t0);
    let mut client = client();
    let signed = answered(&before_restart, &mut client, t0, &register(&[]));
    assert_eq!(
        after_restart.verify(&signed, t0, false, BIND, &store),
        AuthOutcome::Stale
    );
}

#[test]
fn nonce_is_bound_to_the_requester() {
    let (mut server, t0) = server();
    let mut client = client();
    let signed = answered(&server, &mut client, t0, &register(&[]));
    assert_eq!(
        server.verify(&signed, t0, false, b"198.51.100.7", &store),
        AuthOutcome::Stale
    );
    assert_eq!(
        server.verify(&signed, t0, false, BIND, &store),
        authenticated()
    );
}

#[test]
fn replayed_or_lower_nonce_count_is_rejected() {
    let (mut server, t0) = server();
    let mut client = client();
    let req = register(&[]);
    let first = answered(&server, &mut client, t0, &req);
    assert_eq!(
        server.verify(&first, t0, false, BIND, &store),
        authenticated()
    );
    assert_eq!(
        server.verify(&first, t0, false, BIND, &store),
        AuthOutcome::Rejected(AuthError::ReplayedNonceCount)
    );
    let (m, u) = (req.method().unwrap(), req.request_uri().unwrap());
    let (_, second) = client.preauthorize(m, u, b"").unwrap();
    let (_, third) = client.preauthorize(m, u, b"").unwrap();
    let third = with_header(&req, "Authorization", &third);
    let second = with_header(&req, "Authorization", &second);
    assert_eq!(
        server.verify(&third, t0, false, BIND, &store),
        authenticated()
    );
    assert_eq!(
        server.verify(&second, t0, false, BIND, &store),
        AuthOutcome::Rejected(AuthError::ReplayedNonceCount)
    );
}

#[test]
fn nonce_count_table_is_bounded_and_forgets_safely() {
    let (mut server, t0) = server_with(DigestConfig {
        max_tracked_nonces: 2,
        ..DigestConfig::new(REALM)
    });
    let req = register(&[]);
    let mut clients: Vec<DigestClient> = (0..3).map(|_| client()).collect();
    for c in &mut clients {
        let signed = answered(&server, c, t0, &req);
        assert_eq!(
            server.verify(&signed, t0, false, BIND, &store),
            authenticated()
        );
    }
    assert!(format!("{server:?}").contains("tracked_nonces: 2"));
    // The first nonce's history was evicted: a later use is sent back as stale, never
    // let through on trust.
    let (m, u) = (req.method().unwrap(), req.request_uri().unwrap());
    let (_, old) = clients[0].preauthorize(m, u, b"").unwrap();
    let old = with_header(&req, "Authorization", &old);
    assert_eq!(
        server.verify(&old, t0, false, BIND, &store),
        AuthOutcome::Stale
    );
    let (_, recent) = clients[2].preauthorize(m, u, b"").unwrap();
    let recent = with_header(&req, "Authorization", &recent);
    assert_eq!(
        server.verify(&recent, t0, false, BIND, &store),
        authenticated()
    );
}

#[test]
fn wrong_password_unknown_user_and_uri_mismatch() {
    let (mut server, t0) = server();
    let req = register(&[]);
    let signed = answered(&server, &mut client_with("guess"), t0, &req);
    assert_eq!(
        server.verify(&signed, t0, false, BIND, &store),
        AuthOutcome::Rejected(AuthError::BadResponse)
    );

    let mut stranger = DigestClient::new(
        Credentials {
            username: "9999".into(),
            secret: Secret::Password(PASSWORD.into()),
        },
        counter_random(),
    );
    let signed = answered(&server, &mut stranger, t0, &req);
    let outcome = server.verify(&signed, t0, false, BIND, &store);
    assert_eq!(outcome, AuthOutcome::Rejected(AuthError::UnknownUser));
    // The client sees the same phrase for an unknown user as for a wrong password.
    let AuthOutcome::Rejected(e) = outcome else {
        unreachable!()
    };
    assert_eq!(e.reason_phrase(), AuthError::BadResponse.reason_phrase());
    let forbidden = server.rejection_response(&signed, &e);
    assert_eq!(forbidden.status(), Some(403));
    assert_eq!(e.to_string(), "unknown user");

    // Signed for one Request-URI, sent to another.
    let signed = answered(&server, &mut client(), t0, &req);
    let mut moved = signed.clone();
    moved.set_request_uri(cec_sip_msg::Uri::parse(&"sip:other.example.com".into()).unwrap());
    assert_eq!(
        server.verify(&moved, t0, false, BIND, &store),
        AuthOutcome::Rejected(AuthError::UriMismatch)
    );
    // An equivalent spelling of the Request-URI is the same URI.
    let mut same = signed;
    same.set_request_uri(cec_sip_msg::Uri::parse(&"sip:PBX.example.COM".into()).unwrap());
    assert_eq!(
        server.verify(&same, t0, false, BIND, &store),
        authenticated()
    );
}

/// Builds credentials by hand from a fresh challenge, with `edit` applied to the text.
fn hand_made(server: &DigestServer, t0: Instant, edit: impl Fn(String) -> String) -> Message {
    let req = register(&[]);
    let challenge = server.challenge(t0, false, BIND);
    let nonce = param(&challenge[0], "nonce").unwrap();
    let value = format!(
        "Digest username=\"{USER}\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"sip:{REALM}\", \
         response=\"{}\", algorithm=SHA-256, qop=auth, nc=00000001, cnonce=\"c\"",
        "0".repeat(64)
    );
    with_header(&req, "Authorization", &edit(value))
}

/// A rewrite of a credential header value.
type Edit = dyn Fn(String) -> String;

#[test]
fn policy_and_syntax_refusals() {
    let (mut server, t0) = server_with(DigestConfig {
        algorithms: vec![Algorithm::Sha256],
        opaque: Some("op-1".into()),
        ..DigestConfig::new(REALM)
    });
    let cases: Vec<(Box<Edit>, AuthOutcome)> = vec![
        (
            Box::new(|v| v.replace("SHA-256", "MD5")),
            AuthOutcome::Rejected(AuthError::UnsupportedAlgorithm),
        ),
        (
            Box::new(|v| v.replace("SHA-256", "SHA-512-256")),
            AuthOutcome::Rejected(AuthError::UnsupportedAlgorithm),
        ),
        (
            Box::new(|v| v.replace("qop=auth", "qop=auth-conf")),
            AuthOutcome::Rejected(AuthError::UnsupportedQop),
        ),
        (
            Box::new(|v| v.replace(", qop=auth, nc=00000001", "") + ", opaque=\"op-1\""),
            AuthOutcome::Rejected(AuthError::UnsupportedQop),
        ),
        (
            Box::new(|v| v),
            AuthOutcome::Rejected(AuthError::OpaqueMismatch),
        ),
        (
            Box::new(|v| v + ", opaque=\"other\""),
            AuthOutcome::Rejected(AuthError::OpaqueMismatch),
        ),
        (
            Box::new(|v| v.replace("username=\"1001\", ", "") + ", opaque=\"op-1\""),
            AuthOutcome::Rejected(AuthError::Malformed("missing username")),
        ),
        (
            Box::new(|v| v.replace("nc=00000001", "nc=zz") + ", opaque=\"op-1\""),
            AuthOutcome::Rejected(AuthError::Malformed("missing or invalid nc")),
        ),
        (
            Box::new(|v| v.replace(", cnonce=\"c\"", "") + ", opaque=\"op-1\""),
            AuthOutcome::Rejected(AuthError::Malformed("missing cnonce")),
        ),
        (
            Box::new(|v| v + ", opaque=\"op-1\", userhash=true"),
            AuthOutcome::Rejected(AuthError::Malformed("userhash is not supported")),
        ),
        (
            Box::new(|v| v.replace(REALM, "elsewhere.example.com")),
            AuthOutcome::NoCredentials,
        ),
        (
            Box::new(|v| v.replace("Digest", "Basic")),
            AuthOutcome::NoCredentials,
        ),
        // Correct syntax, opaque echoed, made-up response: refused on the response.
        (
            Box::new(|v| v + ", opaque=\"op-1\""),
            AuthOutcome::Rejected(AuthError::BadResponse),
        ),
    ];
    for (edit, expected) in cases {
        let req = hand_made(&server, t0, edit);
        assert_eq!(
            server.verify(&req, t0, false, BIND, &store),
            expected,
            "{req}"
        );
    }
    let broken = with_header(
        &register(&[]),
        "Authorization",
        "Digest realm=\"unterminated",
    );
    assert_eq!(
        server.verify(&broken, t0, false, BIND, &store),
        AuthOutcome::Rejected(AuthError::Malformed("unparsable credentials header"))
    );
}

#[test]
fn our_credentials_are_found_among_other_realms() {
    let (mut server, t0) = server();
    let req = register(&[]);
    let signed = answered(&server, &mut client(), t0, &req);
    let ours = String::from_utf8_lossy(signed.header(&HeaderName::Authorization).unwrap().value())
        .into_owned();
    let other = "Digest username=\"x\", realm=\"proxy.example.net\", nonce=\"n\", uri=\"sip:a\", response=\"0\"";
    let both = with_header(
        &with_header(&req, "Authorization", other),
        "Authorization",
        &ours,
    );
    assert_eq!(
        server.verify(&both, t0, false, BIND, &store),
        authenticated()
    );
}

#[test]
fn rfc2069_responses_only_when_allowed() {
    for allow in [false, true] {
        let (mut server, t0) = server_with(DigestConfig {
            allow_rfc2069: allow,
            algorithms: vec![Algorithm::Md5],
            ..DigestConfig::new(REALM)
        });
        let req = register(&[]);
        let challenge = server.challenge_response(&req, t0, false, false, BIND);
        let text = String::from_utf8(challenge.to_bytes().to_vec()).unwrap();
        let legacy =
            cec_sip_msg::parse_datagram(text.replace(", qop=\"auth\"", "").into()).unwrap();
        let mut client = client();
        let (_, value) = client.authorize(&req, &legacy).unwrap();
        assert!(param(&value, "qop").is_none() && param(&value, "nc").is_none());
        let signed = with_header(&req, "Authorization", &value);
        let expected = if allow {
            authenticated()
        } else {
            AuthOutcome::Rejected(AuthError::UnsupportedQop)
        };
        assert_eq!(server.verify(&signed, t0, false, BIND, &store), expected);
    }
}

#[test]
fn config_defaults_and_debug_hide_the_secret() {
    let c = DigestConfig::new(REALM);
    assert_eq!(c.nonce_lifetime, Duration::from_secs(300));
    assert_eq!(c.algorithms, [Algorithm::Sha256, Algorithm::Md5]);
    assert!(!c.allow_rfc2069);
    let (server, _) = server_with(DigestConfig {
        algorithms: vec![],
        ..c
    });
    assert_eq!(
        server.config().algorithms,
        [Algorithm::Sha256, Algorithm::Md5]
    );
    assert!(!format!("{server:?}").contains("[7, 7"));
}
