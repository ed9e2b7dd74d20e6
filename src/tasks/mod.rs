//! Tasks: creating and changing them (`service`, with the checks in `settings`), who may see and
//! work in one, instructions and their acknowledgement, and membership (`members`). Leasing and
//! labeling live in `crate::labeling`. `pages`, `home` and `api` are the thin HTTP faces.

pub mod api;
pub mod codes;
pub mod form;
pub mod home;
pub mod members;
pub mod overview;
pub mod pages;
pub mod readiness;
pub mod service;
pub mod settings;
pub mod views;

use crate::db;
use crate::domain::ids::TaskId;
use crate::error::Result;
use crate::state::AppState;

pub use members::{active_user, add_member, invite_joins_task, remove_member};
pub use service::{acknowledge, create, patch, rater_may_see, visible, workable, workable_gate};
pub use settings::{TaskPatch, TaskRequest, method_names};

/// The task pages and API routes.
pub fn routes() -> crate::app::Routes {
    crate::app::Routes::new()
        .get("/", home::home)
        .get("/admin/tasks", pages::list)
        .post("/admin/tasks", pages::create)
        .get("/admin/tasks/new", pages::new_page)
        .get("/admin/tasks/{id}", pages::page)
        .get("/admin/tasks/{id}/edit", pages::edit_page)
        .post("/admin/tasks/{id}/edit", pages::edit)
        .post("/admin/tasks/{id}/members", pages::add_member)
        .post("/admin/tasks/{id}/state", pages::set_state)
        .post(
            "/admin/tasks/{id}/members/{user_id}/remove",
            pages::remove_member,
        )
        .post("/admin/tasks/{id}/assign", pages::assign)
        .get("/api/v1/tasks", api::list)
        .post("/api/v1/tasks", api::create)
        .get("/api/v1/tasks/{id}", api::get)
        .patch("/api/v1/tasks/{id}", api::patch)
        .get("/api/v1/tasks/{id}/progress", api::progress)
        .get("/api/v1/tasks/{id}/instructions", api::instructions)
        .post("/api/v1/tasks/{id}/instructions/ack", api::ack)
        .get("/api/v1/tasks/{id}/members", api::members)
        .post("/api/v1/tasks/{id}/members", api::add_member)
        .delete("/api/v1/tasks/{id}/members/{username}", api::remove_member)
        .get("/api/v1/tasks/{id}/imports", api::imports)
        .merge(crate::http::with_import_limit(
            crate::app::Routes::new().post("/api/v1/tasks/{id}/items", api::import),
        ))
}

/// Whether a task exists (invites may name one).
pub async fn task_exists(tx: &mut db::Tx, task: i64) -> Result<bool> {
    Ok(db::tasks::get(&mut **tx, TaskId(task)).await?.is_some())
}

/// Task ids and names, for pickers.
pub async fn task_names(state: &AppState) -> Result<Vec<(i64, String)>> {
    Ok(db::tasks::list(&state.db.pool)
        .await?
        .into_iter()
        .map(|t| (t.id.0, t.name))
        .collect())
}
