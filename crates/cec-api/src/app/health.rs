//! Health, readiness, metrics, the OpenAPI document and the reference page.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::openapi::{Body, RouteDoc};
use super::{ApiState, Routes};

async fn healthz() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

async fn readyz(State(state): State<ApiState>) -> Response {
    let database = state.store.ping().await.is_ok();
    let sip = state.sip_ready.load(Ordering::Acquire);
    let status = if database && sip {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({"database": database, "sip": sip}))).into_response()
}

async fn openapi(State(state): State<ApiState>) -> Response {
    Json(state.openapi.as_ref().clone()).into_response()
}

async fn reference(State(state): State<ApiState>) -> Response {
    let mut response = Html(crate::render_reference(&state.openapi)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    response
}

async fn metrics(State(state): State<ApiState>) -> Response {
    crate::metrics_endpoint(State(state.metrics.clone())).await
}

pub(crate) fn routes(r: Routes) -> Routes {
    let status = json!({"type": "object"});
    r.add(
        "/healthz",
        get(healthz),
        RouteDoc::new("get", "health", "Process alive")
            .public()
            .response(Body::Inline(status.clone())),
    )
    .add(
        "/readyz",
        get(readyz),
        RouteDoc::new(
            "get",
            "health",
            "Database reachable and SIP listening (503 otherwise)",
        )
        .public()
        .response(Body::Inline(status)),
    )
    .add(
        "/metrics",
        get(metrics),
        RouteDoc::new("get", "health", "Prometheus metrics")
            .public()
            .response(Body::Raw("text/plain")),
    )
    .add(
        "/openapi.json",
        get(openapi),
        RouteDoc::new("get", "health", "This OpenAPI 3.1 document")
            .public()
            .response(Body::Inline(json!({"type": "object"}))),
    )
    .add(
        "/api/v1/reference",
        get(reference),
        RouteDoc::new("get", "health", "Human-readable API reference")
            .public()
            .response(Body::Raw("text/html")),
    )
}
