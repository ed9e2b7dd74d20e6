//! Labeling: a rater acknowledges the instructions, leases a shard (`lease`), submits answers
//! (`submit`, which settles finished items in `settle` and runs the gold check in `gold`) and
//! skips items (`skip`); the group-commit writer (`writer`) stores every answer before it is
//! acknowledged. `next` says what the labeling page shows. `pages` and `api` are the thin HTTP
//! faces of those services.

pub mod api;
pub mod batch;
pub mod codes;
pub mod gold;
pub mod lease;
pub mod next;
pub mod owners;
pub mod pages;
pub mod settle;
pub mod shard;
pub mod skip;
pub mod submit;
pub mod writer;

use crate::app::Routes;

/// The labeling pages and API routes.
pub fn routes() -> Routes {
    Routes::new()
        .get("/tasks/{id}/label", pages::page)
        .post("/tasks/{id}/ack", pages::ack)
        .post("/tasks/{id}/start", pages::start)
        .post("/api/v1/tasks/{id}/shards", api::lease)
        .get("/api/v1/shards/{id}", api::get_shard)
        .post("/api/v1/shards/{id}/labels", api::submit)
        .post("/api/v1/shards/{id}/skip", api::skip)
}
