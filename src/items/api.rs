//! The item API (the data browser's JSON twin): read items, and send one to adjudication, mark
//! it gold or not, exclude it from exports or not. Parse, call the service, answer JSON.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::auth::CurrentUser;
use crate::domain::ids::{ItemId, TaskId};
use crate::error::Result;
use crate::http::extract::{Id, Json};
use crate::http::openapi::ErrorBody;
use crate::items::actions::{self, GoldAnswer};
use crate::items::service::{self, ItemDetail, ItemPage, ItemQuery, ItemSummary};
use crate::state::AppState;

/// This feature's part of the OpenAPI document (merged in `crate::http::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list,
        get,
        send_to_adjudication,
        set_gold,
        unset_gold,
        exclude,
        include
    ),
    components(schemas(GoldRequest))
)]
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

/// A gold answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoldRequest {
    /// The gold answer, a label value of the task's schema (`"pos"`, `["a", "b"]`, `"text"`).
    pub value: Value,
}

/// Sends the item to the adjudication queue, whatever its state: its resolution goes and a
/// reviewer decides it. An item already waiting is answered as it is.
#[utoipa::path(
    post,
    path = "/api/v1/items/{id}/adjudication",
    tag = "items",
    params(("id" = i64, Path, description = "The item's id")),
    responses(
        (status = 200, body = ItemSummary, description = "The item, now waiting for a reviewer"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such item, or the caller is a rater"),
        (status = 409, body = ErrorBody, description = "A gold item (`gold_item`): unmark it first"),
    )
)]
pub async fn send_to_adjudication(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    let item = actions::send_to_adjudication(&state, &ctx, ItemId(id)).await?;
    Ok(axum::Json(item).into_response())
}

/// Makes the item gold with this answer: it is resolved to it and mixed into shards as gold
/// from now on; its labels stay and count as gold answers.
#[utoipa::path(
    put,
    path = "/api/v1/items/{id}/gold",
    tag = "items",
    params(("id" = i64, Path, description = "The item's id")),
    request_body = GoldRequest,
    responses(
        (status = 200, body = ItemSummary, description = "The item, now gold"),
        (status = 400, body = ErrorBody, description = "Not JSON (`invalid_json`), or a value the schema refuses (`invalid_value`)"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such item, or the caller is a rater"),
        (status = 415, body = ErrorBody, description = "The body is not application/json"),
    )
)]
pub async fn set_gold(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    Json(req): Json<GoldRequest>,
) -> Result<Response> {
    let item = actions::set_gold(&state, &ctx, ItemId(id), GoldAnswer::Json(req.value)).await?;
    Ok(axum::Json(item).into_response())
}

/// Makes a gold item ordinary again: it is settled on the labels it has (decided, sent to the
/// queue, or asking for one more label). An item that is not gold is answered as it is.
#[utoipa::path(
    delete,
    path = "/api/v1/items/{id}/gold",
    tag = "items",
    params(("id" = i64, Path, description = "The item's id")),
    responses(
        (status = 200, body = ItemSummary, description = "The item, no longer gold"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such item, or the caller is a rater"),
    )
)]
pub async fn unset_gold(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    let item = actions::unset_gold(&state, &ctx, ItemId(id)).await?;
    Ok(axum::Json(item).into_response())
}

/// Leaves the item out of exports (new snapshots), quality figures and re-resolution.
#[utoipa::path(
    put,
    path = "/api/v1/items/{id}/exclusion",
    tag = "items",
    params(("id" = i64, Path, description = "The item's id")),
    responses(
        (status = 200, body = ItemSummary, description = "The item, now excluded"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such item, or the caller is a rater"),
    )
)]
pub async fn exclude(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    let item = actions::set_excluded(&state, &ctx, ItemId(id), true).await?;
    Ok(axum::Json(item).into_response())
}

/// Takes an excluded item back into exports, quality figures and re-resolution.
#[utoipa::path(
    delete,
    path = "/api/v1/items/{id}/exclusion",
    tag = "items",
    params(("id" = i64, Path, description = "The item's id")),
    responses(
        (status = 200, body = ItemSummary, description = "The item, included again"),
        (status = 401, body = ErrorBody, description = "Not signed in"),
        (status = 404, body = ErrorBody, description = "No such item, or the caller is a rater"),
    )
)]
pub async fn include(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    let item = actions::set_excluded(&state, &ctx, ItemId(id), false).await?;
    Ok(axum::Json(item).into_response())
}
