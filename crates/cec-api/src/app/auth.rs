//! Tokens: API keys (`POST /api/v1/auth/token`) and agents (`POST /api/v1/auth/agent-token`),
//! plus the checks every tenant-scoped handler starts with.

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use cec_store::model::{AgentRole, AgentSpec, TenantSpec};
use cec_store::{Actor, KeyRole, StoreError, Stored};
use serde::{Deserialize, Serialize};

use super::openapi::{Body, RouteDoc};
use super::{ApiState, Routes, TOKEN_TTL_MS};
use crate::{ApiJson, Claims, PrincipalKind, Problem, Role, now_epoch_ms};

/// Log-in with an API key.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The access key.
    pub access_key: String,
    /// Its secret.
    pub secret: String,
}

/// Log-in of an agent.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentTokenRequest {
    /// Tenant name or id.
    pub tenant: String,
    /// The agent's work number.
    pub work_no: String,
    /// The agent's web password.
    pub password: String,
}

/// A bearer token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Expiry, epoch milliseconds.
    pub expires_ms: i64,
    /// The tenant id (absent for platform keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// What the token may do.
    pub role: Role,
}

fn issue(
    state: &ApiState,
    subject: String,
    tenant: Option<String>,
    role: Role,
    principal: PrincipalKind,
) -> TokenResponse {
    let now = now_epoch_ms();
    let claims = Claims {
        subject,
        tenant: tenant.clone(),
        role,
        principal,
        issued_ms: now,
        expires_ms: now + TOKEN_TTL_MS,
    };
    TokenResponse {
        token: state.signer.issue(&claims),
        token_type: "Bearer",
        expires_ms: claims.expires_ms,
        tenant,
        role,
    }
}

async fn token(
    State(state): State<ApiState>,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<Json<TokenResponse>, Problem> {
    let key = state
        .store
        .verify_api_key(&req.access_key, &req.secret)
        .await
        .map_err(|e| match e {
            StoreError::BadCredentials => {
                Problem::unauthorized("unknown access key or wrong secret")
            }
            other => Problem::from(other),
        })?;
    let role = match key.role {
        KeyRole::System => Role::System,
        KeyRole::Admin => Role::Admin,
        KeyRole::Supervisor => Role::Supervisor,
    };
    Ok(Json(issue(
        &state,
        key.access_key,
        key.tenant_id,
        role,
        PrincipalKind::ApiKey,
    )))
}

async fn agent_token(
    State(state): State<ApiState>,
    ApiJson(req): ApiJson<AgentTokenRequest>,
) -> Result<Json<TokenResponse>, Problem> {
    let refused = || Problem::unauthorized("unknown agent or wrong password");
    let tenant = state
        .store
        .get_tenant(&req.tenant)
        .await
        .map_err(|_| refused())?;
    let agent: Stored<AgentSpec> = state
        .store
        .get(&tenant.id, &req.work_no)
        .await
        .map_err(|_| refused())?;
    let secrets = state
        .store
        .secrets::<AgentSpec>(&tenant.id, &agent.id)
        .await?;
    let phc = secrets
        .as_ref()
        .and_then(|s| s.get("password_argon2"))
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    let password = req.password;
    // argon2 is deliberately slow: keep it off the async workers.
    let ok = match phc {
        Some(phc) => {
            tokio::task::spawn_blocking(move || cec_store::verify_password(&password, &phc))
                .await
                .unwrap_or(false)
        }
        None => false,
    };
    if !ok {
        return Err(refused());
    }
    let role = match agent.spec.role {
        AgentRole::Agent => Role::Agent,
        AgentRole::Supervisor => Role::Supervisor,
        AgentRole::Admin => Role::Admin,
    };
    Ok(Json(issue(
        &state,
        agent.spec.work_no,
        Some(tenant.id),
        role,
        PrincipalKind::Agent,
    )))
}

/// The audit-log actor of a token.
pub(crate) fn actor(claims: &Claims) -> Actor {
    match claims.principal {
        PrincipalKind::ApiKey => Actor::key(&claims.subject),
        PrincipalKind::Agent => Actor::agent(&claims.subject),
    }
}

/// Resolves the `{tenant}` of a path (name or id) for a caller with at least `min` role.
/// Other tenants' principals get 404, as if the tenant did not exist.
pub(crate) async fn tenant_for(
    state: &ApiState,
    claims: &Claims,
    key: &str,
    min: Role,
) -> Result<Stored<TenantSpec>, Problem> {
    claims.require_role(min)?;
    state.principals.check(&state.store, claims).await?;
    let tenant = state.tenants.get(&state.store, key).await?;
    claims.require_tenant(&tenant.id)?;
    Ok(tenant)
}

/// Checks a platform (system) caller whose token is still backed by an active key.
pub(crate) async fn require_system(state: &ApiState, claims: &Claims) -> Result<(), Problem> {
    claims.require_role(Role::System)?;
    state.principals.check(&state.store, claims).await
}

pub(crate) fn routes(r: Routes) -> Routes {
    r.add(
        "/api/v1/auth/token",
        post(token),
        RouteDoc::new("post", "auth", "Token for an API access key")
            .public()
            .request(Body::Schema("TokenRequest".into()))
            .response(Body::Schema("TokenResponse".into())),
    )
    .add(
        "/api/v1/auth/agent-token",
        post(agent_token),
        RouteDoc::new(
            "post",
            "auth",
            "Session token for an agent (work number + password)",
        )
        .public()
        .request(Body::Schema("AgentTokenRequest".into()))
        .response(Body::Schema("TokenResponse".into())),
    )
}
