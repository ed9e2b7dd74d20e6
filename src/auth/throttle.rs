//! Login throttling per account and per client address.
//!
//! An attempt is counted *before* the password is checked, inside one write transaction, so fifty
//! parallel guesses cannot all slip under the limit. A success clears the account's counter. The
//! limits are windows, not permanent locks: no account (the admin included) can be locked for good,
//! and `quorum user password` is the operator's way back in.

use crate::db;
use crate::error::AppError;
use crate::state::AppState;

/// Failed attempts allowed per account in one window.
pub const ACCOUNT_LIMIT: i64 = 10;
/// Failed attempts allowed per client address in one window.
pub const ADDRESS_LIMIT: i64 = 100;
/// The window's length.
pub const WINDOW_MS: i64 = 15 * 60 * 1000;

fn account_key(username: &str) -> String {
    format!("u:{}", username.to_lowercase())
}

fn address_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// Counts one attempt for this account and address, or refuses with 429 when either is over its limit.
pub async fn reserve_attempt(state: &AppState, username: &str, ip: &str) -> Result<(), AppError> {
    let now = state.now();
    let after = now - WINDOW_MS;
    let mut tx = state.db.begin_write().await?;
    let (ak, ik) = (account_key(username), address_key(ip));
    let (account, account_start) = db::throttle::failures(&mut *tx, &ak, after).await?;
    let (address, address_start) = db::throttle::failures(&mut *tx, &ik, after).await?;
    let blocked_since = [
        (account >= ACCOUNT_LIMIT, account_start),
        (address >= ADDRESS_LIMIT, address_start),
    ]
    .into_iter()
    .filter(|(over, _)| *over)
    .map(|(_, start)| start)
    .max();
    if let Some(start) = blocked_since {
        tx.rollback().await?;
        tracing::warn!(ip, "login throttled");
        // The time left until the window that blocks ends, at least one second.
        let left_ms = (start + WINDOW_MS - now).max(1000);
        return Err(AppError::TooManyRequests {
            retry_after_secs: (left_ms as u64).div_ceil(1000),
        });
    }
    db::throttle::record_failure(&mut *tx, &ak, now, after).await?;
    db::throttle::record_failure(&mut *tx, &ik, now, after).await?;
    tx.commit().await?;
    Ok(())
}

/// After a successful login: the account's counter starts again.
pub async fn succeeded(state: &AppState, username: &str, ip: &str) -> Result<(), AppError> {
    let mut tx = state.db.begin_write().await?;
    db::throttle::clear(&mut *tx, &account_key(username)).await?;
    db::throttle::forgive_one(&mut *tx, &address_key(ip)).await?;
    tx.commit().await?;
    Ok(())
}

/// The operator's escape hatch: clears an account's counter.
pub async fn clear_account(db: &crate::db::Db, username: &str) -> Result<(), sqlx::Error> {
    db::throttle::clear(&db.pool, &account_key(username)).await
}
