//! The REST application: shared state, the route table (each route registered together with
//! its OpenAPI description, so the document cannot miss a route), and the router.

mod agents;
mod auth;
mod errors;
mod event_feed;
mod events_ws;
mod expiring;
mod extras;
mod health;
mod openapi;
mod principals;
mod records;
mod resources;
mod tenant_cache;
mod tenants;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::FromRef;
use axum::routing::MethodRouter;
use cec_store::Store;

use crate::{CallControl, Registry, TokenSigner};

pub use openapi::{RouteDoc, openapi_document};
pub use tenants::parse_config_document;

/// Lifetime of bearer tokens.
pub const TOKEN_TTL_MS: i64 = 3_600_000;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// Configuration storage.
    pub store: Store,
    /// Signs and verifies bearer tokens.
    pub signer: Arc<TokenSigner>,
    /// Prometheus metrics.
    pub metrics: Registry,
    /// Set once SIP listens (for `/readyz`).
    pub sip_ready: Arc<AtomicBool>,
    /// The OpenAPI document, built once.
    pub openapi: Arc<serde_json::Value>,
    /// Recently verified token principals.
    pub(crate) principals: Arc<principals::PrincipalCache>,
    /// Recently read tenants.
    pub(crate) tenants: Arc<tenant_cache::TenantCache>,
    /// Agent and call control; `None` until the call core runs (those routes answer 503).
    pub call_control: Option<Arc<dyn CallControl>>,
    /// The last committed event `seq`, watched by long polls and WebSockets.
    pub(crate) events: event_feed::EventFeed,
    /// Woken after each configuration write ([`ApiState::config_changed`]).
    pub(crate) config_changes: Arc<tokio::sync::Notify>,
}

impl FromRef<ApiState> for Arc<TokenSigner> {
    fn from_ref(state: &ApiState) -> Self {
        state.signer.clone()
    }
}

impl FromRef<ApiState> for Registry {
    fn from_ref(state: &ApiState) -> Self {
        state.metrics.clone()
    }
}

impl ApiState {
    /// State over a store; the token key comes from the store so every node shares it.
    pub async fn new(store: Store, metrics: Registry) -> Result<ApiState, cec_store::StoreError> {
        let key = store.token_signing_key().await?;
        let events = event_feed::EventFeed::new(store.last_event_seq().await?);
        Ok(ApiState {
            store,
            signer: Arc::new(TokenSigner::new(key)),
            metrics,
            sip_ready: Arc::new(AtomicBool::new(false)),
            openapi: Arc::new(openapi_document(&route_table().1)),
            principals: Arc::default(),
            tenants: Arc::default(),
            call_control: None,
            events,
            config_changes: Arc::default(),
        })
    }

    /// The same state with agent and call control by `control`.
    #[must_use]
    pub fn with_call_control(mut self, control: Arc<dyn CallControl>) -> ApiState {
        self.call_control = Some(control);
        self
    }

    /// Tells waiting event readers (long polls, WebSockets) that every event up to `last_seq`
    /// is committed. Call it after each batch commit; a lower or equal `seq` changes nothing.
    pub fn events_committed(&self, last_seq: i64) {
        self.events.committed(last_seq);
    }

    /// Resolves after the next successful configuration change made through this API (a
    /// create, update or delete under `/api/v1/tenants`), so the call core can reload at
    /// once instead of at its next periodic reload.
    pub async fn config_changed(&self) {
        self.config_changes.notified().await;
    }

    /// Marks SIP as listening.
    pub fn set_sip_ready(&self) {
        self.sip_ready.store(true, Ordering::Release);
    }
}

/// Collects routes and their documentation side by side.
pub(crate) struct Routes {
    router: Router<ApiState>,
    docs: Vec<RouteDoc>,
}

impl Routes {
    fn new() -> Routes {
        Routes {
            router: Router::new(),
            docs: Vec::new(),
        }
    }

    /// Adds one method on one path with its documentation.
    pub(crate) fn add(
        mut self,
        path: &str,
        handler: MethodRouter<ApiState>,
        doc: RouteDoc,
    ) -> Routes {
        self.router = self.router.route(path, handler);
        self.docs.push(doc.at(path));
        self
    }
}

/// Every route of the API and its documentation.
pub fn route_table() -> (Router<ApiState>, Vec<RouteDoc>) {
    let routes = Routes::new();
    let routes = health::routes(routes);
    let routes = auth::routes(routes);
    let routes = tenants::routes(routes);
    let routes = resources::routes(routes);
    let routes = extras::routes(routes);
    let routes = agents::routes(routes);
    let routes = records::routes(routes);
    let routes = events_ws::routes(routes);
    (routes.router, routes.docs)
}

/// Wakes [`ApiState::config_changed`] waiters after a successful write under
/// `/api/v1/tenants` (agent state and call control change no configuration).
async fn note_config_change(
    axum::extract::State(changes): axum::extract::State<Arc<tokio::sync::Notify>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let write = !matches!(
        *request.method(),
        axum::http::Method::GET | axum::http::Method::HEAD
    );
    let path = request.uri().path();
    let configuration = path.starts_with("/api/v1/tenants")
        && !path.contains("/calls")
        && !path.ends_with("/sign-in")
        && !path.ends_with("/sign-out")
        && !path.ends_with("/state");
    let response = next.run(request).await;
    if write && configuration && response.status().is_success() {
        changes.notify_one();
    }
    response
}

/// The complete router: API routes, metrics middleware, problem errors for everything else.
pub fn router(state: ApiState) -> Router {
    let (routes, _) = route_table();
    routes
        .fallback(crate::fallback)
        .layer(axum::middleware::from_fn_with_state(
            state.config_changes.clone(),
            note_config_change,
        ))
        .layer(axum::middleware::map_response(
            crate::plain_errors_to_problems,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            crate::track_http,
        ))
        .with_state(state)
}
