//! The webhooks feature's rules: who may manage a task's webhooks (admins; to anyone else the
//! task has none, 404), registering one (URL and events checked, a secret made here and shown
//! once), rotating its secret, deleting it, the delivery log and redelivery. Every webhook and
//! delivery is looked up *within its task*: an id of another task is 404 (CVE-2024-45393).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::client;
use super::codes;
use crate::auth::AuthCtx;
use crate::clock::rfc3339;
use crate::db;
use crate::db::tasks::Task;
use crate::db::webhooks::{DeliveryRow, NewDelivery, WebhookRow};
use crate::domain::ids::{DeliveryId, TaskId, WebhookId};
use crate::domain::webhook::{EventKind, join_events, parse_events, split_events};
use crate::error::{AppError, Result};
use crate::http::page::{PageRequest, cut};
use crate::state::AppState;

/// The most webhooks one task may have.
pub const MAX_PER_TASK: usize = 20;

/// A webhook to register.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where to POST: an `http://` URL (this build cannot send to `https://`, see
    /// docs/webhooks.md). Private, loopback and link-local addresses are refused unless the
    /// server allows their range.
    pub url: String,
    /// Any of `snapshot.ready`, `import.finished`, `drift.detected`, `task.completed`.
    pub events: Vec<String>,
}

/// A registered webhook (its secret is shown only when made or rotated).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: i64,
    pub task_id: i64,
    pub url: String,
    pub events: Vec<EventKind>,
    /// RFC 3339.
    pub created_at: String,
    pub created_by: Option<String>,
    /// When the secret was last rotated (RFC 3339), if ever.
    pub secret_rotated_at: Option<String>,
}

impl WebhookView {
    fn of(w: &WebhookRow) -> WebhookView {
        WebhookView {
            id: w.id,
            task_id: w.task_id,
            url: w.url.clone(),
            events: split_events(&w.events),
            created_at: rfc3339(w.created_at),
            created_by: w.created_by_name.clone(),
            secret_rotated_at: w.rotated_at.map(rfc3339),
        }
    }
}

/// A task's webhooks.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub webhooks: Vec<WebhookView>,
}

/// A webhook with its signing secret, shown this once.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    pub webhook: WebhookView,
    /// The HMAC-SHA256 key of the `Quorum-Signature` header: store it now, it is not shown again.
    pub secret: String,
}

/// One delivery of one event to one webhook, as the log shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    pub webhook_id: i64,
    pub url: String,
    pub event: String,
    /// The same for every delivery of one event: receivers dedupe on it.
    pub event_id: String,
    /// `pending`, `delivered` or `failed` (every attempt used).
    pub state: String,
    pub attempts: i64,
    /// The receiver's last HTTP status, if it answered.
    pub status_code: Option<i64>,
    pub last_error: Option<String>,
    /// When the next attempt is due (RFC 3339), while pending.
    pub next_attempt_at: Option<String>,
    pub last_attempt_at: Option<String>,
    /// The delivery this one repeats, for a redelivery.
    pub redelivery_of: Option<i64>,
    pub created_at: String,
    /// The body sent.
    pub payload: Value,
}

impl DeliveryView {
    pub fn of(d: &DeliveryRow) -> DeliveryView {
        DeliveryView {
            id: d.id,
            webhook_id: d.webhook_id,
            url: d.url.clone(),
            event: d.event.clone(),
            event_id: d.event_id.clone(),
            state: d.state.clone(),
            attempts: d.attempts,
            status_code: d.last_status,
            last_error: d.last_error.clone(),
            next_attempt_at: (d.state == "pending").then(|| rfc3339(d.next_attempt_at)),
            last_attempt_at: d.last_attempt_at.map(rfc3339),
            redelivery_of: d.redelivery_of,
            created_at: rfc3339(d.created_at),
            payload: serde_json::from_str(&d.body).unwrap_or(Value::Null),
        }
    }
}

/// One attempt of a delivery.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// 1 for the first.
    pub attempt: i64,
    /// RFC 3339.
    pub at: String,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<i64>,
    /// Why the attempt failed (no answer, a refused address, a non-2xx status).
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// A delivery with every attempt made.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DeliveryDetail {
    pub delivery: DeliveryView,
    pub attempts: Vec<AttemptView>,
}

/// A page of the delivery log, newest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DeliveryPage {
    pub deliveries: Vec<DeliveryView>,
    pub next_cursor: Option<String>,
}

fn bad(message: impl Into<String>) -> AppError {
    AppError::bad_request(codes::INVALID_WEBHOOK, message)
}

fn new_secret() -> String {
    format!("whsec_{}", crate::auth::secret::new_token())
}

/// The task's webhooks.
pub async fn list(state: &AppState, ctx: &AuthCtx, task: TaskId) -> Result<WebhookList> {
    let task = crate::tasks::service::administered(state, ctx, task).await?;
    let rows = db::webhooks::list(&state.db.pool, task.id).await?;
    Ok(WebhookList {
        webhooks: rows.iter().map(WebhookView::of).collect(),
    })
}

/// Registers a webhook: the URL must be http, and neither name nor resolve to a forbidden
/// address (checked again, and pinned, at every delivery); at least one known event.
#[tracing::instrument(skip_all, fields(task = %task, admin = %ctx.user.id))]
pub async fn create(
    state: &AppState,
    ctx: &AuthCtx,
    task: TaskId,
    new: NewWebhook,
    ip: &str,
) -> Result<WebhookWithSecret> {
    let task = crate::tasks::service::administered(state, ctx, task).await?;
    let allow = &state.config.webhooks.allow;
    let target = client::check_target(&new.url, allow).map_err(bad)?;
    let events = parse_events(&new.events).map_err(bad)?;
    // An early answer for a name that resolves to a private address; a name that does not resolve
    // now is accepted (its deliveries say why they fail).
    let lookup = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        client::resolve_pinned(&target, allow),
    )
    .await;
    if let Ok(Err(e)) = &lookup
        && !e.starts_with("cannot resolve")
    {
        return Err(bad(format!("url: {e}")));
    }
    let secret = new_secret();
    let now = state.now();
    let url = new.url.trim().to_string();
    let mut tx = state.db.begin_write().await?;
    if db::webhooks::list(&mut *tx, task.id).await?.len() >= MAX_PER_TASK {
        return Err(AppError::bad_request(
            codes::TOO_MANY_WEBHOOKS,
            format!("a task may have at most {MAX_PER_TASK} webhooks; delete one first"),
        ));
    }
    let id = db::webhooks::insert(
        &mut *tx,
        task.id,
        &url,
        &join_events(&events),
        &secret,
        ctx.user.id,
        now,
    )
    .await?;
    let detail = json!({"webhook": id, "url": url, "events": events});
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "webhook.create",
        &format!("task #{}", task.id),
        &detail,
        ip,
        now,
    )
    .await?;
    let row = db::webhooks::get(&mut *tx, task.id, id).await?;
    tx.commit().await?;
    let row = row.ok_or_else(|| AppError::internal("the new webhook vanished"))?;
    Ok(WebhookWithSecret {
        webhook: WebhookView::of(&row),
        secret,
    })
}

/// Deletes a webhook of the task, with its delivery log.
#[tracing::instrument(skip_all, fields(task = %task, webhook = %id, admin = %ctx.user.id))]
pub async fn delete(
    state: &AppState,
    ctx: &AuthCtx,
    task: TaskId,
    id: WebhookId,
    ip: &str,
) -> Result<()> {
    let task = crate::tasks::service::administered(state, ctx, task).await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if !db::webhooks::delete(&mut *tx, task.id, id).await? {
        return Err(AppError::NotFound);
    }
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "webhook.delete",
        &format!("task #{}", task.id),
        &json!({"webhook": id}),
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Replaces a webhook's secret with a new one, shown this once; the next attempts are signed
/// with it.
#[tracing::instrument(skip_all, fields(task = %task, webhook = %id, admin = %ctx.user.id))]
pub async fn rotate(
    state: &AppState,
    ctx: &AuthCtx,
    task: TaskId,
    id: WebhookId,
    ip: &str,
) -> Result<WebhookWithSecret> {
    let task = crate::tasks::service::administered(state, ctx, task).await?;
    let secret = new_secret();
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if !db::webhooks::set_secret(&mut *tx, task.id, id, &secret, now).await? {
        return Err(AppError::NotFound);
    }
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "webhook.rotate_secret",
        &format!("task #{}", task.id),
        &json!({"webhook": id}),
        ip,
        now,
    )
    .await?;
    let row = db::webhooks::get(&mut *tx, task.id, id).await?;
    tx.commit().await?;
    let row = row.ok_or(AppError::NotFound)?;
    Ok(WebhookWithSecret {
        webhook: WebhookView::of(&row),
        secret,
    })
}

/// A page of the task's delivery log, newest first.
pub async fn deliveries(
    state: &AppState,
    ctx: &AuthCtx,
    task: TaskId,
    req: PageRequest,
) -> Result<DeliveryPage> {
    let task = crate::tasks::service::administered(state, ctx, task).await?;
    let rows = db::webhooks::deliveries(&state.db.pool, task.id, req.after, req.limit + 1).await?;
    let (rows, next_cursor) = cut(rows, req, |d| d.id);
    Ok(DeliveryPage {
        deliveries: rows.iter().map(DeliveryView::of).collect(),
        next_cursor,
    })
}

/// One delivery of the task with its attempts; a delivery of another task is 404.
pub async fn delivery(
    state: &AppState,
    ctx: &AuthCtx,
    task: TaskId,
    id: DeliveryId,
) -> Result<DeliveryDetail> {
    let task = crate::tasks::service::administered(state, ctx, task).await?;
    let d = db::webhooks::delivery(&state.db.pool, task.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let attempts = db::webhooks::attempts(&state.db.pool, id).await?;
    Ok(DeliveryDetail {
        delivery: DeliveryView::of(&d),
        attempts: attempts
            .into_iter()
            .map(|a| AttemptView {
                attempt: a.attempt,
                at: rfc3339(a.at),
                status_code: a.status,
                error: a.error,
                duration_ms: a.duration_ms,
            })
            .collect(),
    })
}

/// Sends an event again: a new delivery of the same body and event id to the same webhook, due
/// now. Only a delivery of this task can be redelivered.
#[tracing::instrument(skip_all, fields(task = %task, delivery = %id, admin = %ctx.user.id))]
pub async fn redeliver(
    state: &AppState,
    ctx: &AuthCtx,
    task: TaskId,
    id: DeliveryId,
    ip: &str,
) -> Result<DeliveryView> {
    let task = crate::tasks::service::administered(state, ctx, task).await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let old = db::webhooks::delivery(&mut *tx, task.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let new_id = db::webhooks::insert_delivery(
        &mut *tx,
        &NewDelivery {
            webhook: old.webhook_id,
            task: task.id,
            event: &old.event,
            event_id: &old.event_id,
            body: &old.body,
            redelivery_of: Some(old.id),
            now,
        },
    )
    .await?;
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "webhook.redeliver",
        &format!("task #{}", task.id),
        &json!({"delivery": id, "new_delivery": new_id}),
        ip,
        now,
    )
    .await?;
    let row = db::webhooks::delivery(&mut *tx, task.id, new_id).await?;
    tx.commit().await?;
    let row = row.ok_or_else(|| AppError::internal("the new delivery vanished"))?;
    Ok(DeliveryView::of(&row))
}

/// What the webhooks page shows: the task, its webhooks and the latest deliveries.
pub struct Overview {
    pub task: Task,
    pub webhooks: Vec<WebhookView>,
    pub deliveries: Vec<DeliveryView>,
}

/// The webhooks page's content (the latest `limit` deliveries).
pub async fn overview(
    state: &AppState,
    ctx: &AuthCtx,
    task: TaskId,
    limit: i64,
) -> Result<Overview> {
    let task = crate::tasks::service::administered(state, ctx, task).await?;
    let webhooks = db::webhooks::list(&state.db.pool, task.id).await?;
    let deliveries = db::webhooks::deliveries(&state.db.pool, task.id, None, limit).await?;
    Ok(Overview {
        task,
        webhooks: webhooks.iter().map(WebhookView::of).collect(),
        deliveries: deliveries.iter().map(DeliveryView::of).collect(),
    })
}
