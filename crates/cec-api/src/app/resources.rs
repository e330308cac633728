//! Create/read/replace/patch/delete/list for every tenant-scoped kind, one generic set of
//! handlers instantiated per kind.

use axum::Json;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use cec_store::model::*;
use cec_store::{Listing, Page, Resource, Stored};
use serde::Deserialize;
use serde_json::Value;

use super::auth::{actor, tenant_for};
use super::openapi::{Body, RouteDoc, listing, stored};
use super::{ApiState, Routes};
use crate::{ApiJson, ApiQuery, Authenticated, Problem, Role};

/// Fields of the representation that the server manages; accepted and ignored on input so a
/// client can send back what it read (except `version`, which guards the update).
const MANAGED_FIELDS: [&str; 3] = ["id", "created_ms", "updated_ms"];

/// The optional version of a DELETE.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct VersionQuery {
    /// Fail with 409 unless the object is at this version.
    pub version: Option<i64>,
}

/// Parses a JSON object as a spec (or any strict document), taking `version` out and
/// ignoring the server-managed fields; errors name the field.
pub(crate) fn spec_from<T: serde::de::DeserializeOwned>(
    mut value: Value,
) -> Result<(T, Option<i64>), Problem> {
    let Value::Object(map) = &mut value else {
        return Err(Problem::invalid_fields(vec![crate::FieldError::new(
            "$",
            "must be a JSON object",
        )]));
    };
    let version = match map.remove("version") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
        Some(_) => {
            return Err(Problem::invalid_fields(vec![crate::FieldError::new(
                "version",
                "must be an integer",
            )]));
        }
    };
    for field in MANAGED_FIELDS {
        map.remove(field);
    }
    let bytes = serde_json::to_vec(&value).map_err(|e| Problem::internal(&e))?;
    Ok((crate::parse_json::<T>(&bytes)?, version))
}

/// RFC 7386 JSON merge patch.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

fn read_role<R: Resource>() -> Role {
    // Agents read reason codes (to pick one); everything else is for supervisors and admins.
    if R::KIND == cec_store::Kind::ReasonCode {
        Role::Agent
    } else {
        Role::Supervisor
    }
}

async fn list<R: Resource>(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path(tenant): Path<String>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Listing<Stored<R>>>, Problem> {
    let tenant = tenant_for(&state, &claims, &tenant, read_role::<R>()).await?;
    Ok(Json(state.store.list::<R>(&tenant.id, &page).await?))
}

async fn create<R: Resource>(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    OriginalUri(uri): OriginalUri,
    Path(tenant): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, Problem> {
    let tenant = tenant_for(&state, &claims, &tenant, Role::Admin).await?;
    let (spec, _) = spec_from::<R>(body)?;
    let created = state
        .store
        .create(&actor(&claims), &tenant.id, spec)
        .await?;
    let mut response = (StatusCode::CREATED, Json(&created)).into_response();
    let location = format!("{}/{}", uri.path().trim_end_matches('/'), created.id);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

async fn read<R: Resource>(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path((tenant, key)): Path<(String, String)>,
) -> Result<Json<Stored<R>>, Problem> {
    let tenant = tenant_for(&state, &claims, &tenant, read_role::<R>()).await?;
    Ok(Json(state.store.get::<R>(&tenant.id, &key).await?))
}

async fn replace<R: Resource>(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path((tenant, key)): Path<(String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Json<Stored<R>>, Problem> {
    let tenant = tenant_for(&state, &claims, &tenant, Role::Admin).await?;
    let (spec, version) = spec_from::<R>(body)?;
    Ok(Json(
        state
            .store
            .update(&actor(&claims), &tenant.id, &key, version, spec)
            .await?,
    ))
}

async fn modify<R: Resource>(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path((tenant, key)): Path<(String, String)>,
    ApiJson(patch): ApiJson<Value>,
) -> Result<Json<Stored<R>>, Problem> {
    let tenant = tenant_for(&state, &claims, &tenant, Role::Admin).await?;
    if !patch.is_object() {
        return Err(Problem::invalid_fields(vec![crate::FieldError::new(
            "$",
            "a merge patch must be a JSON object",
        )]));
    }
    let current = state.store.get::<R>(&tenant.id, &key).await?;
    let mut document = serde_json::to_value(&current.spec).map_err(|e| Problem::internal(&e))?;
    merge_patch(&mut document, &patch);
    let (spec, version) = spec_from::<R>(document)?;
    // Without a version in the patch, guard against changes since the read above.
    let version = version.or(Some(current.version));
    Ok(Json(
        state
            .store
            .update(&actor(&claims), &tenant.id, &current.id, version, spec)
            .await?,
    ))
}

async fn remove<R: Resource>(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path((tenant, key)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<VersionQuery>,
) -> Result<StatusCode, Problem> {
    let tenant = tenant_for(&state, &claims, &tenant, Role::Admin).await?;
    state
        .store
        .delete::<R>(&actor(&claims), &tenant.id, &key, query.version)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Registers the five operations of one kind under `/api/v1/tenants/{tenant}/<collection>`.
fn kind<R: Resource + utoipa::ToSchema>(r: Routes, collection: &str, label: &str) -> Routes {
    let base = format!("/api/v1/tenants/{{tenant}}/{collection}");
    let item = format!("{base}/{{id}}");
    let spec = R::name().into_owned();
    let tag: &'static str = Box::leak(collection.to_owned().into_boxed_str());
    r.add(
        &base,
        get(list::<R>),
        RouteDoc::new("get", tag, format!("List {label}s"))
            .query("limit", "integer", "1..=100, default 50")
            .query("cursor", "string", "next_cursor of the previous page")
            .response(Body::Inline(listing(&stored(&spec)))),
    )
    .add(
        &base,
        post(create::<R>),
        RouteDoc::new("post", tag, format!("Create a {label}"))
            .request(Body::Schema(spec.clone()))
            .response(Body::Inline(stored(&spec)))
            .status(201),
    )
    .add(
        &item,
        get(read::<R>),
        RouteDoc::new("get", tag, format!("Read a {label}")).response(Body::Inline(stored(&spec))),
    )
    .add(
        &item,
        put(replace::<R>),
        RouteDoc::new(
            "put",
            tag,
            format!("Replace a {label} (send `version` to guard against lost updates)"),
        )
        .request(Body::Schema(spec.clone()))
        .response(Body::Inline(stored(&spec))),
    )
    .add(
        &item,
        patch(modify::<R>),
        RouteDoc::new(
            "patch",
            tag,
            format!("Change fields of a {label} (JSON merge patch, RFC 7386)"),
        )
        .request(Body::Inline(serde_json::json!({"type": "object"})))
        .response(Body::Inline(stored(&spec))),
    )
    .add(
        &item,
        delete(remove::<R>),
        RouteDoc::new(
            "delete",
            tag,
            format!("Delete a {label} (409 while something refers to it)"),
        )
        .query("version", "integer", "fail with 409 unless at this version")
        .status(204),
    )
}

pub(crate) fn routes(r: Routes) -> Routes {
    let r = kind::<TrunkSpec>(r, "trunks", "trunk");
    let r = kind::<AccessCodeSpec>(r, "access-codes", "access code");
    let r = kind::<CalledRouteSpec>(r, "called-routes", "called route");
    let r = kind::<SkillQueueSpec>(r, "skill-queues", "skill queue");
    let r = kind::<AgentSpec>(r, "agents", "agent");
    let r = kind::<FlowSpec>(r, "flows", "flow");
    let r = kind::<PromptSpec>(r, "prompts", "prompt");
    let r = kind::<CalendarSpec>(r, "calendars", "calendar");
    kind::<ReasonCodeSpec>(r, "reason-codes", "reason code")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7386_examples() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (
                json!({"a": "b"}),
                json!({"b": "c"}),
                json!({"a": "b", "b": "c"}),
            ),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (
                json!({"a": {"b": "c"}}),
                json!({"a": {"b": "d", "c": null}}),
                json!({"a": {"b": "d"}}),
            ),
            (
                json!({"a": [{"b": "c"}]}),
                json!({"a": [1]}),
                json!({"a": [1]}),
            ),
            (
                json!({"e": null}),
                json!({"a": 1}),
                json!({"e": null, "a": 1}),
            ),
            (
                json!({}),
                json!({"a": {"bb": {"ccc": null}}}),
                json!({"a": {"bb": {}}}),
            ),
        ];
        for (mut target, patch, expected) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, expected);
        }
    }

    #[test]
    fn spec_from_takes_version_and_ignores_managed_fields() {
        let (spec, version) = spec_from::<PromptSpec>(
            json!({"name": "x", "version": 3, "id": "abc", "created_ms": 1, "updated_ms": 2}),
        )
        .unwrap();
        assert_eq!((spec.name.as_str(), version), ("x", Some(3)));
        let err = spec_from::<PromptSpec>(json!({"name": "x", "colour": 1})).unwrap_err();
        assert_eq!(err.errors()[0].field, "colour");
        let err = spec_from::<PromptSpec>(json!({"name": "x", "version": "3"})).unwrap_err();
        assert_eq!(err.errors()[0].field, "version");
        assert!(spec_from::<PromptSpec>(json!([1])).is_err());
    }
}
