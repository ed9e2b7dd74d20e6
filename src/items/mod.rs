//! Items as reviewers and admins see them (the data browser): a task's items, filtered and paged
//! with a cursor, one item with everything that happened to it (labels, skips, leases, its
//! resolution, the actions taken on it), and the actions: send to adjudication, mark as gold or
//! not, exclude from exports or include again. Raters never see this: to them every route here
//! answers 404.

pub mod actions;
pub mod api;
pub mod pages;
pub mod service;

use crate::app::Routes;

pub fn routes() -> Routes {
    Routes::new()
        .get("/admin/tasks/{id}/items", pages::table)
        .get("/admin/items/{id}", pages::item)
        .post(
            "/admin/items/{id}/adjudication",
            pages::send_to_adjudication,
        )
        .post("/admin/items/{id}/gold", pages::mark_gold)
        .post("/admin/items/{id}/gold/remove", pages::unmark_gold)
        .post("/admin/items/{id}/exclusion", pages::exclusion)
        .get("/api/v1/tasks/{id}/items", api::list)
        .get("/api/v1/items/{id}", api::get)
        .post("/api/v1/items/{id}/adjudication", api::send_to_adjudication)
        .put("/api/v1/items/{id}/gold", api::set_gold)
        .delete("/api/v1/items/{id}/gold", api::unset_gold)
        .put("/api/v1/items/{id}/exclusion", api::exclude)
        .delete("/api/v1/items/{id}/exclusion", api::include)
}
