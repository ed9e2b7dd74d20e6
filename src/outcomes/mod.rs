//! Direct labels (issue 12): ground truth observed later in production (`POST
//! /api/v1/tasks/{id}/outcomes`, `quorum outcomes`), joined to items by external id, and the
//! task setting that says what such a label does: stand alone (the item needs no human labels),
//! act as gold for rater quality, or be compared with the human consensus (disagreements go to
//! adjudication).

pub mod api;
pub mod cli;
pub mod codes;
pub mod pages;
pub mod service;

pub use service::{apply_mode, consensus_disagrees};

pub fn routes() -> crate::app::Routes {
    crate::app::Routes::new()
        .post("/admin/tasks/{id}/direct-labels", pages::save)
        .get("/api/v1/tasks/{id}/direct-labels", api::get_settings)
        .put("/api/v1/tasks/{id}/direct-labels", api::put_settings)
        .post("/api/v1/tasks/{id}/outcomes", api::add_outcomes)
}
