//! Authentication at the HTTP edge: 401 with a `WWW-Authenticate: Bearer` challenge without a
//! token, 401 `invalid_token` for garbage and tampered tokens, 401 for a wrong secret or an
//! unknown key, and a revoked key that can no longer get a token and whose token stops working.

use serde_json::json;

use crate::{Backend, Running};

const TRUNKS: &str = "/api/v1/tenants/acme/trunks";

#[test]
fn authentication_is_enforced() {
    let running = Running::start("api-auth", Backend::Sqlite, false);
    let (access_key, secret) = running.tenant_with_admin_key("acme");
    let anonymous = &running.client;

    let answer = anonymous.get(TRUNKS);
    answer.problem(401);
    let challenge = answer.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer"),
        "challenge {challenge:?} without a token"
    );
    anonymous
        .post(TRUNKS, &json!({"name": "x", "addresses": [{"host": "h"}]}))
        .problem(401);
    anonymous.get("/api/v1/tenants").problem(401);

    let token = running.token(&access_key, &secret);
    running.client.with_token(&token).get(TRUNKS).expect(200);
    // Garbage, and a valid token with one character changed.
    let mut tampered = token.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ASCII token");
    for bad in ["garbage", "a.b.c", tampered.as_str()] {
        let answer = running.client.with_token(bad).get(TRUNKS);
        answer.problem(401);
        let challenge = answer.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.contains("invalid_token"),
            "challenge {challenge:?} for token {bad:?}"
        );
    }

    // Wrong secret, unknown key, missing member.
    anonymous
        .post(
            "/api/v1/auth/token",
            &json!({"access_key": access_key, "secret": format!("{secret}x")}),
        )
        .problem(401);
    anonymous
        .post(
            "/api/v1/auth/token",
            &json!({"access_key": "no-such-key", "secret": secret}),
        )
        .problem(401);
    let missing = anonymous
        .post("/api/v1/auth/token", &json!({"access_key": access_key}))
        .problem(400);
    assert_eq!(missing["errors"][0]["field"], "secret", "{missing}");

    // Revoking: the key is listed as revoked, gets no more tokens, and the token it already
    // had stops working at once (it was issued by this very key).
    let admin = running.client.with_token(&token);
    assert_eq!(
        admin
            .delete(&format!("/api/v1/tenants/acme/api-keys/{access_key}"))
            .status,
        204
    );
    let refused = admin.get("/api/v1/tenants/acme/skill-queues").problem(401);
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("revoked"),
        "{refused}"
    );
    admin
        .post(
            "/api/v1/tenants/acme/skill-queues",
            &json!({"name": "after-revoke"}),
        )
        .problem(401);
    anonymous
        .post(
            "/api/v1/auth/token",
            &json!({"access_key": access_key, "secret": secret}),
        )
        .problem(401);
    let keys = running
        .platform()
        .get("/api/v1/tenants/acme/api-keys")
        .expect(200);
    let listed = keys
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["access_key"] == access_key.as_str()))
        .unwrap_or_else(|| panic!("revoked key not listed: {keys}"));
    assert!(listed["revoked_ms"].is_i64(), "{listed}");
    running.finish();
}
