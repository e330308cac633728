//! Foundations of the OpenCEC REST API (`/api/v1/...`): the parts every resource route
//! shares, built on axum.
//!
//! - [`Problem`]: RFC 9457 `application/problem+json` errors with an `errors[]` list naming
//!   each invalid field, the router [`fallback`] (404) and [`plain_errors_to_problems`], which
//!   turns axum's own plain-text errors (405, extractor rejections) into problems.
//! - [`ApiJson`] / [`ApiQuery`]: strict extractors. Wrong content type 415, oversized body
//!   413, malformed JSON 400 with line and column, wrong types / missing / unknown fields 400
//!   naming the path (`skills[0].weight`): bad input is a 4xx, never a 5xx or a panic.
//! - [`TokenSigner`] / [`Claims`]: stateless HMAC-SHA256 bearer tokens, and the
//!   [`Authenticated`] extractor with tenant and role checks.
//! - [`Registry`]: Prometheus counters, gauges and histograms, the [`track_http`] middleware
//!   and the `GET /metrics` handler [`metrics_endpoint`].
//! - [`render_reference`]: the human-readable API reference page from the OpenAPI document.
//! - [`CallControl`]: the trait through which agent and call routes reach the call core;
//!   the binary implements it and installs it with [`ApiState::with_call_control`].
//!
//! # Why axum and utoipa, and why the rest is our own
//!
//! axum is the tokio project's HTTP framework: its extractors let a handler state what it
//! needs in its signature and its rejections are ordinary responses, which is what makes a
//! single error shape enforceable. utoipa derives the OpenAPI 3.1 document from the same
//! Rust types the handlers use, so the published contract cannot drift from the code.
//! axum's stock `Json` and `Query` extractors answer errors in plain text without the field
//! path, so we wrap serde_path_to_error instead; the token format is forty lines on the
//! RustCrypto HMAC (JWT crates bring algorithm negotiation we do not want); the Prometheus
//! crates are larger than the text format they produce; and a reference page that needs a
//! CDN-hosted JavaScript viewer would not work offline, so it is rendered here.

mod bearer;
mod control;
mod json;
mod metrics;
mod problem;
mod reference_page;
mod token;

pub use bearer::{Authenticated, authenticate, now_epoch_ms};
pub use control::{
    AgentCommand, AgentPhase, AgentStatus, CallControl, ControlError, ControlFuture, LiveCall,
    SignInRequest, StateRequest, WorkState,
};
pub use json::{
    ApiJson, ApiQuery, BodyLimit, DEFAULT_BODY_LIMIT, ROOT_FIELD, format_path,
    is_json_content_type, parse_json, parse_query,
};
pub use metrics::{
    Counter, Gauge, HTTP_DURATION_BUCKETS, Histogram, METRICS_CONTENT_TYPE, MetricsError, Registry,
    metrics_endpoint, track_http,
};
pub use problem::{
    FieldError, PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX, Problem, ProblemDocument, fallback,
    plain_errors_to_problems,
};
pub use reference_page::{escape as escape_html, render_reference};
pub use token::{Claims, MAX_TOKEN_LEN, PrincipalKind, Role, TokenError, TokenSigner};

mod app;

pub use app::{
    ApiState, RouteDoc, TOKEN_TTL_MS, openapi_document, parse_config_document, route_table, router,
};
