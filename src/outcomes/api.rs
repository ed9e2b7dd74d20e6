//! The outcomes API: the task's direct-label setting, and outcomes added by external id.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::service::{self, DirectLabelSettings, OutcomesRecorded};
use crate::auth::CurrentUser;
use crate::auth::extract::ClientIp;
use crate::domain::ids::TaskId;
use crate::error::Result;
use crate::http::extract::{Id, Json};
use crate::http::openapi::ErrorBody;
use crate::state::AppState;

/// This feature's part of the OpenAPI document (merged in `crate::http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(get_settings, put_settings, add_outcomes),
    components(schemas(
        DirectLabelSettings,
        OutcomesRecorded,
        crate::domain::outcome::DirectLabels,
        crate::domain::outcome::LabelSource,
        crate::domain::outcome::SourceAgreement
    ))
)]
pub struct ApiDoc;

/// What a direct label does in this task (admins).
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/direct-labels",
    tag = "outcomes",
    params(("id" = i64, Path, description = "The task")),
    responses(
        (status = 200, body = DirectLabelSettings, description = "The setting"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not an admin"),
    )
)]
pub async fn get_settings(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    let s = service::settings(&state, &ctx, TaskId(id)).await?;
    Ok(axum::Json(s).into_response())
}

/// Sets it (admins), applied at once to every item with a direct label.
#[utoipa::path(
    put,
    path = "/api/v1/tasks/{id}/direct-labels",
    tag = "outcomes",
    params(("id" = i64, Path, description = "The task")),
    request_body = DirectLabelSettings,
    responses(
        (status = 200, body = DirectLabelSettings, description = "The setting now"),
        (status = 400, body = ErrorBody, description = "Not JSON, or not standalone, gold or compare (`invalid_json`)"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not an admin"),
    )
)]
pub async fn put_settings(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Json(body): Json<DirectLabelSettings>,
) -> Result<Response> {
    let s = service::update(&state, &ctx, TaskId(id), body, &ip).await?;
    Ok(axum::Json(s).into_response())
}

/// Records ground truth observed later in production (admins), all or nothing. The body is one
/// outcome `{"external_id", "value", "source", "observed_at"}`, an array of them, or
/// `{"outcomes": [...]}` (at most 10,000). Idempotent by (item, source): the same value again
/// changes nothing, another value replaces it (audited). `observed_at` is RFC 3339 or epoch
/// milliseconds (default: now).
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/outcomes",
    tag = "outcomes",
    params(("id" = i64, Path, description = "The task")),
    request_body(content = Object, description = "One outcome, an array of them, or {\"outcomes\": [...]}"),
    responses(
        (status = 200, body = OutcomesRecorded, description = "Recorded"),
        (status = 400, body = ErrorBody, description = "A bad entry, named by its index and field (`invalid_outcome`), or an external id the task does not have (`unknown_item`); nothing stored"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not an admin"),
    )
)]
pub async fn add_outcomes(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Json(body): Json<Value>,
) -> Result<Response> {
    let entries = service::entries_of(body)?;
    let added = service::add(&state, &ctx, TaskId(id), &entries, &ip).await?;
    Ok(axum::Json(added).into_response())
}
