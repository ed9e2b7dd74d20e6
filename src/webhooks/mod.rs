//! Webhooks (issue 12): a task's admins register receivers for `snapshot.ready`,
//! `import.finished`, `drift.detected` and `task.completed`; each event is written to an outbox
//! inside the transaction that caused it ([`outbox::emit`]) and sent by a background worker
//! ([`worker`]) as a signed JSON POST (HMAC-SHA256, docs/webhooks.md), retried with exponential
//! backoff, through an SSRF-guarded client ([`client`]). The task's webhooks page shows the
//! delivery log and can redeliver.

pub mod api;
pub mod client;
pub mod codes;
pub mod outbox;
pub mod pages;
pub mod service;
pub mod worker;

pub use crate::domain::webhook::{
    DriftDetected, DriftedField, Event, EventKind, ImportFinished, SnapshotReady, TaskCompleted,
};
pub use outbox::{emit, item_decided};

pub fn routes() -> crate::app::Routes {
    crate::app::Routes::new()
        .get("/admin/tasks/{id}/webhooks", pages::page)
        .post("/admin/tasks/{id}/webhooks", pages::create)
        .post(
            "/admin/tasks/{id}/webhooks/{webhook_id}/delete",
            pages::delete,
        )
        .post(
            "/admin/tasks/{id}/webhooks/{webhook_id}/secret",
            pages::rotate,
        )
        .post(
            "/admin/tasks/{id}/webhooks/deliveries/{delivery_id}/redeliver",
            pages::redeliver,
        )
        .get("/api/v1/tasks/{id}/webhooks", api::list)
        .post("/api/v1/tasks/{id}/webhooks", api::create)
        .delete("/api/v1/tasks/{id}/webhooks/{webhook_id}", api::delete)
        .post(
            "/api/v1/tasks/{id}/webhooks/{webhook_id}/secret",
            api::rotate,
        )
        .get("/api/v1/tasks/{id}/webhooks/deliveries", api::deliveries)
        .get(
            "/api/v1/tasks/{id}/webhooks/deliveries/{delivery_id}",
            api::delivery,
        )
        .post(
            "/api/v1/tasks/{id}/webhooks/deliveries/{delivery_id}/redeliver",
            api::redeliver,
        )
}

/// Parses the two ids of a nested path; anything that is not a number is 404, as for an id
/// that does not exist.
pub(crate) fn two_ids(a: &str, b: &str) -> crate::error::Result<(i64, i64)> {
    let parse = |s: &str| {
        s.parse::<i64>()
            .map_err(|_| crate::error::AppError::NotFound)
    };
    Ok((parse(a)?, parse(b)?))
}
