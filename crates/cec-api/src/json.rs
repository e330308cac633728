//! Strict JSON and query-string extractors whose every rejection is a [`Problem`] naming
//! the offending field, so bad input of any kind is a 4xx and never a 5xx or a panic.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_path_to_error::{Path, Segment};

use crate::problem::{FieldError, Problem, truncate};

/// Largest body [`ApiJson`] reads when no [`BodyLimit`] is set: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Longest `reason` we return: serde quotes the offending input in its messages, and a
/// megabyte-long string should not come back in the error.
const MAX_REASON: usize = 200;

/// Name of the request body (or query string) as a whole in [`FieldError::field`].
pub const ROOT_FIELD: &str = "$";

/// Body size limit for [`ApiJson`], read from the request extensions: install it with
/// `Router::layer(axum::Extension(BodyLimit(bytes)))` to override [`DEFAULT_BODY_LIMIT`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimit(pub usize);

impl Default for BodyLimit {
    fn default() -> Self {
        Self(DEFAULT_BODY_LIMIT)
    }
}

/// JSON request body (extractor) or response body (`IntoResponse`).
///
/// As an extractor it requires `Content-Type: application/json` or `application/*+json`
/// (else 415), a body within the [`BodyLimit`] (else 413), well-formed JSON (else 400
/// `malformed-json` with line and column) and a document that deserialises into `T` (else
/// 400 `invalid-input` whose `errors[0].field` is the path, e.g. `skills[0].weight`). Put
/// `#[serde(deny_unknown_fields)]` on `T` to reject unknown fields by name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(request.headers()) {
            return Err(Problem::unsupported_media_type("application/json"));
        }
        let limit = request
            .extensions()
            .get::<BodyLimit>()
            .copied()
            .unwrap_or_default()
            .0;
        // Refuse early when the client announces an oversized body.
        let announced = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if announced.is_some_and(|length| length > limit as u64) {
            return Err(Problem::payload_too_large(limit));
        }
        let bytes = read_body(request.into_body(), limit).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(body) => {
                let mut response = Response::new(Body::from(body));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                response
            }
            Err(error) => Problem::internal(&error).into_response(),
        }
    }
}

async fn read_body(body: Body, limit: usize) -> Result<bytes::Bytes, Problem> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => {
            Err(Problem::payload_too_large(limit))
        }
        Err(_) => Err(Problem::bad_request("could not read the request body")),
    }
}

/// Whether the request declares a JSON body: `application/json` or `application/<x>+json`,
/// parameters (`; charset=utf-8`) allowed, case-insensitive.
pub fn is_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind == "application" && (subtype == "json" || subtype.ends_with("+json"))
}

/// Parses `bytes` as a `T`, mapping every failure to the problem [`ApiJson`] answers.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let field = format_path(error.path());
        json_problem(&field, error.inner(), bytes)
    })?;
    // Trailing garbage after the document is a syntax error, not silently ignored.
    deserializer
        .end()
        .map_err(|error| json_problem(ROOT_FIELD, &error, bytes))?;
    Ok(value)
}

fn json_problem(field: &str, error: &serde_json::Error, bytes: &[u8]) -> Problem {
    let full = error.to_string();
    let suffix = format!(" at line {} column {}", error.line(), error.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    if error.classify() == serde_json::error::Category::Data {
        return Problem::invalid_fields(vec![field_error(field, message)]);
    }
    // serde_json reports an externally tagged enum given a number, bool, array or empty
    // object as a syntax error ("expected value") though the document is well-formed: check
    // the syntax on its own (only on this error path) to blame the field instead.
    if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
        let reason = "invalid type: expected an enum variant";
        return Problem::invalid_fields(vec![FieldError::new(field, reason)]);
    }
    Problem::malformed_json(format!(
        "line {} column {}: {}",
        error.line(),
        error.column(),
        truncate(message, MAX_REASON)
    ))
}

/// The field error for a serde message raised at `path`. Missing and unknown fields are
/// reported by serde at the enclosing struct, so their name is taken from the message and
/// appended to the path when the path does not end with it already.
fn field_error(base: &str, message: &str) -> FieldError {
    if let Some(name) = quoted_name(message, "missing field `", &["`"]) {
        return FieldError::new(join(base, name), "missing field");
    }
    if let Some(name) = quoted_name(
        message,
        "unknown field `",
        &["`, expected ", "`, there are no fields"],
    ) {
        // serde_path_to_error has recorded the key already; append it only if not.
        let field = if base == join(ROOT_FIELD, name) || base.ends_with(&key_segment(name)) {
            base.to_owned()
        } else {
            join(base, name)
        };
        return FieldError::new(field, "unknown field");
    }
    FieldError::new(base, truncate(message, MAX_REASON))
}

fn quoted_name<'m>(message: &'m str, prefix: &str, ends: &[&str]) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?;
    // The name comes from the input and may itself contain backticks: cut at the last end
    // marker serde wrote, not at the first backtick.
    let stop = ends.iter().find_map(|end| rest.rfind(end))?;
    rest.get(..stop)
}

fn join(base: &str, name: &str) -> String {
    let segment = key_segment(name);
    if base == ROOT_FIELD {
        segment.trim_start_matches('.').to_owned()
    } else {
        format!("{base}{segment}")
    }
}

/// `skills[0].weight`; `$` for the root; map keys that are not plain words are quoted
/// (`labels["a.b"]`) so a path is never ambiguous.
pub fn format_path(path: &Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                out.push_str(&key_segment(key));
            }
            Segment::Unknown => out.push_str(".?"),
        }
    }
    let trimmed = out.strip_prefix('.').unwrap_or(&out);
    if trimmed.is_empty() {
        ROOT_FIELD.to_owned()
    } else {
        trimmed.to_owned()
    }
}

fn key_segment(key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plain {
        format!(".{key}")
    } else {
        format!("[{}]", serde_json::Value::String(key.to_owned()))
    }
}

/// Query-string extractor with the same error shape as [`ApiJson`]: a parameter of the wrong
/// type, a missing one or (with `deny_unknown_fields`) an unknown one is a 400 naming it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(ApiQuery)
    }
}

/// Parses a query string (without `?`) as a `T`.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Problem> {
    let parser = form_urlencoded::parse(query.as_bytes());
    let deserializer = serde_urlencoded::Deserializer::new(parser);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let message = error.inner().to_string();
        Problem::invalid_fields(vec![field_error(&format_path(error.path()), &message)])
    })
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
