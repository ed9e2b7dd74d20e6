//! Housekeeping: what a crash left behind is settled at start, and expired leases are given back
//! in the background.

use crate::db;
use crate::error::Result;
use crate::state::AppState;

/// Work left over from a crash is settled before the server takes requests.
pub async fn startup_sweep(state: &AppState) -> Result<()> {
    let now = state.now();
    let purged = db::sessions::purge_expired(
        &state.db.pool,
        now - crate::auth::session::IDLE_MS,
        now - crate::auth::session::ABSOLUTE_MS,
    )
    .await?;
    let interrupted = db::imports::fail_interrupted(&state.db.pool, now).await?;
    crate::ingest::clean_spool(&state.config.data_dir);
    let mut tx = state.db.begin_write().await?;
    let swept = db::shards::sweep_expired(&mut tx, now).await?;
    tx.commit().await?;
    tracing::info!(purged, interrupted, swept, "startup sweep done");
    Ok(())
}

/// Gives expired leases back every few seconds, so dashboards and the pool stay accurate even
/// when nobody is leasing or submitting.
pub fn spawn_sweeper(state: AppState) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(15)).await;
            let now = state.now();
            let result = async {
                let mut tx = state.db.begin_write().await?;
                let n = db::shards::sweep_expired(&mut tx, now).await?;
                tx.commit().await?;
                Ok::<u64, sqlx::Error>(n)
            }
            .await;
            if let Err(e) = result {
                tracing::warn!(error = %e, "lease sweep failed");
            }
        }
    });
}
