//! Data validation of item imports, in the spirit of TFDV (issue 12): the task's item schema
//! (inferred from its first import, editable), the anomaly policy (`reject`, `warn`,
//! `quarantine`) and drift thresholds, the statistics, anomalies and drift stored with every
//! import, and the quarantine of anomalous items. The pure logic is `crate::domain::validation`;
//! item import (`crate::ingest`) calls [`plan`], [`rejection`] and [`record`].

pub mod api;
pub mod codes;
pub mod overview;
pub mod pages;
pub mod quarantine;
pub mod service;

pub use service::{Plan, Recorded, import_finished, plan, record, rejection};

pub fn routes() -> crate::app::Routes {
    crate::app::Routes::new()
        .get("/admin/tasks/{id}/validation", pages::page)
        .post("/admin/tasks/{id}/validation", pages::save_settings)
        .post("/admin/tasks/{id}/item-schema", pages::save_schema)
        .post("/admin/tasks/{id}/quarantine", pages::quarantine_action)
        .get("/api/v1/tasks/{id}/validation", api::get_settings)
        .put("/api/v1/tasks/{id}/validation", api::put_settings)
        .get("/api/v1/tasks/{id}/item-schema", api::get_schema)
        .put("/api/v1/tasks/{id}/item-schema", api::put_schema)
        .get("/api/v1/tasks/{id}/quarantine", api::list_quarantine)
        .post("/api/v1/tasks/{id}/quarantine/release", api::release)
        .post("/api/v1/tasks/{id}/quarantine/discard", api::discard)
}
