//! Tenants (platform operators), a tenant's whole configuration as one document, its audit
//! log and its API keys.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use cec_store::model::TenantSpec;
use cec_store::{
    ApiKey, ApplySummary, AuditEntry, AuditQuery, KeyRole, Listing, NewApiKey, Page, Stored,
    TenantConfig,
};
use serde::Deserialize;
use serde_json::Value;

use super::auth::{actor, require_system, tenant_for};
use super::openapi::{Body, RouteDoc, listing, schema_ref, stored};
use super::resources::VersionQuery;
use super::{ApiState, Routes};
use crate::{ApiJson, ApiQuery, Authenticated, Problem, Role};

/// A new API key of a tenant.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKeyRequest {
    /// `admin` or `supervisor`.
    pub role: KeyRole,
    /// What it is for.
    #[serde(default)]
    pub description: String,
}

async fn list_tenants(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Listing<Stored<TenantSpec>>>, Problem> {
    require_system(&state, &claims).await?;
    Ok(Json(state.store.list_tenants(&page).await?))
}

async fn create_tenant(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    ApiJson(spec): ApiJson<TenantSpec>,
) -> Result<(StatusCode, Json<Stored<TenantSpec>>), Problem> {
    require_system(&state, &claims).await?;
    Ok((
        StatusCode::CREATED,
        Json(state.store.create_tenant(&actor(&claims), spec).await?),
    ))
}

async fn read_tenant(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path(tenant): Path<String>,
) -> Result<Json<Stored<TenantSpec>>, Problem> {
    Ok(Json(
        tenant_for(&state, &claims, &tenant, Role::Agent).await?,
    ))
}

async fn replace_tenant(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Stored<TenantSpec>>, Problem> {
    require_system(&state, &claims).await?;
    let (spec, version) = super::resources::spec_from::<TenantSpec>(body)?;
    Ok(Json(
        state
            .store
            .update_tenant(&actor(&claims), &tenant, version, spec)
            .await?,
    ))
}

async fn delete_tenant(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path(tenant): Path<String>,
    ApiQuery(query): ApiQuery<VersionQuery>,
) -> Result<StatusCode, Problem> {
    require_system(&state, &claims).await?;
    let deleted = state
        .store
        .delete_tenant(&actor(&claims), &tenant, query.version)
        .await;
    state.tenants.clear();
    deleted?;
    Ok(StatusCode::NO_CONTENT)
}

/// Largest configuration document accepted.
const MAX_CONFIG_BYTES: usize = 8 * 1024 * 1024;

fn is_yaml(value: Option<&axum::http::HeaderValue>) -> bool {
    value.and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',').any(|part| {
            let essence = part
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            matches!(
                essence.as_str(),
                "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml"
            )
        })
    })
}

/// Parses a configuration document (JSON, or YAML when `yaml`); errors are 4xx problems
/// naming the field.
pub fn parse_config_document(bytes: &[u8], yaml: bool) -> Result<TenantConfig, Problem> {
    if yaml {
        parse_yaml_config(bytes)
    } else {
        crate::parse_json(bytes)
    }
}

/// Parses a YAML configuration document; errors name the field path.
fn parse_yaml_config(bytes: &[u8]) -> Result<TenantConfig, Problem> {
    let deserializer = yaml_serde::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let field = crate::format_path(error.path());
        let reason = error.inner().to_string();
        if field == crate::ROOT_FIELD {
            Problem::bad_request(format!("not a valid YAML configuration document: {reason}"))
        } else {
            Problem::invalid_fields(vec![crate::FieldError::new(field, reason)])
        }
    })
}

async fn export_config(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    headers: axum::http::HeaderMap,
    Path(tenant): Path<String>,
) -> Result<axum::response::Response, Problem> {
    use axum::response::IntoResponse;
    let tenant = tenant_for(&state, &claims, &tenant, Role::Admin).await?;
    let doc = state.store.export_config(&tenant.id).await?;
    if is_yaml(headers.get(axum::http::header::ACCEPT)) {
        let text = yaml_serde::to_string(&doc).map_err(|e| Problem::internal(&e))?;
        return Ok((
            [(axum::http::header::CONTENT_TYPE, "application/yaml")],
            text,
        )
            .into_response());
    }
    Ok(Json(doc).into_response())
}

async fn apply_config(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path(tenant): Path<String>,
    request: axum::extract::Request,
) -> Result<Json<ApplySummary>, Problem> {
    let tenant = tenant_for(&state, &claims, &tenant, Role::Admin).await?;
    let headers = request.headers().clone();
    let yaml = is_yaml(headers.get(axum::http::header::CONTENT_TYPE));
    if !yaml && !crate::is_json_content_type(&headers) {
        return Err(Problem::unsupported_media_type(
            "application/json or application/yaml",
        ));
    }
    let bytes = axum::body::to_bytes(request.into_body(), MAX_CONFIG_BYTES)
        .await
        .map_err(|_| Problem::payload_too_large(MAX_CONFIG_BYTES))?;
    let doc = parse_config_document(&bytes, yaml)?;
    Ok(Json(
        state
            .store
            .apply_config(&actor(&claims), &tenant.id, doc)
            .await
            .inspect(|_| state.tenants.clear())?,
    ))
}

async fn audit(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path(tenant): Path<String>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Listing<AuditEntry>>, Problem> {
    let tenant = tenant_for(&state, &claims, &tenant, Role::Admin).await?;
    Ok(Json(state.store.audit_log(&tenant.id, &query).await?))
}

async fn list_keys(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<ApiKey>>, Problem> {
    let tenant = tenant_for(&state, &claims, &tenant, Role::Admin).await?;
    Ok(Json(state.store.list_api_keys(Some(&tenant.id)).await?))
}

async fn create_key(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path(tenant): Path<String>,
    ApiJson(req): ApiJson<NewKeyRequest>,
) -> Result<(StatusCode, Json<NewApiKey>), Problem> {
    let tenant = tenant_for(&state, &claims, &tenant, Role::Admin).await?;
    if req.role == KeyRole::System {
        return Err(Problem::invalid_fields(vec![crate::FieldError::new(
            "role",
            "tenant keys are admin or supervisor",
        )]));
    }
    let key = state
        .store
        .create_api_key(
            &actor(&claims),
            Some(&tenant.id),
            req.role,
            &req.description,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(key)))
}

async fn revoke_key(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path((tenant, key)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let tenant = tenant_for(&state, &claims, &tenant, Role::Admin).await?;
    state
        .store
        .revoke_api_key(&actor(&claims), Some(&tenant.id), &key)
        .await?;
    state.principals.forget_key(&key);
    Ok(StatusCode::NO_CONTENT)
}

pub(crate) fn routes(r: Routes) -> Routes {
    let t = "tenants";
    r.add(
        "/api/v1/tenants",
        get(list_tenants),
        RouteDoc::new("get", t, "List tenants (system keys)")
            .query("limit", "integer", "1..=100")
            .query("cursor", "string", "next page")
            .response(Body::Inline(listing(&stored("TenantSpec")))),
    )
    .add(
        "/api/v1/tenants",
        post(create_tenant),
        RouteDoc::new("post", t, "Create a tenant (system keys)")
            .request(Body::Schema("TenantSpec".into()))
            .response(Body::Inline(stored("TenantSpec")))
            .status(201),
    )
    .add(
        "/api/v1/tenants/{tenant}",
        get(read_tenant),
        RouteDoc::new("get", t, "Read a tenant").response(Body::Inline(stored("TenantSpec"))),
    )
    .add(
        "/api/v1/tenants/{tenant}",
        put(replace_tenant),
        RouteDoc::new("put", t, "Replace a tenant's settings (system keys)")
            .request(Body::Schema("TenantSpec".into()))
            .response(Body::Inline(stored("TenantSpec"))),
    )
    .add(
        "/api/v1/tenants/{tenant}",
        delete(delete_tenant),
        RouteDoc::new(
            "delete",
            t,
            "Delete a tenant and everything in it (system keys)",
        )
        .query("version", "integer", "guard")
        .status(204),
    )
    .add(
        "/api/v1/tenants/{tenant}/config",
        get(export_config),
        RouteDoc::new(
            "get",
            "config",
            "Export the whole configuration (references by name, no secrets); YAML with `Accept: application/yaml`",
        )
        .response(Body::Schema("TenantConfig".into())),
    )
    .add(
        "/api/v1/tenants/{tenant}/config",
        put(apply_config).layer(axum::extract::DefaultBodyLimit::max(MAX_CONFIG_BYTES)),
        RouteDoc::new(
            "put",
            "config",
            "Make the configuration match this document (create, update, delete; idempotent); JSON or `Content-Type: application/yaml`",
        )
        .request(Body::Schema("TenantConfig".into()))
        .response(Body::Schema("ApplySummary".into())),
    )
    .add(
        "/api/v1/tenants/{tenant}/audit",
        get(audit),
        RouteDoc::new("get", "audit", "Audit log of configuration changes")
            .query("kind", "string", "only this kind")
            .query("resource_id", "string", "only this object")
            .query("limit", "integer", "1..=100")
            .query("cursor", "string", "next page")
            .response(Body::Inline(listing(&schema_ref("AuditEntry")))),
    )
    .add(
        "/api/v1/tenants/{tenant}/api-keys",
        get(list_keys),
        RouteDoc::new("get", "api-keys", "List API keys (never secrets)").response(Body::Inline(
            serde_json::json!({"type": "array", "items": schema_ref("ApiKey")}),
        )),
    )
    .add(
        "/api/v1/tenants/{tenant}/api-keys",
        post(create_key),
        RouteDoc::new(
            "post",
            "api-keys",
            "Create an API key; the secret is shown only in this answer",
        )
        .request(Body::Schema("NewKeyRequest".into()))
        .response(Body::Schema("NewApiKey".into()))
        .status(201),
    )
    .add(
        "/api/v1/tenants/{tenant}/api-keys/{id}",
        delete(revoke_key),
        RouteDoc::new("delete", "api-keys", "Revoke an API key").status(204),
    )
}
