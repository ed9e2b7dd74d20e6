//! Review: automatic and re-resolution, the adjudication queue and reviewer decisions, quality
//! figures, label import, and the offline `quorum aggregate`.
//!
//! The rules live in the service modules ([`queue`], [`resolution`], [`quality`],
//! [`label_import`], with [`answers`] feeding the aggregation engine); [`pages`] and [`api`] only
//! parse, call one of them and render.

pub mod answers;
pub mod api;
pub mod codes;
pub mod kind_quality;
pub mod label_import;
pub mod offline;
pub mod pages;
pub mod quality;
pub mod question_quality;
pub mod queue;
pub mod resolution;

use crate::app::Routes;

/// The review pages and API routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/review", pages::index)
        .get("/review/tasks/{id}", pages::queue)
        .get("/review/items/{id}", pages::item)
        .post("/review/items/{id}/reopen", pages::reopen)
        .get("/admin/tasks/{id}/quality", pages::quality::quality)
        .post("/admin/tasks/{id}/resolve", pages::quality::resolve)
        .post(
            "/admin/tasks/{id}/raters/{username}/unpause",
            pages::quality::unpause,
        )
        .get("/api/v1/tasks/{id}/adjudication", api::queue)
        .post("/api/v1/items/{id}/resolution", api::resolve_item)
        .post("/api/v1/items/{id}/reopen", api::reopen_item)
        .post("/api/v1/tasks/{id}/resolve", api::resolve_task)
        .get("/api/v1/tasks/{id}/quality", api::quality)
        .post("/api/v1/tasks/{id}/raters/{username}/unpause", api::unpause)
        .merge(crate::http::with_import_limit(
            Routes::new().post("/api/v1/tasks/{id}/labels/import", api::import_labels),
        ))
}
