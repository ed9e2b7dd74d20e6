//! The JSON API under `/api/v1`, for scripts, pipelines and the pages' own scripts.
//! Errors are `{"error": {"code", "message", "line"?}}` (rendered by `app::render_errors`).

pub mod exports;
pub mod labeling;
pub mod people;
pub mod review;
pub mod tasks;
pub mod users;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::app::Routes;
use crate::error::AppError;

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/me", people::me)
        .get("/api/v1/users", people::list_users)
        .get("/api/v1/invites", people::list_invites)
        .post("/api/v1/invites", people::create_invite)
        .delete("/api/v1/invites/{id}", people::revoke_invite)
        .get("/api/v1/tasks", tasks::list)
        .post("/api/v1/tasks", tasks::create)
        .get("/api/v1/tasks/{id}", tasks::get)
        .patch("/api/v1/tasks/{id}", tasks::patch)
        .get("/api/v1/tasks/{id}/progress", tasks::progress)
        .get("/api/v1/tasks/{id}/instructions", tasks::instructions)
        .post("/api/v1/tasks/{id}/instructions/ack", tasks::ack)
        .get("/api/v1/tasks/{id}/members", tasks::members)
        .post("/api/v1/tasks/{id}/members", tasks::add_member)
        .delete(
            "/api/v1/tasks/{id}/members/{username}",
            tasks::remove_member,
        )
        .get("/api/v1/tasks/{id}/imports", tasks::imports)
        .post("/api/v1/tasks/{id}/exports", exports::create)
        .get("/api/v1/tasks/{id}/exports", exports::list)
        .get("/api/v1/tasks/{id}/export-settings", exports::settings)
        .patch(
            "/api/v1/tasks/{id}/export-settings",
            exports::update_settings,
        )
        .get("/api/v1/exports/{id}", exports::get)
        .get("/api/v1/exports/{id}/download", exports::download)
        .post("/api/v1/tasks/{id}/shards", labeling::lease)
        .get("/api/v1/shards/{id}", labeling::get_shard)
        .post("/api/v1/shards/{id}/labels", labeling::submit)
        .post("/api/v1/shards/{id}/skip", labeling::skip)
        .get("/api/v1/tasks/{id}/adjudication", review::queue)
        .post("/api/v1/items/{id}/resolution", review::resolve_item)
        .post("/api/v1/items/{id}/reopen", review::reopen_item)
        .post("/api/v1/tasks/{id}/resolve", review::resolve_task)
        .get("/api/v1/tasks/{id}/quality", review::quality)
        .post(
            "/api/v1/tasks/{id}/raters/{username}/unpause",
            review::unpause,
        )
        .post("/api/v1/users", users::create_user)
        .post("/api/v1/tokens", users::create_token)
        .merge(
            // Imports stream their body: a large, route-scoped limit instead of the 2 MB default.
            Routes::new()
                .post("/api/v1/tasks/{id}/items", tasks::import)
                .post("/api/v1/tasks/{id}/labels/import", review::import_labels)
                .layer_so_far(tower_http::limit::RequestBodyLimitLayer::new(IMPORT_LIMIT))
                .layer_so_far(axum::extract::DefaultBodyLimit::max(IMPORT_LIMIT)),
        )
}

/// The largest import body accepted.
pub const IMPORT_LIMIT: usize = 1 << 30;

/// A JSON body whose rejections become our JSON errors (unknown fields named, bad types explained).
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::UnsupportedMediaType(
                "send the body as application/json",
            )),
            Err(JsonRejection::JsonDataError(e)) => {
                Err(AppError::bad_request("invalid_json", e.body_text()))
            }
            Err(JsonRejection::JsonSyntaxError(e)) => {
                Err(AppError::bad_request("invalid_json", e.body_text()))
            }
            Err(JsonRejection::BytesRejection(_)) => Err(AppError::PayloadTooLarge),
            Err(e) => Err(AppError::bad_request("invalid_json", e.body_text())),
        }
    }
}

/// A numeric id from the path. Anything that is not a positive 64-bit number is a 404, exactly
/// like an id that does not exist.
pub struct Id(pub i64);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Id {
    type Rejection = AppError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(params) =
            axum::extract::Path::<Vec<(String, String)>>::from_request_parts(parts, state)
                .await
                .map_err(|_| AppError::NotFound)?;
        let raw = params
            .iter()
            .find(|(k, _)| k == "id")
            .map(|(_, v)| v.as_str())
            .ok_or(AppError::NotFound)?;
        match raw.parse::<i64>() {
            Ok(n) if n > 0 => Ok(Id(n)),
            _ => Err(AppError::NotFound),
        }
    }
}
