//! The delivery worker: a background loop in every server process. Each round claims a batch of
//! due deliveries in a write transaction (a claim holds until a deadline, so a crashed worker's
//! rows come back; on PostgreSQL the write lock makes the claims of several instances take turns,
//! so no delivery is sent by two at once), sends them, and records each attempt: delivered, or a
//! retry after an exponential backoff with jitter, or failed after the last attempt.
//!
//! Delivery is at least once: a worker that dies after the receiver answered but before the
//! attempt was recorded sends it again once its claim runs out. Receivers dedupe on the event id.

use std::time::Duration;

use futures_util::future::join_all;
use tokio::task::JoinHandle;

use super::client::{self, Answer};
use crate::db;
use crate::db::webhooks::{Attempt, Claimed};
use crate::domain::webhook::{backoff_ms, sign};
use crate::error::Result;
use crate::state::AppState;

/// Deliveries claimed (and sent concurrently) per round.
const BATCH: i64 = 16;

/// Starts the loop: a round every `--webhook-poll`, or at once while there is a backlog.
pub fn spawn(state: AppState) -> JoinHandle<()> {
    let poll = state.config.webhooks.poll.max(Duration::from_millis(10));
    tokio::spawn(async move {
        loop {
            match run_once(&state).await {
                Ok(n) if n as i64 == BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "webhook delivery round failed"),
            }
            tokio::time::sleep(poll).await;
        }
    })
}

/// One round: claims what is due, sends it, records the attempts. Returns how many were sent.
pub async fn run_once(state: &AppState) -> Result<usize> {
    let cfg = &state.config.webhooks;
    let now = state.now();
    let token = crate::auth::secret::new_token();
    // Long enough for every attempt of the batch (they run at once) to finish and be recorded.
    let hold = i64::try_from(cfg.timeout.as_millis())
        .unwrap_or(i64::MAX / 4)
        .saturating_mul(2)
        .saturating_add(5_000);
    let mut tx = state.db.begin_write().await?;
    let claimed =
        db::webhooks::claim_due(&mut tx, now, now.saturating_add(hold), &token, BATCH).await?;
    tx.commit().await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let n = claimed.len();
    let results = join_all(claimed.iter().map(|c| deliver(state, c, &token))).await;
    for r in results {
        if let Err(e) = r {
            tracing::warn!(error = %e, "could not record a webhook attempt");
        }
    }
    Ok(n)
}

#[tracing::instrument(skip_all, fields(delivery = c.id, event = %c.event, task = c.task_id))]
async fn deliver(state: &AppState, c: &Claimed, token: &str) -> Result<()> {
    let cfg = &state.config.webhooks;
    let timestamp = state.now().div_euclid(1000);
    let signature = sign(&c.secret, timestamp, c.body.as_bytes());
    let headers = [
        ("quorum-event", c.event.clone()),
        ("quorum-event-id", c.event_id.clone()),
        ("quorum-delivery", c.id.to_string()),
        ("quorum-timestamp", timestamp.to_string()),
        ("quorum-signature", format!("sha256={signature}")),
    ];
    let started = std::time::Instant::now();
    let answer = client::post(&c.url, &headers, c.body.clone(), &cfg.allow, cfg.timeout).await;
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let now = state.now();
    let attempts = c.attempts + 1;
    let (status, error) = match &answer {
        Answer::Delivered(s) => (Some(i64::from(*s)), None),
        Answer::Refused(s) if (300..400).contains(s) => (
            Some(i64::from(*s)),
            Some(format!("answered {s}: redirects are not followed")),
        ),
        Answer::Refused(s) => (Some(i64::from(*s)), Some(format!("answered {s}"))),
        Answer::Failed(e) => (None, Some(e.clone())),
    };
    let (outcome, next) = match answer {
        Answer::Delivered(_) => ("delivered", now),
        _ if attempts >= i64::from(cfg.max_attempts) => ("failed", now),
        _ => {
            let wait = backoff_ms(
                attempts,
                millis(cfg.backoff),
                millis(cfg.backoff_cap),
                jitter(),
            );
            ("pending", now.saturating_add(wait))
        }
    };
    match &error {
        None => tracing::info!(attempts, "webhook delivered"),
        Some(e) => tracing::warn!(attempts, outcome, error = %e, "webhook attempt failed"),
    }
    metrics::counter!("quorum_webhook_attempts_total", "outcome" => outcome).increment(1);
    let mut tx = state.db.begin_write().await?;
    let recorded = db::webhooks::record_attempt(
        &mut tx,
        &Attempt {
            id: c.id,
            token,
            attempt: attempts,
            duration_ms,
            status,
            error: error.as_deref(),
            state: outcome,
            next_attempt_at: next,
            now,
        },
    )
    .await?;
    tx.commit().await?;
    if !recorded {
        tracing::info!("the delivery was deleted or claimed again meanwhile; attempt not recorded");
    }
    Ok(())
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A number in 0..1 from the operating system's generator (0 if it fails: no jitter then).
fn jitter() -> f64 {
    getrandom::u32().map_or(0.0, |x| f64::from(x) / (f64::from(u32::MAX) + 1.0))
}
