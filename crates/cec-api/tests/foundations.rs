//! The foundations assembled into a router and driven over real TCP: every kind of bad
//! input and every authentication failure gets the right 4xx `application/problem+json`
//! answer naming the cause, and `/metrics` then counts those requests by route template.

mod common;

use cec_api::{Registry, Role};
use common::{Body, send, serve, token};

const QUEUES: &str = "/api/v1/tenants/acme/queues";
const VALID: &[u8] = br#"{"name":"sales","a":{"b":[1,2]},"strategy":"round_robin"}"#;

fn json_headers(token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", "application/json".to_owned()),
        ("Authorization", format!("Bearer {token}")),
    ]
}

fn as_refs<'h>(headers: &'h [(&'static str, String)]) -> Vec<(&'static str, &'h str)> {
    headers.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

#[tokio::test]
async fn bad_input_auth_and_metrics() {
    let registry = Registry::new();
    let addr = serve(registry.clone()).await;
    let admin = token(Some("acme"), Role::Admin, 60_000);
    let headers = json_headers(&admin);
    let headers = as_refs(&headers);

    // A valid request goes through, and the response is JSON.
    let reply = send(addr, "POST", QUEUES, &headers, Body::Sized(VALID)).await;
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json()["strategy"], "round_robin");

    // Wrong content type: 415.
    let text = [("Content-Type", "text/plain"), headers[1]];
    let reply = send(addr, "POST", QUEUES, &text, Body::Sized(VALID)).await;
    assert_eq!(reply.status, 415);
    assert_eq!(
        reply.problem()["type"],
        "https://opencec.org/problems/unsupported-media-type"
    );

    // Malformed JSON: 400 with line and column.
    let reply = send(
        addr,
        "POST",
        QUEUES,
        &headers,
        Body::Sized(b"{\n \"name\": }"),
    )
    .await;
    assert_eq!(reply.status, 400);
    let problem = reply.problem();
    assert_eq!(
        problem["type"],
        "https://opencec.org/problems/malformed-json"
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .starts_with("line 2 column 10"),
        "{problem}"
    );

    // Unknown field: 400 naming it.
    let body = br#"{"name":"x","a":{"b":[]},"colour":"red"}"#;
    let reply = send(addr, "POST", QUEUES, &headers, Body::Sized(body)).await;
    assert_eq!(reply.status, 400);
    let problem = reply.problem();
    assert_eq!(problem["errors"][0]["field"], "colour");
    assert_eq!(problem["errors"][0]["reason"], "unknown field");

    // Nested wrong type: 400 naming `a.b[1]`.
    let body = br#"{"name":"x","a":{"b":[1,"two"]}}"#;
    let reply = send(addr, "POST", QUEUES, &headers, Body::Sized(body)).await;
    assert_eq!(reply.status, 400);
    let problem = reply.problem();
    assert_eq!(problem["errors"][0]["field"], "a.b[1]");
    let reason = problem["errors"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("expected u32"), "{reason}");

    // Out-of-range number: 400 naming it.
    let body = br#"{"name":"x","a":{"b":[]},"priority":256}"#;
    let reply = send(addr, "POST", QUEUES, &headers, Body::Sized(body)).await;
    assert_eq!(reply.problem()["errors"][0]["field"], "priority");

    // 2 MiB bodies: 413, announced by Content-Length or discovered while reading chunks.
    let big = vec![b' '; 2 * 1024 * 1024];
    for body in [Body::Sized(&big), Body::Chunked(&big)] {
        let reply = send(addr, "POST", QUEUES, &headers, body).await;
        assert_eq!(reply.status, 413, "{reply:?}");
        assert_eq!(
            reply.problem()["type"],
            "https://opencec.org/problems/payload-too-large"
        );
    }
    // A route-specific BodyLimit applies.
    let small = [("Content-Type", "application/json")];
    let reply = send(
        addr,
        "POST",
        "/api/v1/small",
        &small,
        Body::Sized(b"[1,2,3,4,5,6,7,8,9]"),
    )
    .await;
    assert_eq!(reply.status, 413);
    let reply = send(addr, "POST", "/api/v1/small", &small, Body::Sized(b"[1,2]")).await;
    assert_eq!(reply.status, 200);

    // A conflict from the handler keeps its own problem type.
    let body = br#"{"name":"taken","a":{"b":[]}}"#;
    let reply = send(addr, "POST", QUEUES, &headers, Body::Sized(body)).await;
    assert_eq!(reply.status, 409);
    assert_eq!(
        reply.problem()["type"],
        "https://opencec.org/problems/conflict"
    );

    // Query strings: wrong type names the parameter.
    let auth = [headers[1]];
    let reply = send(
        addr,
        "GET",
        &format!("{QUEUES}?limit=lots"),
        &auth,
        Body::None,
    )
    .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.problem()["errors"][0]["field"], "limit");
    let reply = send(addr, "GET", &format!("{QUEUES}?limit=1"), &auth, Body::None).await;
    assert_eq!(reply.json(), serde_json::json!(["q1"]));

    // Unknown path and unsupported method: problems, the latter with Allow.
    let reply = send(addr, "GET", "/api/v1/nothing/here", &[], Body::None).await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.problem()["type"],
        "https://opencec.org/problems/not-found"
    );
    let reply = send(addr, "DELETE", QUEUES, &auth, Body::None).await;
    assert_eq!(reply.status, 405);
    assert_eq!(
        reply.problem()["type"],
        "https://opencec.org/problems/method-not-allowed"
    );
    assert!(reply.header("allow").unwrap().contains("POST"), "{reply:?}");

    // Counted by route template, unknown paths as `unmatched`.
    let reply = send(addr, "GET", "/metrics", &[], Body::None).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = String::from_utf8(reply.body).unwrap();
    let route = "route=\"/api/v1/tenants/{tenant}/queues\"";
    for line in [
        format!("opencec_http_requests_total{{method=\"POST\",{route},status=\"201\"}} 1"),
        format!("opencec_http_requests_total{{method=\"POST\",{route},status=\"400\"}} 4"),
        format!("opencec_http_requests_total{{method=\"POST\",{route},status=\"413\"}} 2"),
        format!("opencec_http_requests_total{{method=\"POST\",{route},status=\"415\"}} 1"),
        format!("opencec_http_requests_total{{method=\"DELETE\",{route},status=\"405\"}} 1"),
        "opencec_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1".into(),
        format!("opencec_http_request_duration_seconds_count{{method=\"POST\",{route}}} 9"),
        "# TYPE opencec_http_request_duration_seconds histogram".into(),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in\n{text}"
        );
    }
}

#[tokio::test]
async fn authentication_failures_are_401_with_a_challenge() {
    let addr = serve(Registry::new()).await;
    let valid = token(Some("acme"), Role::Admin, 60_000);
    let expired = token(Some("acme"), Role::Admin, -1_000);
    let (signed, tag) = valid.rsplit_once('.').unwrap();
    let mut tag = tag.to_owned();
    // Flip one signature character (keeping it valid base64).
    let first = if tag.starts_with('A') { "B" } else { "A" };
    tag.replace_range(0..1, first);
    let tampered = format!("{signed}.{tag}");

    let cases: [(Option<String>, &str); 5] = [
        (None, "missing Authorization header"),
        (Some(format!("Bearer {expired}")), "token expired"),
        (Some(format!("Bearer {tampered}")), "bad token signature"),
        (Some("Bearer not-a-token".to_owned()), "malformed token"),
        (
            Some(format!("Basic {valid}")),
            "Authorization must be `Bearer <token>`",
        ),
    ];
    for (authorization, detail) in cases {
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(value) = &authorization {
            headers.push(("Authorization", value.as_str()));
        }
        let reply = send(addr, "POST", QUEUES, &headers, Body::Sized(VALID)).await;
        assert_eq!(reply.status, 401, "{detail}");
        assert!(
            reply
                .header("www-authenticate")
                .unwrap()
                .starts_with("Bearer"),
            "{reply:?}"
        );
        assert_eq!(reply.problem()["detail"], detail);
    }

    // The scheme is case-insensitive.
    let lower = format!("bearer {valid}");
    let headers = [
        ("Content-Type", "application/json"),
        ("Authorization", lower.as_str()),
    ];
    let reply = send(addr, "POST", QUEUES, &headers, Body::Sized(VALID)).await;
    assert_eq!(reply.status, 201);
}

#[tokio::test]
async fn tenants_and_roles() {
    let addr = serve(Registry::new()).await;
    let post = |token: String, path: &'static str| async move {
        let auth = format!("Bearer {token}");
        let headers = [
            ("Content-Type", "application/json"),
            ("Authorization", auth.as_str()),
        ];
        send(addr, "POST", path, &headers, Body::Sized(VALID)).await
    };
    // Another tenant's resources do not exist for this caller.
    let reply = post(
        token(Some("acme"), Role::Admin, 60_000),
        "/api/v1/tenants/globex/queues",
    )
    .await;
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.problem()["type"],
        "https://opencec.org/problems/not-found"
    );
    // The platform role reaches every tenant.
    let reply = post(
        token(None, Role::System, 60_000),
        "/api/v1/tenants/globex/queues",
    )
    .await;
    assert_eq!(reply.status, 201);
    // Too weak a role in the right tenant: 403.
    let reply = post(token(Some("acme"), Role::Agent, 60_000), QUEUES).await;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.problem()["type"],
        "https://opencec.org/problems/forbidden"
    );
}
