//! The agent workbench and call control: sign in and out, work state, live calls and
//! release, passed to the call core through [`CallControl`].
//!
//! Checks happen here, in this order, before the call core sees a command: token and tenant,
//! the agent exists in the store (404), the caller may act for it (an agent only for itself,
//! supervisors and admins for anyone in their tenant: 403), the body is valid for the
//! tenant (400), control is configured (503).

use std::sync::Arc;

use axum::Json;
use axum::body::to_bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use cec_store::model::{AgentSpec, ReasonCodeSpec, TenantSpec};
use cec_store::{Listing, StoreError, Stored};
use serde::de::DeserializeOwned;

use super::auth::tenant_for;
use super::openapi::{Body, RouteDoc, listing, schema_ref};
use super::{ApiState, Routes};
use crate::{
    AgentCommand, AgentStatus, ApiJson, Authenticated, CallControl, Claims, FieldError, LiveCall,
    PrincipalKind, Problem, Role, SignInRequest, StateRequest, WorkState,
};

/// A JSON body that may be left out: no body (or only whitespace) is `None`; otherwise it is
/// read like [`ApiJson`] (415 without a JSON content type, 413, 400 naming the field).
pub(crate) struct OptionalJson<T>(pub(crate) Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Problem> {
        let (parts, body) = request.into_parts();
        let limit = crate::DEFAULT_BODY_LIMIT;
        let bytes = to_bytes(body, limit)
            .await
            .map_err(|_| Problem::payload_too_large(limit))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        if !crate::is_json_content_type(&parts.headers) {
            return Err(Problem::unsupported_media_type("application/json"));
        }
        crate::parse_json(&bytes).map(|value| OptionalJson(Some(value)))
    }
}

/// The configured call control, or 503.
pub(crate) fn control(state: &ApiState) -> Result<Arc<dyn CallControl>, Problem> {
    state
        .call_control
        .clone()
        .ok_or_else(|| Problem::service_unavailable("call control is not running on this server"))
}

/// Whether `claims` may act for the agent `work_no`: supervisors and admins for anyone of
/// their tenant, an agent's own session only for itself.
pub(crate) fn may_act_for(claims: &Claims, work_no: &str) -> bool {
    claims.role.at_least(Role::Supervisor)
        || (claims.principal == PrincipalKind::Agent && claims.subject == work_no)
}

/// The agent `key` (work number or id) of the tenant, if the caller may act for it.
async fn agent_for(
    state: &ApiState,
    claims: &Claims,
    tenant: &str,
    key: &str,
) -> Result<(Stored<TenantSpec>, Stored<AgentSpec>), Problem> {
    let tenant = tenant_for(state, claims, tenant, Role::Agent).await?;
    let agent: Stored<AgentSpec> = state.store.get(&tenant.id, key).await?;
    if !may_act_for(claims, &agent.spec.work_no) {
        return Err(Problem::forbidden(
            "an agent may only act for itself; supervisors and admins for any agent",
        ));
    }
    Ok((tenant, agent))
}

async fn run(
    state: &ApiState,
    tenant: &Stored<TenantSpec>,
    agent: &Stored<AgentSpec>,
    command: AgentCommand,
) -> Result<Json<AgentStatus>, Problem> {
    let control = control(state)?;
    let status = control
        .agent(&tenant.spec.name, &agent.spec.work_no, command)
        .await?;
    Ok(Json(status))
}

fn invalid(field: &str, reason: impl Into<String>) -> Problem {
    Problem::invalid_fields(vec![FieldError::new(field, reason)])
}

/// Checks a phone number given at sign-in (the call core decides whether it is reachable).
fn check_phone(phone: Option<&str>) -> Result<(), Problem> {
    match phone {
        Some(p) if p.is_empty() || p.len() > 64 => {
            Err(invalid("phone", "must be 1 to 64 characters long"))
        }
        Some(p) if p.chars().any(|c| c.is_whitespace() || c.is_control()) => Err(invalid(
            "phone",
            "must not contain spaces or control characters",
        )),
        _ => Ok(()),
    }
}

async fn sign_in(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path((tenant, key)): Path<(String, String)>,
    OptionalJson(body): OptionalJson<SignInRequest>,
) -> Result<Json<AgentStatus>, Problem> {
    let (tenant, agent) = agent_for(&state, &claims, &tenant, &key).await?;
    let body = body.unwrap_or_default();
    if body.state == Some(WorkState::Rest) {
        return Err(invalid("state", "must be idle, busy or work at sign-in"));
    }
    check_phone(body.phone.as_deref())?;
    run(&state, &tenant, &agent, AgentCommand::SignIn(body)).await
}

async fn sign_out(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path((tenant, key)): Path<(String, String)>,
) -> Result<Json<AgentStatus>, Problem> {
    let (tenant, agent) = agent_for(&state, &claims, &tenant, &key).await?;
    run(&state, &tenant, &agent, AgentCommand::SignOut).await
}

/// Checks a state change against the tenant: a reason only with busy or rest and only one
/// of the tenant's reason codes of that kind; a duration only with busy or rest.
async fn check_state(
    state: &ApiState,
    tenant_id: &str,
    request: &StateRequest,
) -> Result<(), Problem> {
    let kind = match request.state {
        WorkState::Busy => Some("busy"),
        WorkState::Rest => Some("rest"),
        WorkState::Idle | WorkState::Work => None,
    };
    let mut errors = Vec::new();
    if let Some(code) = request.reason {
        match kind {
            None => errors.push(FieldError::new("reason", "only with state busy or rest")),
            Some(kind) => {
                let key = format!("{kind}-{code}");
                match state.store.get::<ReasonCodeSpec>(tenant_id, &key).await {
                    Ok(_) => {}
                    Err(StoreError::NotFound { .. }) => errors.push(FieldError::new(
                        "reason",
                        format!("no {kind} reason code {code} in this tenant"),
                    )),
                    Err(other) => return Err(other.into()),
                }
            }
        }
    }
    if let Some(seconds) = request.duration_s {
        if kind.is_none() {
            errors.push(FieldError::new(
                "duration_s",
                "only with state busy or rest",
            ));
        } else if !(1..=86_400).contains(&seconds) {
            errors.push(FieldError::new(
                "duration_s",
                format!("must be between 1 and 86400 (is {seconds})"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::invalid_fields(errors))
    }
}

async fn set_state(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path((tenant, key)): Path<(String, String)>,
    ApiJson(body): ApiJson<StateRequest>,
) -> Result<Json<AgentStatus>, Problem> {
    let (tenant, agent) = agent_for(&state, &claims, &tenant, &key).await?;
    check_state(&state, &tenant.id, &body).await?;
    run(&state, &tenant, &agent, AgentCommand::SetState(body)).await
}

async fn get_state(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path((tenant, key)): Path<(String, String)>,
) -> Result<Json<AgentStatus>, Problem> {
    let (tenant, agent) = agent_for(&state, &claims, &tenant, &key).await?;
    run(&state, &tenant, &agent, AgentCommand::Get).await
}

/// The calls the caller may see: all of the tenant's, or an agent's own.
async fn visible_calls(
    state: &ApiState,
    claims: &Claims,
    tenant: &Stored<TenantSpec>,
) -> Result<Vec<LiveCall>, Problem> {
    let mut calls = control(state)?.live_calls(&tenant.spec.name).await?;
    if !claims.role.at_least(Role::Supervisor) {
        calls.retain(|call| call.agent.as_deref() == Some(claims.subject.as_str()));
    }
    Ok(calls)
}

async fn live_calls(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path(tenant): Path<String>,
) -> Result<Json<Listing<LiveCall>>, Problem> {
    let tenant = tenant_for(&state, &claims, &tenant, Role::Agent).await?;
    let items = visible_calls(&state, &claims, &tenant).await?;
    Ok(Json(Listing {
        items,
        next_cursor: None,
    }))
}

async fn release_call(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path((tenant, call_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let tenant = tenant_for(&state, &claims, &tenant, Role::Agent).await?;
    let control = control(&state)?;
    if !claims.role.at_least(Role::Supervisor) {
        // An agent releases only a call it is on (or being offered).
        let calls = control.live_calls(&tenant.spec.name).await?;
        let call = calls
            .iter()
            .find(|c| c.call_id == call_id)
            .ok_or_else(|| Problem::not_found(format_args!("call {call_id:?}")))?;
        if call.agent.as_deref() != Some(claims.subject.as_str()) {
            return Err(Problem::forbidden(
                "an agent may only release its own calls",
            ));
        }
    }
    control.release_call(&tenant.spec.name, &call_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Problems every control route can answer besides the usual ones.
fn control_doc(doc: RouteDoc) -> RouteDoc {
    doc.problem(422, "Not allowed in the agent's or call's current state")
        .problem(503, "Call control is not running")
}

pub(crate) fn routes(r: Routes) -> Routes {
    let agent = "/api/v1/tenants/{tenant}/agents/{id}";
    let status = || Body::Schema("AgentStatus".into());
    r.add(
        &format!("{agent}/sign-in"),
        post(sign_in),
        control_doc(
            RouteDoc::new(
                "post",
                "agents",
                "Sign an agent in (`{id}`: work number or id); the body is optional",
            )
            .optional_request(Body::Schema("SignInRequest".into()))
            .response(status()),
        ),
    )
    .add(
        &format!("{agent}/sign-out"),
        post(sign_out),
        control_doc(RouteDoc::new("post", "agents", "Sign an agent out").response(status())),
    )
    .add(
        &format!("{agent}/state"),
        put(set_state),
        control_doc(
            RouteDoc::new(
                "put",
                "agents",
                "Change an agent's work state (idle, busy, rest, work)",
            )
            .request(Body::Schema("StateRequest".into()))
            .response(status()),
        ),
    )
    .add(
        &format!("{agent}/state"),
        get(get_state),
        control_doc(RouteDoc::new("get", "agents", "An agent's current status").response(status())),
    )
    .add(
        "/api/v1/tenants/{tenant}/calls",
        get(live_calls),
        control_doc(
            RouteDoc::new(
                "get",
                "calls",
                "Calls in progress (an agent's session sees its own)",
            )
            .response(Body::Inline(listing(&schema_ref("LiveCall")))),
        ),
    )
    .add(
        "/api/v1/tenants/{tenant}/calls/{id}/release",
        post(release_call),
        control_doc(
            RouteDoc::new(
                "post",
                "calls",
                "Release a call in progress (an agent: only its own)",
            )
            .status(204),
        ),
    )
}
