//! `GET …/events/ws`: the event log pushed over a WebSocket as batches commit.
//!
//! - Auth: `Authorization: Bearer <token>`, or `?access_token=<token>` for browsers (which
//!   cannot set headers on a WebSocket). Who sees what is as for the long poll.
//! - Start: `?after=<seq>`, or a first text message `{"after": <seq>}` within one second of
//!   opening; without either, the events committed after the connection opened. A later
//!   `{"after": <seq>}` message restarts the stream after that seq.
//! - Each event is one text frame with the same JSON as the long poll's `events[]` items.
//! - The server closes with 1008 when the token expires (reconnect with a fresh one and the
//!   last seq), 1007 for a message it cannot read, 1011 when the store fails.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tokio::time::Instant;

use super::auth::tenant_for;
use super::event_feed::EventReader;
use super::openapi::RouteDoc;
use super::records::{check_after, reader_for};
use super::{ApiState, Routes};
use crate::{ApiQuery, Claims, Problem, Role, TokenError, authenticate, now_epoch_ms};

/// How long a client may take to send its `{"after": n}` before the stream starts.
const FIRST_MESSAGE_WAIT: Duration = Duration::from_secs(1);

/// Events read from the store at a time while catching up.
const PAGE: u32 = 1000;

/// Query of the WebSocket request.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WsQuery {
    /// Start after this seq.
    #[serde(default)]
    after: Option<i64>,
    /// The bearer token, for clients that cannot send headers.
    #[serde(default)]
    access_token: Option<String>,
}

/// A client's (re)start request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Resume {
    after: i64,
}

/// The token from the header, else from `access_token`.
fn ws_claims(
    state: &ApiState,
    headers: &HeaderMap,
    access_token: Option<&str>,
) -> Result<Claims, Problem> {
    let now = now_epoch_ms();
    match access_token {
        Some(token) if !headers.contains_key(axum::http::header::AUTHORIZATION) => {
            state.signer.verify(token, now).map_err(|e| {
                Problem::invalid_token(match e {
                    TokenError::Expired => "token expired",
                    TokenError::BadSignature => "bad token signature",
                    _ => "malformed token",
                })
            })
        }
        _ => authenticate(headers, &state.signer, now),
    }
}

async fn events_ws(
    State(state): State<ApiState>,
    Path(tenant): Path<String>,
    ApiQuery(query): ApiQuery<WsQuery>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, Problem> {
    let claims = ws_claims(&state, &headers, query.access_token.as_deref())?;
    let mut errors = Vec::new();
    let after = query.after.map(|a| check_after(Some(a), &mut errors));
    if !errors.is_empty() {
        return Err(Problem::invalid_fields(errors));
    }
    let tenant = tenant_for(&state, &claims, &tenant, Role::Agent).await?;
    let reader = reader_for(&claims, &tenant.id);
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        // Not a WebSocket handshake: axum's answer, turned into a problem by the middleware.
        Err(rejection) => return Ok(rejection.into_response()),
    };
    let lifetime_ms = u64::try_from(claims.expires_ms - now_epoch_ms()).unwrap_or(0);
    let expires = Instant::now() + Duration::from_millis(lifetime_ms);
    Ok(upgrade.on_upgrade(move |mut socket| async move {
        if let Some(frame) = stream(&mut socket, &state, &reader, after, expires).await {
            let _ = socket.send(Message::Close(Some(frame))).await;
        }
    }))
}

fn close(code: u16, reason: &str) -> Option<CloseFrame> {
    Some(CloseFrame {
        code,
        reason: reason.into(),
    })
}

/// What a client message means: `Ok(Some(seq))` restart after seq, `Ok(None)` nothing to do,
/// `Err(frame)` end the stream (with this close frame, if any).
fn incoming(
    message: Option<Result<Message, axum::Error>>,
) -> Result<Option<i64>, Option<CloseFrame>> {
    match message {
        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => Err(None),
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(None),
        Some(Ok(Message::Binary(_))) => Err(close(
            close_code::UNSUPPORTED,
            "only text messages {\"after\": <seq>}",
        )),
        Some(Ok(Message::Text(text))) => match serde_json::from_str::<Resume>(text.as_str()) {
            Ok(Resume { after }) if after >= 0 => Ok(Some(after)),
            _ => Err(close(close_code::INVALID, "expected {\"after\": <seq>}")),
        },
    }
}

/// Streams events until the client leaves or something ends it; the close frame to send.
async fn stream(
    socket: &mut WebSocket,
    state: &ApiState,
    reader: &EventReader,
    after: Option<i64>,
    expires: Instant,
) -> Option<CloseFrame> {
    let mut commits = state.events.subscribe();
    let mut after = match after {
        Some(after) => after,
        None => {
            let now = *commits.borrow_and_update();
            match tokio::time::timeout(FIRST_MESSAGE_WAIT, socket.recv()).await {
                Err(_) => now,
                Ok(message) => match incoming(message) {
                    Ok(restart) => restart.unwrap_or(now),
                    Err(frame) => return frame,
                },
            }
        }
    };
    loop {
        // Marked seen before reading: a commit after the read makes `changed` ready.
        commits.borrow_and_update();
        loop {
            let Ok(events) = reader.read(state, after, PAGE).await else {
                return close(close_code::ERROR, "events are not available");
            };
            for event in &events {
                let Ok(text) = serde_json::to_string(event) else {
                    return close(close_code::ERROR, "event not encodable");
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    return None;
                }
                after = event.seq;
            }
            if events.len() < PAGE as usize {
                break;
            }
        }
        tokio::select! {
            () = tokio::time::sleep_until(expires) => {
                return close(close_code::POLICY, "token expired");
            }
            changed = commits.changed() => {
                if changed.is_err() {
                    return close(close_code::AWAY, "server stopping");
                }
            }
            message = socket.recv() => match incoming(message) {
                Ok(Some(restart)) => after = restart,
                Ok(None) => {}
                Err(frame) => return frame,
            },
        }
    }
}

pub(crate) fn routes(r: Routes) -> Routes {
    r.add(
        "/api/v1/tenants/{tenant}/events/ws",
        get(events_ws),
        RouteDoc::new(
            "get",
            "events",
            "Events pushed over a WebSocket as they commit (send {\"after\": seq} first to resume)",
        )
        .query("after", "integer", "start after this seq")
        .query(
            "access_token",
            "string",
            "the bearer token, for clients that cannot send an Authorization header",
        )
        .status(101),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages() {
        let text = |s: &str| Some(Ok(Message::Text(s.into())));
        assert_eq!(incoming(text(r#"{"after": 7}"#)), Ok(Some(7)));
        assert_eq!(
            incoming(Some(Ok(Message::Ping(Default::default())))),
            Ok(None)
        );
        assert_eq!(incoming(None), Err(None));
        for bad in [
            r#"{"after": -1}"#,
            r#"{"after": "x"}"#,
            "[]",
            r#"{"after": 1, "b": 2}"#,
        ] {
            let frame = incoming(text(bad)).unwrap_err().unwrap();
            assert_eq!(frame.code, close_code::INVALID, "{bad}");
        }
        let binary = incoming(Some(Ok(Message::Binary(Default::default()))));
        assert_eq!(binary.unwrap_err().unwrap().code, close_code::UNSUPPORTED);
    }
}
