//! Arbitrary JSON documents (and arbitrary bytes) posted to a handler taking a typical
//! strict struct never produce a 5xx or a panic: the answer is 201 or a 4xx problem, and
//! a 400 for a well-formed document always names at least one field.

mod common;

mod json_strategy;

use axum::body::{Body, to_bytes};
use axum::http::{Request, header};
use cec_api::{Registry, Role};
use proptest::prelude::*;
use serde_json::Value;
use tower::ServiceExt;

fn json_value() -> impl Strategy<Value = Value> {
    json_strategy::json_value(
        &["name", "a", "b", "priority", "strategy"],
        &["round_robin", "longest_idle", ""],
        4,
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Posts `body` and returns the status and the parsed answer.
async fn post(body: Vec<u8>, token: &str) -> (u16, Value) {
    let request = Request::post("/api/v1/tenants/acme/queues")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(body))
        .unwrap();
    let response = common::app(Registry::new()).oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_documents_get_201_or_a_4xx_problem(value in json_value()) {
        let token = common::token(Some("acme"), Role::Admin, 60_000);
        let body = serde_json::to_vec(&value).unwrap();
        let (status, answer) = runtime().block_on(post(body, &token));
        prop_assert!(status == 201 || status == 409 || status == 400, "{status} for {value}");
        if status == 400 {
            prop_assert_eq!(&answer["type"], "https://opencec.org/problems/invalid-input");
            let field = answer["errors"][0]["field"].as_str().unwrap_or_default();
            prop_assert!(!field.is_empty(), "{answer}");
        }
    }

    #[test]
    fn arbitrary_bytes_get_a_4xx(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let token = common::token(Some("acme"), Role::Admin, 60_000);
        let (status, answer) = runtime().block_on(post(bytes, &token));
        prop_assert!((400..500).contains(&status) || status == 201, "{status}");
        if status != 201 {
            prop_assert_eq!(answer["status"].as_u64(), Some(u64::from(status)));
        }
    }
}
