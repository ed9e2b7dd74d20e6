//! The item read API: parse, call the service, answer JSON.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};

use crate::auth::CurrentUser;
use crate::domain::ids::{ItemId, TaskId};
use crate::error::Result;
use crate::http::extract::Id;
use crate::http::openapi::ErrorBody;
use crate::items::service::{self, ItemDetail, ItemPage, ItemQuery};
use crate::state::AppState;

/// This feature's part of the OpenAPI document (merged in `crate::http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, get))]
pub struct ApiDoc;

/// A task's items, filtered, in id order, a page at a time (reviewers and admins).
///
/// Paging is by keyset on the item id: items imported while a client walks the list appear on
/// later pages, and no item is repeated or skipped.
#[utoipa::path(
    get,
    path = "/api/v1/tasks/{id}/items",
    tag = "items",
    params(("id" = i64, Path, description = "The task's id"), ItemQuery),
    responses(
        (status = 200, body = ItemPage, description = "A page of items and the cursor of the next"),
        (status = 400, body = ErrorBody, description = "A bad limit, cursor, state or query"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such task, or the caller is a rater"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    Query(q): Query<ItemQuery>,
) -> Result<Response> {
    let page = service::list(&state, &ctx, TaskId(id), q).await?;
    Ok(axum::Json(page).into_response())
}

/// One item with its labels, skips, resolution and history (reviewers and admins).
#[utoipa::path(
    get,
    path = "/api/v1/items/{id}",
    tag = "items",
    params(("id" = i64, Path, description = "The item's id")),
    responses(
        (status = 200, body = ItemDetail, description = "The item and everything that happened to it"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such item, or the caller is a rater"),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    let item = service::get(&state, &ctx, ItemId(id)).await?;
    Ok(axum::Json(item).into_response())
}
