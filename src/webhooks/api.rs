//! The webhooks API: a task's webhooks (list, register, delete, rotate the secret) and its
//! delivery log (list, redeliver). Admins only; to anyone else every route answers 404. Each
//! handler parses, calls one function of [`super::service`] and answers.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::service::{
    self, AttemptView, DeliveryDetail, DeliveryPage, DeliveryView, NewWebhook, WebhookList,
    WebhookView, WebhookWithSecret,
};
use super::two_ids;
use crate::auth::CurrentUser;
use crate::auth::extract::ClientIp;
use crate::domain::ids::{DeliveryId, TaskId, WebhookId};
use crate::error::Result;
use crate::http::extract::{Id, Json};
use crate::http::openapi::ErrorBody;
use crate::http::page::PageQuery;
use crate::state::AppState;

/// This feature's part of the OpenAPI document (merged in `crate::http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, create, delete, rotate, deliveries, delivery, redeliver),
    components(schemas(
        NewWebhook,
        WebhookView,
        WebhookList,
        WebhookWithSecret,
        DeliveryView,
        DeliveryPage,
        DeliveryDetail,
        AttemptView,
        crate::domain::webhook::EventKind,
        crate::domain::webhook::SnapshotReady,
        crate::domain::webhook::ImportFinished,
        crate::domain::webhook::DriftDetected,
        crate::domain::webhook::DriftedField,
        crate::domain::webhook::TaskCompleted,
    )),
    tags((name = "webhooks", description = "Signed HTTP callbacks for a task's events, and their delivery log"))
)]
pub struct ApiDoc;

/// The task's webhooks (admins).
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/webhooks",
    tag = "webhooks",
    params(("id" = i64, Path, description = "The task")),
    responses(
        (status = 200, body = WebhookList, description = "The webhooks, oldest first (no secrets)"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not an admin"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    let l = service::list(&state, &ctx, TaskId(id)).await?;
    Ok(axum::Json(l).into_response())
}

/// Registers a webhook (admins); the answer holds its signing secret, shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/webhooks",
    tag = "webhooks",
    params(("id" = i64, Path, description = "The task")),
    request_body = NewWebhook,
    responses(
        (status = 201, body = WebhookWithSecret, description = "Registered"),
        (status = 400, body = ErrorBody, description = "Not JSON (`invalid_json`); a URL that is not http, or names or resolves to a private, loopback or link-local address the server does not allow, or unknown events (`invalid_webhook`); too many webhooks (`too_many_webhooks`)"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not an admin"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Json(body): Json<NewWebhook>,
) -> Result<Response> {
    let made = service::create(&state, &ctx, TaskId(id), body, &ip).await?;
    Ok((StatusCode::CREATED, axum::Json(made)).into_response())
}

/// Deletes a webhook of the task with its delivery log (admins).
#[utoipa::path(
    delete,
    path = "/api/v1/tasks/{id}/webhooks/{webhook_id}",
    tag = "webhooks",
    params(
        ("id" = i64, Path, description = "The task"),
        ("webhook_id" = i64, Path, description = "The webhook"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task or webhook of this task, or not an admin"),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Path((task, webhook)): Path<(String, String)>,
) -> Result<Response> {
    let (task, webhook) = two_ids(&task, &webhook)?;
    service::delete(&state, &ctx, TaskId(task), WebhookId(webhook), &ip).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Replaces a webhook's signing secret (admins); the new one is shown this once.
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/webhooks/{webhook_id}/secret",
    tag = "webhooks",
    params(
        ("id" = i64, Path, description = "The task"),
        ("webhook_id" = i64, Path, description = "The webhook"),
    ),
    responses(
        (status = 200, body = WebhookWithSecret, description = "The new secret"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task or webhook of this task, or not an admin"),
    )
)]
pub async fn rotate(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Path((task, webhook)): Path<(String, String)>,
) -> Result<Response> {
    let (task, webhook) = two_ids(&task, &webhook)?;
    let r = service::rotate(&state, &ctx, TaskId(task), WebhookId(webhook), &ip).await?;
    Ok(axum::Json(r).into_response())
}

/// The task's delivery log, newest first (admins): event, attempts, last status and error,
/// next retry, and the body sent.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/webhooks/deliveries",
    tag = "webhooks",
    params(
        ("id" = i64, Path, description = "The task"),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 1000 (default 100)"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, body = DeliveryPage, description = "One page"),
        (status = 400, body = ErrorBody, description = "A bad limit or cursor"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or not an admin"),
    )
)]
pub async fn deliveries(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    Query(q): Query<PageQuery>,
) -> Result<Response> {
    let req = q.parse()?;
    let page = service::deliveries(&state, &ctx, TaskId(id), req).await?;
    Ok(axum::Json(page).into_response())
}

/// One delivery with every attempt made: when, the receiver's status or why it failed, how long
/// (admins). A delivery of another task is 404.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/webhooks/deliveries/{delivery_id}",
    tag = "webhooks",
    params(
        ("id" = i64, Path, description = "The task"),
        ("delivery_id" = i64, Path, description = "The delivery"),
    ),
    responses(
        (status = 200, body = DeliveryDetail, description = "The delivery and its attempts"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task or delivery of this task, or not an admin"),
    )
)]
pub async fn delivery(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Path((task, delivery)): Path<(String, String)>,
) -> Result<Response> {
    let (task, delivery) = two_ids(&task, &delivery)?;
    let d = service::delivery(&state, &ctx, TaskId(task), DeliveryId(delivery)).await?;
    Ok(axum::Json(d).into_response())
}

/// Sends a delivery's event again (admins): a new delivery with the same body and event id,
/// due now. A delivery of another task is 404.
#[utoipa::path(
    post,
    path = "/api/v1/tasks/{id}/webhooks/deliveries/{delivery_id}/redeliver",
    tag = "webhooks",
    params(
        ("id" = i64, Path, description = "The task"),
        ("delivery_id" = i64, Path, description = "The delivery to repeat"),
    ),
    responses(
        (status = 201, body = DeliveryView, description = "The new delivery"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task or delivery of this task, or not an admin"),
    )
)]
pub async fn redeliver(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Path((task, delivery)): Path<(String, String)>,
) -> Result<Response> {
    let (task, delivery) = two_ids(&task, &delivery)?;
    let d = service::redeliver(&state, &ctx, TaskId(task), DeliveryId(delivery), &ip).await?;
    Ok((StatusCode::CREATED, axum::Json(d)).into_response())
}
