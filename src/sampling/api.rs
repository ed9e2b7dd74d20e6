//! The sampling API: a task's sampling settings, and predictions added by external id.

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::service::{self, PredictionBatch, PredictionsAdded, SamplingSettings};
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
    paths(get_settings, put_settings, add_predictions),
    components(schemas(
        SamplingSettings,
        PredictionBatch,
        PredictionsAdded,
        crate::domain::sampling::Sampling,
        crate::domain::sampling::Measure
    ))
)]
pub struct ApiDoc;

/// The order the task hands its items out in, and whether raters see predictions (admins).
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/sampling",
    tag = "sampling",
    params(("id" = i64, Path, description = "The task")),
    responses(
        (status = 200, body = SamplingSettings, description = "The settings"),
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

/// Sets them (admins): the next leases follow the new order; a new seed reshuffles.
#[utoipa::path(
    put,
    path = "/api/v1/tasks/{id}/sampling",
    tag = "sampling",
    params(("id" = i64, Path, description = "The task")),
    request_body = SamplingSettings,
    responses(
        (status = 200, body = SamplingSettings, description = "The settings now"),
        (status = 400, body = ErrorBody, description = "Not JSON, or an unknown strategy or measure (`invalid_json`)"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not an admin"),
    )
)]
pub async fn put_settings(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Json(body): Json<SamplingSettings>,
) -> Result<Response> {
    let s = service::update(&state, &ctx, TaskId(id), body, &ip).await?;
    Ok(axum::Json(s).into_response())
}

/// Adds model predictions to existing items by external id (admins), all or nothing.
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/predictions",
    tag = "sampling",
    params(("id" = i64, Path, description = "The task")),
    request_body = PredictionBatch,
    responses(
        (status = 200, body = PredictionsAdded, description = "Stored"),
        (status = 400, body = ErrorBody, description = "A bad prediction, named by its index and field (`invalid_prediction`), or an external id the task does not have (`unknown_item`); nothing stored"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not an admin"),
    )
)]
pub async fn add_predictions(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    Json(body): Json<PredictionBatch>,
) -> Result<Response> {
    let added = service::add(&state, &ctx, TaskId(id), body).await?;
    Ok(axum::Json(added).into_response())
}
