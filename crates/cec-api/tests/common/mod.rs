//! A tiny application built from the foundations, the way the resource routes will use
//! them, and a minimal HTTP/1.1 client over a raw `TcpStream` (no HTTP client crate: the
//! test must see exactly what goes over the wire).
#![allow(dead_code)] // each test file uses a different part

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, Path};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Router, middleware};
use cec_api::{
    ApiJson, ApiQuery, Authenticated, BodyLimit, Claims, PrincipalKind, Problem, Registry, Role,
    TokenSigner, fallback, metrics_endpoint, now_epoch_ms, plain_errors_to_problems, track_http,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const KEY: [u8; 32] = [42; 32];

#[derive(Clone)]
pub struct AppState {
    pub signer: Arc<TokenSigner>,
    pub registry: Registry,
}

impl FromRef<AppState> for Arc<TokenSigner> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.signer)
    }
}

impl FromRef<AppState> for Registry {
    fn from_ref(state: &AppState) -> Self {
        state.registry.clone()
    }
}

/// A typical create request: nested struct, list, bounded number, enum.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CreateQueue {
    pub name: String,
    pub a: Nested,
    #[serde(default)]
    pub priority: Option<u8>,
    #[serde(default)]
    pub strategy: Option<Strategy>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Nested {
    pub b: Vec<u32>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    LongestIdle,
    RoundRobin,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default)]
    pub limit: Option<u16>,
}

async fn create_queue(
    Authenticated(claims): Authenticated,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<CreateQueue>,
) -> Result<(StatusCode, ApiJson<CreateQueue>), Problem> {
    claims.require_tenant(&tenant)?;
    claims.require_role(Role::Admin)?;
    if body.name == "taken" {
        return Err(Problem::conflict("a queue named taken exists"));
    }
    Ok((StatusCode::CREATED, ApiJson(body)))
}

async fn list_queues(
    Authenticated(claims): Authenticated,
    Path(tenant): Path<String>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<Vec<String>>, Problem> {
    claims.require_tenant(&tenant)?;
    let limit = usize::from(query.limit.unwrap_or(2));
    Ok(ApiJson(
        ["q1", "q2", "q3"]
            .iter()
            .take(limit)
            .map(|s| (*s).to_owned())
            .collect(),
    ))
}

async fn echo_small(ApiJson(value): ApiJson<serde_json::Value>) -> ApiJson<serde_json::Value> {
    ApiJson(value)
}

pub fn app(registry: Registry) -> Router {
    let state = AppState {
        signer: Arc::new(TokenSigner::new(KEY)),
        registry: registry.clone(),
    };
    let small = Router::new()
        .route("/api/v1/small", post(echo_small))
        .layer(Extension(BodyLimit(16)));
    Router::new()
        .route(
            "/api/v1/tenants/{tenant}/queues",
            post(create_queue).get(list_queues),
        )
        .route("/metrics", get(metrics_endpoint))
        .merge(small)
        .fallback(fallback)
        .layer(middleware::map_response(plain_errors_to_problems))
        .layer(middleware::from_fn_with_state(registry, track_http))
        .with_state(state)
}

pub fn token(tenant: Option<&str>, role: Role, expires_in_ms: i64) -> String {
    let now = now_epoch_ms();
    TokenSigner::new(KEY).issue(&Claims {
        subject: "key-1".into(),
        tenant: tenant.map(str::to_owned),
        role,
        principal: PrincipalKind::ApiKey,
        issued_ms: now,
        expires_ms: now + expires_in_ms,
    })
}

pub async fn serve(registry: Registry) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app(registry)).await });
    addr
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The problem document, after checking the content type.
    pub fn problem(&self) -> serde_json::Value {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{self:?}"
        );
        let doc = self.json();
        assert_eq!(doc["status"], self.status, "{doc}");
        doc
    }
}

pub enum Body<'a> {
    None,
    Sized(&'a [u8]),
    Chunked(&'a [u8]),
}

/// One request on its own connection (`Connection: close`); the body is written by a
/// separate task so a server that answers before reading it all cannot deadlock us.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Body<'_>,
) -> Reply {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let payload = match body {
        Body::None => Vec::new(),
        Body::Sized(bytes) => {
            head.push_str(&format!("Content-Length: {}\r\n", bytes.len()));
            bytes.to_vec()
        }
        Body::Chunked(bytes) => {
            head.push_str("Transfer-Encoding: chunked\r\n");
            let mut out = Vec::new();
            for chunk in bytes.chunks(64 * 1024) {
                out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
            out
        }
    };
    head.push_str("\r\n");
    let write = tokio::spawn(async move {
        // Errors are expected when the server refuses a large body and closes early.
        let _ = writer.write_all(head.as_bytes()).await;
        let _ = writer.write_all(&payload).await;
        let _ = writer.flush().await;
        writer
    });
    let mut raw = Vec::new();
    let read = async {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buffer[..n]),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("reply within 10 s");
    drop(write.await);
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size_text = std::str::from_utf8(&data[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
    out
}
