//! The operational endpoints of the running binary: liveness, readiness (database and SIP),
//! Prometheus metrics counting the API's own requests, the OpenAPI 3.1 document listing
//! every collection and operation, and the HTML reference page rendered from it.

use serde_json::Value;

use crate::{Backend, Running};

/// Every path the brief's API has; the document must describe each.
const DOCUMENTED_PATHS: [&str; 16] = [
    "/api/v1/auth/token",
    "/api/v1/auth/agent-token",
    "/api/v1/tenants",
    "/api/v1/tenants/{tenant}",
    "/api/v1/tenants/{tenant}/config",
    "/api/v1/tenants/{tenant}/audit",
    "/api/v1/tenants/{tenant}/api-keys",
    "/api/v1/tenants/{tenant}/flows/{id}/publish",
    "/api/v1/tenants/{tenant}/prompts/{id}/audio",
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/api/v1/reference",
    "/api/v1/tenants/{tenant}/trunks",
    "/api/v1/tenants/{tenant}/trunks/{id}",
];

const COLLECTIONS: [&str; 9] = [
    "trunks",
    "access-codes",
    "called-routes",
    "skill-queues",
    "agents",
    "flows",
    "prompts",
    "calendars",
    "reason-codes",
];

fn operational_endpoints(backend: Backend) {
    let running = Running::start(&format!("api-ops-{backend:?}"), backend, false);
    let api = &running.client;

    let health = api.get("/healthz").expect(200);
    assert_eq!(health["status"], "ok");
    let ready = api.get("/readyz").expect(200);
    assert_eq!(ready["database"], true, "{ready}");
    assert_eq!(ready["sip"], true, "{ready}");

    // An unauthenticated 401 and a token request, so both show up in the counters.
    api.get("/api/v1/tenants").problem(401);
    running.platform();
    let metrics = api.get("/metrics");
    assert_eq!(metrics.status, 200);
    let content_type = metrics.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = metrics.text();
    assert!(
        text.contains("# TYPE opencec_http_requests_total counter"),
        "{text}"
    );
    let counted = |status: &str| {
        text.lines().any(|line| {
            line.starts_with("opencec_http_requests_total{")
                && line.contains(&format!("status=\"{status}\""))
        })
    };
    assert!(counted("200") && counted("401"), "{text}");

    let document = api.get("/openapi.json").expect(200);
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().expect("paths");
    let mut wanted: Vec<String> = DOCUMENTED_PATHS.iter().map(|p| (*p).to_owned()).collect();
    for collection in COLLECTIONS {
        wanted.push(format!("/api/v1/tenants/{{tenant}}/{collection}"));
        wanted.push(format!("/api/v1/tenants/{{tenant}}/{collection}/{{id}}"));
    }
    for path in &wanted {
        assert!(paths.contains_key(path), "OpenAPI document lacks {path}");
    }
    let item = &paths["/api/v1/tenants/{tenant}/skill-queues/{id}"];
    for method in ["get", "put", "patch", "delete"] {
        assert!(
            item.get(method).is_some_and(Value::is_object),
            "no {method} on a skill queue: {item}"
        );
    }

    let reference = api.get("/api/v1/reference");
    assert_eq!(reference.status, 200);
    let content_type = reference.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = reference.text();
    assert!(html.to_ascii_lowercase().contains("<html"), "not HTML");
    assert!(
        html.contains("/api/v1/tenants/{tenant}/reason-codes"),
        "the page lists the operations"
    );
    running.finish();
}

#[test]
fn operational_endpoints_sqlite() {
    operational_endpoints(Backend::Sqlite);
}

#[test]
fn operational_endpoints_postgres() {
    operational_endpoints(Backend::Postgres);
}
