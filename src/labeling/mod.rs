//! Labeling: a rater acknowledges the instructions, leases a shard, submits and skips, and the
//! group-commit writer (`writer`) stores every answer before it is acknowledged.

pub mod api;
pub mod pages;
pub mod writer;

use crate::app::Routes;

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
