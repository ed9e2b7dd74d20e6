//! The layout API: `GET/PUT /api/v1/tasks/{id}/layout`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::service;
use crate::auth::CurrentUser;
use crate::auth::extract::ClientIp;
use crate::domain::ids::TaskId;
use crate::domain::layout::{ItemLayout, LayoutField, Show};
use crate::error::Result;
use crate::http::extract::{Id, Json};
use crate::http::openapi::ErrorBody;
use crate::state::AppState;

/// This feature's part of the OpenAPI document (merged in `crate::http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(get_layout, put_layout),
    components(schemas(ItemLayout, LayoutField, Show))
)]
pub struct ApiDoc;

/// How the task's items are shown (admins): `{"fields": []}` is the default layout.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/layout",
    tag = "layout",
    params(("id" = i64, Path, description = "The task")),
    responses(
        (status = 200, body = ItemLayout, description = "The layout"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not an admin"),
    )
)]
pub async fn get_layout(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    let l = service::layout(&state, &ctx, TaskId(id)).await?;
    Ok(axum::Json(l).into_response())
}

/// Replaces it (admins); the next pages and shards follow. Hidden fields are left out of what
/// raters are sent from then on; exports keep them.
#[utoipa::path(
    put,
    path = "/api/v1/tasks/{id}/layout",
    tag = "layout",
    params(("id" = i64, Path, description = "The task")),
    request_body = ItemLayout,
    responses(
        (status = 200, body = ItemLayout, description = "The layout now"),
        (status = 400, body = ErrorBody, description = "An unknown `as`, a field named twice, a second image, or a field the task's schema reads shown another way, naming the entry and the field (`invalid_layout`); nothing changed"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not an admin"),
    )
)]
pub async fn put_layout(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Json(body): Json<Value>,
) -> Result<Response> {
    let l = service::update(&state, &ctx, TaskId(id), &body, &ip).await?;
    Ok(axum::Json(l).into_response())
}
