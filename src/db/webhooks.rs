//! Webhooks and the outbox of their deliveries. Every lookup of a webhook or a delivery by id is
//! scoped by its task, so an id of another task finds nothing (CVE-2024-45393 was the lack of it).

use sqlx::AnyExecutor;

use crate::domain::ids::{DeliveryId, TaskId, UserId, WebhookId};

/// A registered webhook (the secret is read only by the delivery worker).
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct WebhookRow {
    pub id: i64,
    pub task_id: i64,
    pub url: String,
    pub events: String,
    pub created_at: i64,
    pub rotated_at: Option<i64>,
    pub created_by_name: Option<String>,
}

const WEBHOOK_COLUMNS: &str = "w.id, w.task_id, w.url, w.events, w.created_at, w.rotated_at,
    u.username AS created_by_name FROM webhooks w LEFT JOIN users u ON u.id = w.created_by";

pub async fn insert(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    url: &str,
    events: &str,
    secret: &str,
    by: UserId,
    now: i64,
) -> Result<WebhookId, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO webhooks (task_id, url, events, secret, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(task.0)
    .bind(url)
    .bind(events)
    .bind(secret)
    .bind(by.0)
    .bind(now)
    .fetch_one(ex)
    .await?;
    Ok(WebhookId(id))
}

/// A task's webhooks, oldest first.
pub async fn list(ex: impl AnyExecutor<'_>, task: TaskId) -> Result<Vec<WebhookRow>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {WEBHOOK_COLUMNS} WHERE w.task_id = $1 ORDER BY w.id"
    ));
    sqlx::query_as(sql).bind(task.0).fetch_all(ex).await
}

/// One webhook of the task (none if it belongs to another task).
pub async fn get(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    id: WebhookId,
) -> Result<Option<WebhookRow>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {WEBHOOK_COLUMNS} WHERE w.task_id = $1 AND w.id = $2"
    ));
    sqlx::query_as(sql)
        .bind(task.0)
        .bind(id.0)
        .fetch_optional(ex)
        .await
}

/// Deletes a webhook of the task with its deliveries; false if the task has no such webhook.
pub async fn delete(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    id: WebhookId,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query("DELETE FROM webhooks WHERE task_id = $1 AND id = $2")
        .bind(task.0)
        .bind(id.0)
        .execute(ex)
        .await?
        .rows_affected();
    Ok(n > 0)
}

/// Replaces a webhook's secret; false if the task has no such webhook.
pub async fn set_secret(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    id: WebhookId,
    secret: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE webhooks SET secret = $1, rotated_at = $2 WHERE task_id = $3 AND id = $4",
    )
    .bind(secret)
    .bind(now)
    .bind(task.0)
    .bind(id.0)
    .execute(ex)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// The task's webhooks with the events each wants: (id, events).
pub async fn subscribers(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    sqlx::query_as("SELECT id, events FROM webhooks WHERE task_id = $1 ORDER BY id")
        .bind(task.0)
        .fetch_all(ex)
        .await
}

/// A delivery to write into the outbox.
pub struct NewDelivery<'a> {
    pub webhook: i64,
    pub task: TaskId,
    pub event: &'a str,
    pub event_id: &'a str,
    pub body: &'a str,
    pub redelivery_of: Option<i64>,
    pub now: i64,
}

pub async fn insert_delivery(
    ex: impl AnyExecutor<'_>,
    d: &NewDelivery<'_>,
) -> Result<DeliveryId, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO webhook_deliveries
            (webhook_id, task_id, event, event_id, body, next_attempt_at, redelivery_of, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $6) RETURNING id",
    )
    .bind(d.webhook)
    .bind(d.task.0)
    .bind(d.event)
    .bind(d.event_id)
    .bind(d.body)
    .bind(d.now)
    .bind(d.redelivery_of)
    .fetch_one(ex)
    .await?;
    Ok(DeliveryId(id))
}

/// A delivery as the log shows it.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub webhook_id: i64,
    pub url: String,
    pub event: String,
    pub event_id: String,
    pub body: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<i64>,
    pub redelivery_of: Option<i64>,
    pub created_at: i64,
}

const DELIVERY_COLUMNS: &str = "d.id, d.webhook_id, w.url, d.event, d.event_id, d.body, d.state,
    d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.last_attempt_at,
    d.redelivery_of, d.created_at
    FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id";

/// A page of the task's deliveries, newest first (keyset on the id, below `before`).
pub async fn deliveries(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<DeliveryRow>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} WHERE d.task_id = $1 AND ($2 IS NULL OR d.id < $2)
         ORDER BY d.id DESC LIMIT $3"
    ));
    sqlx::query_as(sql)
        .bind(task.0)
        .bind(before)
        .bind(limit)
        .fetch_all(ex)
        .await
}

/// One delivery of the task (none if it belongs to another task).
pub async fn delivery(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    id: DeliveryId,
) -> Result<Option<DeliveryRow>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} WHERE d.task_id = $1 AND d.id = $2"
    ));
    sqlx::query_as(sql)
        .bind(task.0)
        .bind(id.0)
        .fetch_optional(ex)
        .await
}

/// A delivery claimed by a worker, with where and how to send it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub task_id: i64,
    pub event: String,
    pub event_id: String,
    pub body: String,
    pub attempts: i64,
    pub url: String,
    pub secret: String,
}

/// Claims up to `limit` due deliveries for the worker holding `token` until `until`: pending,
/// due, and not claimed by a worker whose claim still runs. Run it in a write transaction (on
/// PostgreSQL the write lock makes two instances' claims take turns, so no row is claimed twice).
pub async fn claim_due(
    tx: &mut super::Tx,
    now: i64,
    until: i64,
    token: &str,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    sqlx::query(
        "UPDATE webhook_deliveries SET claimed_until = $1, claim_token = $2
         WHERE id IN (SELECT id FROM webhook_deliveries
                      WHERE state = 'pending' AND next_attempt_at <= $3 AND claimed_until <= $3
                      ORDER BY next_attempt_at, id LIMIT $4)",
    )
    .bind(until)
    .bind(token)
    .bind(now)
    .bind(limit)
    .execute(&mut **tx)
    .await?;
    sqlx::query_as(
        "SELECT d.id, d.task_id, d.event, d.event_id, d.body, d.attempts, w.url, w.secret
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
         WHERE d.claim_token = $1 AND d.state = 'pending' ORDER BY d.id",
    )
    .bind(token)
    .fetch_all(&mut **tx)
    .await
}

/// What one attempt came to.
pub struct Attempt<'a> {
    pub id: i64,
    pub token: &'a str,
    /// This attempt's number (1 for the first).
    pub attempt: i64,
    pub status: Option<i64>,
    pub error: Option<&'a str>,
    /// `delivered`, `pending` (try again at `next_attempt_at`) or `failed`.
    pub state: &'a str,
    pub next_attempt_at: i64,
    pub duration_ms: i64,
    pub now: i64,
}

/// Records an attempt (on the delivery, and in its attempt log) and gives the claim up; nothing
/// happens if the claim was lost (another worker took the row after this one's claim ran out) or
/// the webhook was deleted meanwhile.
pub async fn record_attempt(tx: &mut super::Tx, a: &Attempt<'_>) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, state = $1, last_status = $2,
            last_error = $3, last_attempt_at = $4, next_attempt_at = $5, claimed_until = 0,
            claim_token = NULL
         WHERE id = $6 AND claim_token = $7",
    )
    .bind(a.state)
    .bind(a.status)
    .bind(a.error)
    .bind(a.now)
    .bind(a.next_attempt_at)
    .bind(a.id)
    .bind(a.token)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, attempt, at, status, error, duration_ms)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(a.id)
    .bind(a.attempt)
    .bind(a.now)
    .bind(a.status)
    .bind(a.error)
    .bind(a.duration_ms)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// One recorded attempt.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct AttemptRow {
    pub attempt: i64,
    pub at: i64,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// A delivery's attempts, first first (call it for a delivery already found within its task).
pub async fn attempts(
    ex: impl AnyExecutor<'_>,
    delivery: DeliveryId,
) -> Result<Vec<AttemptRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT attempt, at, status, error, duration_ms FROM webhook_attempts
         WHERE delivery_id = $1 ORDER BY id",
    )
    .bind(delivery.0)
    .fetch_all(ex)
    .await
}

/// Whether the task still has an item without its final label (open or waiting for a
/// reviewer): one index probe per state on `items(task_id, state, …)`.
pub async fn task_has_undecided_items(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
) -> Result<bool, sqlx::Error> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM items WHERE task_id = $1 AND state IN ('open', 'adjudication') LIMIT 1",
    )
    .bind(task.0)
    .fetch_optional(ex)
    .await?;
    Ok(row.is_some())
}

/// Deletes finished deliveries (delivered or failed) last attempted before `before`, with their
/// attempts, at most `limit` at a time. Returns how many. (A finished delivery's
/// `next_attempt_at` is its last attempt's time, so the `(state, next_attempt_at)` index serves.)
pub async fn purge_finished(
    ex: impl AnyExecutor<'_>,
    before: i64,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "DELETE FROM webhook_deliveries WHERE id IN (
            SELECT id FROM webhook_deliveries
            WHERE state IN ('delivered', 'failed') AND next_attempt_at < $1
            ORDER BY id LIMIT $2)",
    )
    .bind(before)
    .bind(limit)
    .execute(ex)
    .await?
    .rows_affected())
}
