//! Housekeeping: what a crash left behind is settled at start, and a sweeper clears expired
//! sessions, stale login-throttle counters, expired leases and webhook deliveries finished more
//! than 30 days ago every `--sweep-interval`.
//!
//! Every step is one statement or one `BEGIN IMMEDIATE` transaction and idempotent, so two sweeps
//! at once (two servers on one database, or the sweeper racing a lease that sweeps too) are safe.

use crate::db;
use crate::error::Result;
use crate::state::AppState;

/// What one sweep cleared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub sessions: u64,
    pub throttle_rows: u64,
    pub leases: u64,
    /// Webhook deliveries finished more than 30 days ago.
    pub webhook_deliveries: u64,
}

/// Work left over from a crash is settled before the server takes requests.
pub async fn startup_sweep(state: &AppState) -> Result<()> {
    let now = state.now();
    let interrupted = db::imports::fail_interrupted(&state.db.pool, now).await?;
    crate::ingest::clean_spool(&state.config.data_dir);
    let swept = sweep_once(state).await?;
    tracing::info!(interrupted, ?swept, "startup sweep done");
    Ok(())
}

/// One pass: expired sessions, login-throttle counters whose window has passed, and every expired
/// lease given back to the pool.
pub async fn sweep_once(state: &AppState) -> Result<Swept> {
    let now = state.now();
    let sessions = db::sessions::purge_expired(
        &state.db.pool,
        now - crate::auth::session::IDLE_MS,
        now - crate::auth::session::ABSOLUTE_MS,
    )
    .await?;
    let throttle_rows =
        db::throttle::purge_stale(&state.db.pool, now - crate::auth::throttle::WINDOW_MS).await?;
    let mut leases = 0;
    loop {
        // `sweep_expired` takes a bounded number of shards per transaction, so the write lock is
        // never held long; loop until nothing is left.
        let mut tx = state.db.begin_write().await?;
        let n = db::shards::sweep_expired(&mut tx, now).await?;
        tx.commit().await?;
        leases += n;
        if n == 0 {
            break;
        }
    }
    let webhook_deliveries = crate::webhooks::outbox::purge_old(&state.db, now).await?;
    metrics::counter!("quorum_sweep_sessions_total").increment(sessions);
    metrics::counter!("quorum_sweep_throttle_rows_total").increment(throttle_rows);
    Ok(Swept {
        sessions,
        throttle_rows,
        leases,
        webhook_deliveries,
    })
}

/// Sweeps every `sweep_interval` in the background, so dashboards, the lease pool and the tables
/// stay accurate even when nobody is leasing, submitting or signing in.
pub fn spawn_sweeper(state: AppState) -> tokio::task::JoinHandle<()> {
    let every = state
        .config
        .sweep_interval
        .max(std::time::Duration::from_millis(10));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate, and the startup sweep has just run.
        ticks.tick().await;
        loop {
            ticks.tick().await;
            match sweep_once(&state).await {
                Ok(s) if s != Swept::default() => tracing::info!(swept = ?s, "sweep"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sweep failed"),
            }
        }
    })
}
