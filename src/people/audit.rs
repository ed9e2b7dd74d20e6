//! The audit log as admins read it: newest first, a page at a time.

use crate::db::{self, audit::AuditEntry};
use crate::error::Result;
use crate::state::AppState;

/// How many entries the audit page shows at once.
pub const PAGE: i64 = 100;

/// Up to [`PAGE`] entries older than the entry `before` (or the newest), and the id to continue
/// before when there may be more.
#[tracing::instrument(skip_all)]
pub async fn recent(
    state: &AppState,
    before: Option<i64>,
) -> Result<(Vec<AuditEntry>, Option<i64>)> {
    let rows = db::audit::list(&state.db.pool, before, PAGE).await?;
    let older = if rows.len() as i64 == PAGE {
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok((rows, older))
}
