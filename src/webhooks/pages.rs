//! The task's webhooks page (`/admin/tasks/{id}/webhooks`): register a webhook, rotate its
//! secret or delete it, and the delivery log with redelivery. Through the same service as the
//! API. A new secret is shown in the answer to the POST that made it, never in a URL.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::service::{self, DeliveryView, NewWebhook, WebhookView};
use super::two_ids;
use crate::auth::extract::ClientIp;
use crate::auth::{AuthCtx, CurrentUser};
use crate::db::tasks::Task;
use crate::domain::ids::{DeliveryId, TaskId, WebhookId};
use crate::domain::webhook::EventKind;
use crate::error::{AppError, Result};
use crate::http::extract::Id;
use crate::http::pages::{Chrome, html};
use crate::state::AppState;

/// How many deliveries the page lists (the API pages through all of them).
const LOG_ROWS: i64 = 100;

/// A delivery, as the page's log shows it.
pub struct DeliveryLine {
    pub d: DeliveryView,
    pub when: String,
    pub next: String,
    pub status: String,
    pub error: String,
}

/// `2026-12-02T07:01:02Z` as `2026-12-02 07:01:02 UTC`.
fn short(rfc3339: &str) -> String {
    format!(
        "{} UTC",
        rfc3339
            .get(..19)
            .map(|x| x.replace('T', " "))
            .unwrap_or_else(|| rfc3339.to_string())
    )
}

impl DeliveryLine {
    fn of(d: DeliveryView) -> DeliveryLine {
        DeliveryLine {
            when: short(&d.created_at),
            next: d
                .next_attempt_at
                .as_deref()
                .map(short)
                .unwrap_or_else(|| "–".into()),
            status: d
                .status_code
                .map(|s| s.to_string())
                .unwrap_or_else(|| "–".into()),
            error: d.last_error.clone().unwrap_or_default(),
            d,
        }
    }
}

/// A secret just made or rotated.
pub struct NewSecret {
    pub webhook: i64,
    pub value: String,
}

/// A webhook, as the page lists it.
pub struct WebhookLine {
    pub w: WebhookView,
    pub added: String,
    pub rotated: Option<String>,
}

impl WebhookLine {
    fn of(w: WebhookView) -> WebhookLine {
        WebhookLine {
            added: short(&w.created_at),
            rotated: w.secret_rotated_at.as_deref().map(short),
            w,
        }
    }
}

#[derive(Template)]
#[template(path = "webhooks/page.html")]
struct WebhooksPage {
    chrome: Chrome,
    t: Task,
    webhooks: Vec<WebhookLine>,
    deliveries: Vec<DeliveryLine>,
    events: Vec<&'static str>,
    /// A secret just made, with the webhook it belongs to: shown once.
    new_secret: Option<NewSecret>,
    error: Option<String>,
    notice: Option<&'static str>,
    form_url: String,
}

async fn render(
    state: &AppState,
    ctx: &AuthCtx,
    task: TaskId,
    secret: Option<NewSecret>,
    error: Option<String>,
    form_url: String,
    notice: Option<&'static str>,
) -> Result<Response> {
    let o = service::overview(state, ctx, task, LOG_ROWS).await?;
    let deliveries = o.deliveries.into_iter().map(DeliveryLine::of).collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = WebhooksPage {
        chrome: Chrome::of(ctx, "tasks"),
        t: o.task,
        webhooks: o.webhooks.into_iter().map(WebhookLine::of).collect(),
        deliveries,
        events: EventKind::ALL.iter().map(|e| e.as_str()).collect(),
        new_secret: secret,
        error,
        notice,
        form_url,
    };
    Ok((status, html(&page)?).into_response())
}

#[derive(Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

/// `GET /admin/tasks/{id}/webhooks`.
pub async fn page(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    axum::extract::Query(q): axum::extract::Query<NoticeQuery>,
) -> Result<Response> {
    let notice = match q.notice.as_deref() {
        Some("deleted") => Some("Webhook deleted."),
        Some("redelivered") => Some("Queued for redelivery: the log shows how it went."),
        _ => None,
    };
    render(&state, &ctx, TaskId(id), None, None, String::new(), notice).await
}

/// The registration form: a URL and one checkbox per event.
#[derive(Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    url: String,
    #[serde(rename = "snapshot.ready")]
    snapshot_ready: Option<String>,
    #[serde(rename = "import.finished")]
    import_finished: Option<String>,
    #[serde(rename = "drift.detected")]
    drift_detected: Option<String>,
    #[serde(rename = "task.completed")]
    task_completed: Option<String>,
}

impl WebhookForm {
    fn new_webhook(&self) -> NewWebhook {
        let ticked = [
            (&self.snapshot_ready, EventKind::SnapshotReady),
            (&self.import_finished, EventKind::ImportFinished),
            (&self.drift_detected, EventKind::DriftDetected),
            (&self.task_completed, EventKind::TaskCompleted),
        ];
        NewWebhook {
            url: self.url.clone(),
            events: ticked
                .iter()
                .filter(|(on, _)| on.is_some())
                .map(|(_, k)| k.as_str().to_string())
                .collect(),
        }
    }
}

/// `POST /admin/tasks/{id}/webhooks`: registers and shows the secret once; a refused form comes
/// back with the reason and the URL as typed.
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Form(f): Form<WebhookForm>,
) -> Result<Response> {
    match service::create(&state, &ctx, TaskId(id), f.new_webhook(), &ip).await {
        Ok(made) => {
            let secret = Some(NewSecret {
                webhook: made.webhook.id,
                value: made.secret,
            });
            render(&state, &ctx, TaskId(id), secret, None, String::new(), None).await
        }
        Err(AppError::BadRequest { message, .. }) => {
            render(&state, &ctx, TaskId(id), None, Some(message), f.url, None).await
        }
        Err(e) => Err(e),
    }
}

/// `POST /admin/tasks/{id}/webhooks/{webhook_id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Path((task, webhook)): Path<(String, String)>,
) -> Result<Response> {
    let (task, webhook) = two_ids(&task, &webhook)?;
    service::delete(&state, &ctx, TaskId(task), WebhookId(webhook), &ip).await?;
    Ok(Redirect::to(&format!("/admin/tasks/{task}/webhooks?notice=deleted")).into_response())
}

/// `POST /admin/tasks/{id}/webhooks/{webhook_id}/secret`: a new secret, shown once.
pub async fn rotate(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Path((task, webhook)): Path<(String, String)>,
) -> Result<Response> {
    let (task, webhook) = two_ids(&task, &webhook)?;
    let r = service::rotate(&state, &ctx, TaskId(task), WebhookId(webhook), &ip).await?;
    let secret = Some(NewSecret {
        webhook: r.webhook.id,
        value: r.secret,
    });
    render(
        &state,
        &ctx,
        TaskId(task),
        secret,
        None,
        String::new(),
        None,
    )
    .await
}

/// `POST /admin/tasks/{id}/webhooks/deliveries/{delivery_id}/redeliver`.
pub async fn redeliver(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Path((task, delivery)): Path<(String, String)>,
) -> Result<Response> {
    let (task, delivery) = two_ids(&task, &delivery)?;
    service::redeliver(&state, &ctx, TaskId(task), DeliveryId(delivery), &ip).await?;
    Ok(Redirect::to(&format!("/admin/tasks/{task}/webhooks?notice=redelivered")).into_response())
}
