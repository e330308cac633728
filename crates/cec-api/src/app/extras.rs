//! Operations beyond CRUD: publishing a flow, uploading and downloading prompt audio.

use axum::Json;
use axum::body::{Body as HttpBody, to_bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use cec_media::wav_import::{ImportLimits, encode_wav, import_wav};
use cec_store::Stored;
use cec_store::model::{FlowSpec, PromptSpec};

use super::auth::{actor, tenant_for};
use super::openapi::{Body, RouteDoc, stored};
use super::resources::VersionQuery;
use super::{ApiState, Routes};
use crate::{ApiQuery, Authenticated, Problem, Role};

/// Largest prompt upload.
pub const MAX_PROMPT_UPLOAD: usize = 64 * 1024 * 1024;

async fn publish_flow(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path((tenant, key)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<VersionQuery>,
) -> Result<Json<Stored<FlowSpec>>, Problem> {
    let tenant = tenant_for(&state, &claims, &tenant, Role::Admin).await?;
    Ok(Json(
        state
            .store
            .publish_flow(&actor(&claims), &tenant.id, &key, query.version)
            .await?,
    ))
}

async fn upload_audio(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path((tenant, key)): Path<(String, String)>,
    request: Request,
) -> Result<Json<Stored<PromptSpec>>, Problem> {
    let tenant = tenant_for(&state, &claims, &tenant, Role::Admin).await?;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !matches!(
        essence.as_str(),
        "audio/wav" | "audio/x-wav" | "audio/wave" | "audio/vnd.wave" | "application/octet-stream"
    ) {
        return Err(Problem::unsupported_media_type("audio/wav"));
    }
    let bytes = to_bytes(request.into_body(), MAX_PROMPT_UPLOAD)
        .await
        .map_err(|_| Problem::payload_too_large(MAX_PROMPT_UPLOAD))?;
    // Decoding and resampling an hour of 48 kHz audio takes a while: not on the async workers.
    let converted =
        tokio::task::spawn_blocking(move || import_wav(&bytes, &ImportLimits::default()))
            .await
            .map_err(|e| Problem::internal(&e))?
            .map_err(|e| {
                Problem::invalid_fields(vec![crate::FieldError::new("$", e.to_string())])
            })?;
    let duration_ms = converted.duration_ms();
    let source = converted.source;
    let format = format!(
        "{:?} {} Hz {} ch {} bit",
        source.encoding, source.sample_rate, source.channels, source.bits_per_sample
    );
    let wav = encode_wav(&converted.samples);
    let stored = state
        .store
        .put_prompt_audio(&actor(&claims), &tenant.id, &key, wav, duration_ms, format)
        .await?;
    Ok(Json(stored))
}

async fn download_audio(
    State(state): State<ApiState>,
    Authenticated(claims): Authenticated,
    Path((tenant, key)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let tenant = tenant_for(&state, &claims, &tenant, Role::Supervisor).await?;
    let bytes = state.store.prompt_audio(&tenant.id, &key).await?;
    let mut response = HttpBody::from(bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    Ok(response)
}

pub(crate) fn routes(r: Routes) -> Routes {
    r.add(
        "/api/v1/tenants/{tenant}/flows/{id}/publish",
        post(publish_flow),
        RouteDoc::new("post", "flows", "Publish the draft as the next version").query("version", "integer", "guard").response(Body::Inline(stored("FlowSpec"))),
    )
    .add(
        "/api/v1/tenants/{tenant}/prompts/{id}/audio",
        put(upload_audio).layer(axum::extract::DefaultBodyLimit::max(MAX_PROMPT_UPLOAD)),
        RouteDoc::new("put", "prompts", "Upload a WAV (PCM 8-32 bit, float, A-law, µ-law; any rate; converted to 8 kHz mono 16-bit)")
            .request(Body::Raw("audio/wav"))
            .response(Body::Inline(stored("PromptSpec"))),
    )
    .add(
        "/api/v1/tenants/{tenant}/prompts/{id}/audio",
        get(download_audio),
        RouteDoc::new("get", "prompts", "Download the stored audio (8 kHz mono 16-bit WAV)").response(Body::Raw("audio/wav")),
    )
}
