//! Items as reviewers and admins read them: a task's items, filtered and paged with a cursor,
//! and one item with everything that happened to it (labels, skips, leases, its resolution).
//! Raters never see this: to them every route here answers 404.

pub mod api;
pub mod service;

use crate::app::Routes;

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/tasks/{id}/items", api::list)
        .get("/api/v1/items/{id}", api::get)
}
