//! The outbox: an event becomes one delivery row per webhook that wants it, written inside the
//! caller's write transaction. The event therefore exists if and only if its cause committed, and
//! the delivery worker ([`super::worker`]) sends it afterwards, however long the receiver is down.

use crate::clock::rfc3339;
use crate::db::{self, Tx};
use crate::domain::ids::TaskId;
use crate::domain::webhook::{self, Event, TaskCompleted, split_events};

/// Writes `event` of `task` into the outbox: one pending delivery per webhook of the task that
/// asked for this event (none when no webhook did: one indexed read). Returns how many.
pub async fn emit(tx: &mut Tx, task: TaskId, event: Event, now: i64) -> Result<u64, sqlx::Error> {
    let subscribers = db::webhooks::subscribers(&mut **tx, task).await?;
    let kind = event.kind();
    let wanting: Vec<i64> = subscribers
        .into_iter()
        .filter(|(_, events)| split_events(events).contains(&kind))
        .map(|(id, _)| id)
        .collect();
    if wanting.is_empty() {
        return Ok(0);
    }
    // One id for the event, whatever number of webhooks and attempts it takes: receivers dedupe
    // on it.
    let event_id = format!("evt_{}", crate::auth::secret::new_token());
    let body = webhook::body(&event_id, &event, task.0, &rfc3339(now));
    for id in &wanting {
        db::webhooks::insert_delivery(
            &mut **tx,
            &db::webhooks::NewDelivery {
                webhook: *id,
                task,
                event: kind.as_str(),
                event_id: &event_id,
                body: &body,
                redelivery_of: None,
                now,
            },
        )
        .await?;
    }
    metrics::counter!("quorum_webhook_events_total", "event" => kind.as_str())
        .increment(wanting.len() as u64);
    Ok(wanting.len() as u64)
}

/// Called when an item of `task` has just got its final label (it was open or waiting for a
/// reviewer): if it was the last such item, `task.completed` is emitted. The cost on the labeling
/// path is one index probe, and only when an item is decided.
pub async fn item_decided(
    tx: &mut Tx,
    task: TaskId,
    task_name: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    if db::webhooks::task_has_undecided_items(&mut **tx, task).await? {
        return Ok(());
    }
    emit(
        tx,
        task,
        Event::TaskCompleted(TaskCompleted {
            task_name: task_name.to_string(),
        }),
        now,
    )
    .await?;
    Ok(())
}

/// Whether the task has an item without its final label (for a bulk change that may decide the
/// last ones: it asks before, then calls [`item_decided`] after).
pub async fn has_undecided(tx: &mut Tx, task: TaskId) -> Result<bool, sqlx::Error> {
    db::webhooks::task_has_undecided_items(&mut **tx, task).await
}

/// How long finished deliveries stay in the log.
pub const KEEP_FINISHED_MS: i64 = 30 * 24 * 3600 * 1000;

/// Deletes deliveries finished more than [`KEEP_FINISHED_MS`] ago (run by the sweeper), a bounded
/// number per write transaction. Returns how many.
pub async fn purge_old(db: &db::Db, now: i64) -> Result<u64, sqlx::Error> {
    let mut total = 0;
    loop {
        let mut tx = db.begin_write().await?;
        let n = db::webhooks::purge_finished(&mut *tx, now - KEEP_FINISHED_MS, 1000).await?;
        tx.commit().await?;
        total += n;
        if n < 1000 {
            return Ok(total);
        }
    }
}
