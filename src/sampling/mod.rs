//! Model predictions on items and the order a task hands its items out in (issue 12): a task's
//! sampling settings (fullest first, FIFO, seeded random, priority, uncertainty by least
//! confidence, margin or entropy; whether raters see the prediction pre-filled), predictions
//! added at import or later by external id, and what they tell (each model version's agreement
//! with the final labels, how often raters keep the prediction they were shown).

pub mod api;
pub mod codes;
pub mod pages;
pub mod service;

pub use service::{pick_order, place_imported, store_predictions};

pub fn routes() -> crate::app::Routes {
    crate::app::Routes::new()
        .post("/admin/tasks/{id}/sampling", pages::save)
        .get("/api/v1/tasks/{id}/sampling", api::get_settings)
        .put("/api/v1/tasks/{id}/sampling", api::put_settings)
        .post("/api/v1/tasks/{id}/predictions", api::add_predictions)
}
