//! The validation API: a task's policy and drift thresholds, its item schema, and the
//! quarantine (admins; anyone else sees no such task).

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::quarantine::{self, QuarantineAction, QuarantineList, QuarantineOutcome};
use super::service::{self, AnomalyPolicy, ItemSchemaView, ValidationSettings};
use crate::auth::CurrentUser;
use crate::auth::extract::ClientIp;
use crate::domain::ids::TaskId;
use crate::domain::validation as domain;
use crate::error::Result;
use crate::http::extract::{Id, Json};
use crate::http::openapi::ErrorBody;
use crate::http::page::PageQuery;
use crate::state::AppState;

/// This feature's part of the OpenAPI document (merged in `crate::http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        get_settings,
        put_settings,
        get_schema,
        put_schema,
        list_quarantine,
        release,
        discard
    ),
    components(schemas(
        ValidationSettings,
        AnomalyPolicy,
        ItemSchemaView,
        QuarantineList,
        quarantine::QuarantinedView,
        QuarantineAction,
        QuarantineOutcome,
        domain::Thresholds,
        domain::ItemSchema,
        domain::FieldSchema,
        domain::FieldType,
        domain::Anomaly,
        domain::AnomalyKind,
        domain::Drift,
        domain::FieldDrift,
    ))
)]
pub struct ApiDoc;

/// The task's anomaly policy and drift thresholds.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/validation",
    tag = "validation",
    params(("id" = i64, Path, description = "The task")),
    responses(
        (status = 200, body = ValidationSettings, description = "The settings"),
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

/// Sets them: the next imports follow.
#[utoipa::path(
    put,
    path = "/api/v1/tasks/{id}/validation",
    tag = "validation",
    params(("id" = i64, Path, description = "The task")),
    request_body = ValidationSettings,
    responses(
        (status = 200, body = ValidationSettings, description = "The settings now"),
        (status = 400, body = ErrorBody, description = "Not JSON, an unknown policy (`invalid_json`), or a threshold outside 0..1 (`invalid_validation`)"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not an admin"),
    )
)]
pub async fn put_settings(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Json(body): Json<ValidationSettings>,
) -> Result<Response> {
    let s = service::update_settings(&state, &ctx, TaskId(id), body, &ip).await?;
    Ok(axum::Json(s).into_response())
}

/// The task's item schema: inferred from its first import, or as an admin last edited it.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/item-schema",
    tag = "validation",
    params(("id" = i64, Path, description = "The task")),
    responses(
        (status = 200, body = ItemSchemaView, description = "The schema (null before the first import)"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not an admin"),
    )
)]
pub async fn get_schema(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    let s = service::item_schema(&state, &ctx, TaskId(id)).await?;
    Ok(axum::Json(s).into_response())
}

/// Replaces the item schema: the next imports are checked against it.
#[utoipa::path(
    put,
    path = "/api/v1/tasks/{id}/item-schema",
    tag = "validation",
    params(("id" = i64, Path, description = "The task")),
    request_body = domain::ItemSchema,
    responses(
        (status = 200, body = ItemSchemaView, description = "The schema now"),
        (status = 400, body = ErrorBody, description = "A schema that does not hold together, naming the field and why (`invalid_item_schema`); nothing changed"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not an admin"),
    )
)]
pub async fn put_schema(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Json(body): Json<Value>,
) -> Result<Response> {
    let s = service::set_item_schema(&state, &ctx, TaskId(id), &body, &ip).await?;
    Ok(axum::Json(s).into_response())
}

/// Items held aside by `quarantine` imports, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/quarantine",
    tag = "validation",
    params(
        ("id" = i64, Path, description = "The task"),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, body = QuarantineList, description = "One page"),
        (status = 400, body = ErrorBody, description = "`invalid_limit` or `invalid_cursor`"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not an admin"),
    )
)]
pub async fn list_quarantine(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    Query(q): Query<PageQuery>,
) -> Result<Response> {
    let list = quarantine::list(&state, &ctx, TaskId(id), q.parse()?).await?;
    Ok(axum::Json(list).into_response())
}

/// Releases held items into the task (`{"ids": [..]}` or `{"all": true}`), all or nothing.
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/quarantine/release",
    tag = "validation",
    params(("id" = i64, Path, description = "The task")),
    request_body = QuarantineAction,
    responses(
        (status = 200, body = QuarantineOutcome, description = "Released"),
        (status = 400, body = ErrorBody, description = "Neither ids nor all (`invalid_quarantine_action`), or an id the task does not hold (`unknown_quarantined`); nothing changed"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not an admin"),
    )
)]
pub async fn release(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Json(body): Json<QuarantineAction>,
) -> Result<Response> {
    let out = quarantine::release(&state, &ctx, TaskId(id), body, &ip).await?;
    Ok(axum::Json(out).into_response())
}

/// Discards held items (`{"ids": [..]}` or `{"all": true}`), all or nothing.
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/quarantine/discard",
    tag = "validation",
    params(("id" = i64, Path, description = "The task")),
    request_body = QuarantineAction,
    responses(
        (status = 200, body = QuarantineOutcome, description = "Discarded"),
        (status = 400, body = ErrorBody, description = "Neither ids nor all (`invalid_quarantine_action`), or an id the task does not hold (`unknown_quarantined`); nothing changed"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not an admin"),
    )
)]
pub async fn discard(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Json(body): Json<QuarantineAction>,
) -> Result<Response> {
    let out = quarantine::discard(&state, &ctx, TaskId(id), body, &ip).await?;
    Ok(axum::Json(out).into_response())
}
