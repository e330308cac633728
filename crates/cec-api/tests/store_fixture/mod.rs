//! A real router over a real SQLite store in a temp dir, and a platform token for it.

#![allow(dead_code, reason = "each test binary uses a part")]

use axum::body::{Body, to_bytes};
use axum::http::Request;
use cec_api::{ApiState, Claims, PrincipalKind, Registry, Role};
use cec_store::{Actor, Store, StoreOptions};
use tower::ServiceExt;

/// State over a fresh SQLite store with tenant `tenant` created; the dir is removed on drop.
pub struct StoreFixture {
    pub state: ApiState,
    pub dir: std::path::PathBuf,
    pub token: String,
}

impl Drop for StoreFixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl StoreFixture {
    pub async fn new(tag: &str, tenant: &str) -> StoreFixture {
        let dir = std::env::temp_dir().join(format!("cec-api-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let options = StoreOptions {
            url: format!("sqlite://{}/db.sqlite", dir.display()),
            sip_realm: "opencec".into(),
            data_dir: dir.clone(),
            max_connections: 4,
        };
        let store = Store::open(&options).await.unwrap();
        store.migrate().await.unwrap();
        store
            .create_tenant(
                &Actor::system("test"),
                serde_json::from_value(serde_json::json!({"name": tenant})).unwrap(),
            )
            .await
            .unwrap();
        let key = store
            .create_api_key(
                &Actor::system("test"),
                None,
                cec_store::KeyRole::System,
                "tests",
            )
            .await
            .unwrap();
        let state = ApiState::new(store, Registry::new()).await.unwrap();
        let now = cec_api::now_epoch_ms();
        let token = state.signer.issue(&Claims {
            subject: key.key.access_key,
            tenant: None,
            role: Role::System,
            principal: PrincipalKind::ApiKey,
            issued_ms: now,
            expires_ms: now + 3_600_000,
        });
        StoreFixture { state, dir, token }
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// A token for `claims` minus the times, valid for an hour.
    pub fn token_for(
        &self,
        subject: &str,
        tenant: Option<&str>,
        role: Role,
        principal: PrincipalKind,
    ) -> String {
        let now = cec_api::now_epoch_ms();
        self.state.signer.issue(&Claims {
            subject: subject.to_owned(),
            tenant: tenant.map(str::to_owned),
            role,
            principal,
            issued_ms: now,
            expires_ms: now + 3_600_000,
        })
    }

    /// Sends one request through the router: status, content type, body bytes.
    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        content_type: Option<&str>,
        accept: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, String, Vec<u8>) {
        self.send_as(&self.token, method, uri, content_type, accept, body)
            .await
    }

    /// Sends a JSON body (or none) with `token`: status and the answer as JSON (`null` when
    /// the answer is empty).
    pub async fn call(
        &self,
        token: &str,
        method: &str,
        uri: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let (content_type, bytes) = match body {
            Some(value) => (
                Some("application/json"),
                serde_json::to_vec(&value).unwrap(),
            ),
            None => (None, Vec::new()),
        };
        let (status, _, answer) = self
            .send_as(token, method, uri, content_type, None, bytes)
            .await;
        let json = if answer.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&answer).unwrap_or_else(|e| {
                panic!(
                    "{method} {uri}: not JSON ({e}): {}",
                    String::from_utf8_lossy(&answer)
                )
            })
        };
        (status, json)
    }

    /// Sends one request with `token` through the router: status, content type, body bytes.
    pub async fn send_as(
        &self,
        token: &str,
        method: &str,
        uri: &str,
        content_type: Option<&str>,
        accept: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, String, Vec<u8>) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {token}"));
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let response = cec_api::router(self.state.clone())
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        (status, content_type, bytes)
    }
}
