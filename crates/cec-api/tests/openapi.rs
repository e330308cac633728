//! The OpenAPI document is valid OpenAPI 3.1 (checked by the `openapi-spec-validator`
//! Python package, installed by scripts/install-deps) and describes exactly the routes the
//! router serves: every documented operation reaches a handler (no fallback 404, no 405),
//! the agent, call and event routes included (with a fake call core behind them).

use std::process::Command;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cec_api::route_table;
use tower::ServiceExt;

mod call_fixture;
mod store_fixture;
use store_fixture::StoreFixture;

#[tokio::test]
async fn document_is_valid_openapi_3_1() {
    let fixture = StoreFixture::new("valid", "demo").await;
    let state = &fixture.state;
    let path = fixture.dir.join("openapi.json");
    std::fs::write(
        &path,
        serde_json::to_vec_pretty(state.openapi.as_ref()).unwrap(),
    )
    .unwrap();
    assert_eq!(state.openapi["openapi"], "3.1.0");
    // The call path's routes are in it, with their schemas.
    let paths = &state.openapi["paths"];
    for (path, method) in [
        ("/api/v1/tenants/{tenant}/agents/{id}/sign-in", "post"),
        ("/api/v1/tenants/{tenant}/agents/{id}/sign-out", "post"),
        ("/api/v1/tenants/{tenant}/agents/{id}/state", "put"),
        ("/api/v1/tenants/{tenant}/agents/{id}/state", "get"),
        ("/api/v1/tenants/{tenant}/calls", "get"),
        ("/api/v1/tenants/{tenant}/calls/{id}/release", "post"),
        ("/api/v1/tenants/{tenant}/cdrs", "get"),
        ("/api/v1/tenants/{tenant}/cdrs/{id}", "get"),
        ("/api/v1/tenants/{tenant}/events", "get"),
        ("/api/v1/tenants/{tenant}/events/ws", "get"),
    ] {
        assert!(
            paths[path][method].is_object(),
            "{method} {path} not documented"
        );
    }
    let sign_in = &paths["/api/v1/tenants/{tenant}/agents/{id}/sign-in"]["post"];
    assert_eq!(
        sign_in["requestBody"]["required"], false,
        "the body is optional"
    );
    assert!(sign_in["responses"]["422"].is_object() && sign_in["responses"]["503"].is_object());
    let schemas = &state.openapi["components"]["schemas"];
    for name in [
        "CdrRecord",
        "LegQuality",
        "CdrState",
        "EventRecord",
        "EventPage",
        "AgentStatus",
        "AgentPhase",
        "SignInRequest",
        "StateRequest",
        "WorkState",
        "LiveCall",
    ] {
        assert!(schemas[name].is_object(), "schema {name} missing");
    }
    let output = Command::new("python3")
        .arg("-c")
        .arg(
            "import json, sys\n\
             from openapi_spec_validator import validate\n\
             validate(json.load(open(sys.argv[1])))\n\
             print('valid')",
        )
        .arg(&path)
        .output()
        .expect("python3 (scripts/install-deps installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("valid"),
        "the OpenAPI document is not valid (needs `pip install openapi-spec-validator`, done by scripts/install-deps):\n{stderr}"
    );
}

#[tokio::test]
async fn every_documented_operation_reaches_a_handler() {
    let mut fixture = StoreFixture::new("routes", "demo").await;
    call_fixture::install(&mut fixture);
    let (state, token) = (&fixture.state, &fixture.token);
    let (_, docs) = route_table();
    assert!(
        docs.len() > 60,
        "expected the whole API, got {} operations",
        docs.len()
    );
    let paths = state.openapi["paths"].as_object().unwrap();
    for doc in &docs {
        assert!(
            paths[&doc.path].get(doc.method).is_some(),
            "{} {} missing from the document",
            doc.method,
            doc.path
        );
        let uri = doc
            .path
            .replace("{tenant}", "demo")
            .replace("{id}", "nothing");
        let mut request = Request::builder()
            .method(doc.method.to_uppercase().as_str())
            .uri(&uri)
            .header("authorization", format!("Bearer {token}"));
        let body = if matches!(doc.method, "post" | "put" | "patch") {
            request = request.header("content-type", "application/json");
            Body::from("{}")
        } else {
            Body::empty()
        };
        let response = cec_api::router(state.clone())
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{} {uri}: {text}",
            doc.method
        );
        assert!(
            !(status == StatusCode::NOT_FOUND && text.contains("resource /")),
            "{} {uri} fell through to the fallback: {text}",
            doc.method
        );
        // Only readiness may say 503 here: SIP is not running in this test.
        let allowed_unavailable =
            doc.path == "/readyz" && status == StatusCode::SERVICE_UNAVAILABLE;
        assert!(
            status.as_u16() < 500 || allowed_unavailable,
            "{} {uri} answered {status}: {text}",
            doc.method
        );
    }
    // Each operation id is unique.
    let mut ids: Vec<String> = paths
        .values()
        .flat_map(|item| {
            item.as_object()
                .unwrap()
                .values()
                .map(|op| op["operationId"].as_str().unwrap().to_owned())
        })
        .collect();
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "duplicate operationId");
}
