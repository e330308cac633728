//! RFC 9457 problem details: every error the API returns is an `application/problem+json`
//! document built here, so clients parse one shape for every failure.

use std::fmt::Display;

use axum::body::Body;
use axum::http::header::{self, HeaderValue};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Content type of every error response.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// Prefix of every problem `type` URI; the slug after it names the kind of problem.
pub const PROBLEM_TYPE_PREFIX: &str = "https://opencec.org/problems/";

/// `WWW-Authenticate` challenge for a request that carried no credentials (RFC 6750 §3:
/// no error code in that case).
const BEARER_CHALLENGE: &str = "Bearer realm=\"opencec\"";

/// `WWW-Authenticate` challenge for a request whose token was refused (RFC 6750 §3.1).
const BEARER_INVALID_TOKEN: &str = "Bearer realm=\"opencec\", error=\"invalid_token\"";

/// Longest `detail` we copy from a text error body produced by axum itself.
const MAX_FOREIGN_DETAIL: usize = 512;

/// One invalid part of a request, named by its path in the request document
/// (`skills[0].weight`, `name`) or by the query parameter's name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// Path of the offending field; `$` is the body (or query string) as a whole.
    pub field: String,
    /// Why it is invalid: `missing field`, `unknown field`, `invalid type: …, expected …`.
    pub reason: String,
}

impl FieldError {
    /// A field error from anything printable.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The wire form of a problem (RFC 9457 members plus our `errors` extension).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProblemDocument {
    /// `https://opencec.org/problems/<slug>`; stable, so clients can switch on it.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short summary of the kind of problem; the same for every occurrence of a type.
    pub title: String,
    /// The HTTP status code, repeated for clients that lose the status line.
    pub status: u16,
    /// What went wrong in this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Each invalid field; empty unless the request carried bad input.
    #[serde(default)]
    #[schema(required = true)]
    pub errors: Vec<FieldError>,
}

/// An error answer of the API. Build it with one of the constructors, return it from a
/// handler (it implements [`IntoResponse`]) or use it as an extractor's rejection. Boxed,
/// so `Result<T, Problem>` stays as small as `T`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem(Box<ProblemParts>);

#[derive(Clone, Debug, PartialEq, Eq)]
struct ProblemParts {
    status: StatusCode,
    slug: &'static str,
    title: &'static str,
    detail: Option<String>,
    errors: Vec<FieldError>,
    www_authenticate: Option<&'static str>,
    allow: Option<HeaderValue>,
}

impl Problem {
    /// A problem of a kind not covered by the constructors below. `slug` becomes the last
    /// segment of the `type` URI and must be stable: clients switch on it.
    pub fn new(status: StatusCode, slug: &'static str, title: &'static str) -> Self {
        Self(Box::new(ProblemParts {
            status,
            slug,
            title,
            detail: None,
            errors: Vec::new(),
            www_authenticate: None,
            allow: None,
        }))
    }

    /// Replaces the detail.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.0.detail = Some(detail.into());
        self
    }

    /// Replaces the field errors.
    #[must_use]
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.0.errors = errors;
        self
    }

    /// 400: the request is invalid as a whole (no single field to blame).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid-input", "Invalid input").with_detail(detail)
    }

    /// 400: one or more fields are invalid; each is named in `errors`.
    pub fn invalid_fields(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("invalid field `{}`: {}", one.field, one.reason),
            many => format!("{} invalid fields", many.len()),
        };
        Self::bad_request(detail).with_errors(errors)
    }

    /// 400: the body is not well-formed JSON.
    pub fn malformed_json(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed-json", "Malformed JSON").with_detail(detail)
    }

    /// 401 for a request without credentials; answers `WWW-Authenticate: Bearer`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        let mut problem = Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized");
        problem.0.www_authenticate = Some(BEARER_CHALLENGE);
        problem.with_detail(detail)
    }

    /// 401 for a request whose bearer token was refused (malformed, expired, forged).
    pub fn invalid_token(detail: impl Into<String>) -> Self {
        let mut problem = Self::unauthorized(detail);
        problem.0.www_authenticate = Some(BEARER_INVALID_TOKEN);
        problem
    }

    /// 403: authenticated, but the role does not allow this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden").with_detail(detail)
    }

    /// 404: `what` (e.g. `queue sales`) does not exist, or is not visible to the caller.
    pub fn not_found(what: impl Display) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found")
            .with_detail(format!("{what} not found"))
    }

    /// 409: the request conflicts with the current state (e.g. a duplicate name).
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict").with_detail(detail)
    }

    /// 409: an optimistic-concurrency check failed (the resource changed since it was read).
    pub fn version_conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "version-conflict", "Version conflict").with_detail(detail)
    }

    /// 422: the requested state transition is not allowed from the current state.
    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-state-transition",
            "Invalid state transition",
        )
        .with_detail(detail)
    }

    /// 413: the body is larger than `limit` bytes.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Payload too large",
        )
        .with_detail(format!("request body exceeds {limit} bytes"))
    }

    /// 415: the body's content type is not the `expected` one.
    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
        )
        .with_detail(format!("expected Content-Type: {expected}"))
    }

    /// 405; `allow` (axum's `Allow` header, if known) is passed on.
    pub fn method_not_allowed(allow: Option<HeaderValue>) -> Self {
        let mut problem = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
        );
        if let Some(text) = allow.as_ref().and_then(|value| value.to_str().ok()) {
            problem.0.detail = Some(format!("allowed methods: {text}"));
        }
        problem.0.allow = allow;
        problem
    }

    /// 500: logs `error` at error level and answers a generic detail, so internals (SQL,
    /// paths, peer addresses) never reach the client.
    pub fn internal(error: &dyn Display) -> Self {
        tracing::error!(%error, "internal error while handling an API request");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal-error",
            "Internal error",
        )
        .with_detail("the server failed to handle the request; the error has been logged")
    }

    /// 503: a dependency (store, media, SIP) is not available right now.
    pub fn service_unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service-unavailable",
            "Service unavailable",
        )
        .with_detail(detail)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    /// The slug of the `type` URI (`not-found`, `invalid-input`, …).
    pub fn slug(&self) -> &'static str {
        self.0.slug
    }

    /// The detail, if any.
    pub fn detail(&self) -> Option<&str> {
        self.0.detail.as_deref()
    }

    /// The field errors.
    pub fn errors(&self) -> &[FieldError] {
        &self.0.errors
    }

    /// The wire form.
    pub fn document(&self) -> ProblemDocument {
        ProblemDocument {
            type_uri: format!("{PROBLEM_TYPE_PREFIX}{}", self.0.slug),
            title: self.0.title.to_owned(),
            status: self.0.status.as_u16(),
            detail: self.0.detail.clone(),
            errors: self.0.errors.clone(),
        }
    }
}

impl Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.0.status.as_u16(), self.0.title)?;
        if let Some(detail) = &self.0.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        // Serialising strings and integers cannot fail; the fallback keeps this panic-free.
        let body = serde_json::to_vec(&self.document()).unwrap_or_default();
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = self.0.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        );
        if let Some(challenge) = self.0.www_authenticate {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(allow) = self.0.allow {
            headers.insert(header::ALLOW, allow);
        }
        response
    }
}

/// Router fallback: every unknown path is a 404 problem
/// (`Router::fallback(cec_api::fallback)`).
pub async fn fallback(uri: Uri) -> Problem {
    Problem::not_found(format_args!("resource {}", truncate(uri.path(), 200)))
}

/// Response mapper (`axum::middleware::map_response(cec_api::plain_errors_to_problems)`)
/// that turns the plain-text errors axum produces by itself — 405 for a known path with
/// another method, rejections of axum's own extractors such as `Path` — into problems, so
/// no error leaves the API in another shape. Responses that are already problems pass.
pub async fn plain_errors_to_problems(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_problem(&response) {
        return response;
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        let allow = response.headers().get(header::ALLOW).cloned();
        return Problem::method_not_allowed(allow).into_response();
    }
    if status.is_server_error() {
        return Problem::new(status, "internal-error", "Internal error").into_response();
    }
    let is_text = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/plain"));
    let (parts, body) = response.into_parts();
    let detail = if is_text {
        axum::body::to_bytes(body, MAX_FOREIGN_DETAIL * 4)
            .await
            .ok()
            .map(|bytes| truncate(&String::from_utf8_lossy(&bytes), MAX_FOREIGN_DETAIL).to_owned())
            .filter(|text| !text.is_empty())
    } else {
        None
    };
    let title = parts.status.canonical_reason().unwrap_or("Client error");
    let mut problem = Problem::new(parts.status, "invalid-input", title);
    problem.0.detail = detail;
    if status == StatusCode::UNAUTHORIZED {
        problem.0.www_authenticate = Some(BEARER_CHALLENGE);
    }
    problem.into_response()
}

fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| {
            value
                .as_bytes()
                .starts_with(PROBLEM_CONTENT_TYPE.as_bytes())
        })
}

/// `text` cut to at most `max` bytes at a character boundary.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

#[cfg(test)]
#[path = "problem_tests.rs"]
mod tests;
