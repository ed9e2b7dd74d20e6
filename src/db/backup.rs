//! Online backup of the whole database.

use std::path::Path;

use sqlx::SqlitePool;

/// Writes a transactionally consistent, compacted copy of the database to `out` (a new file)
/// while others keep reading and writing (SQLite's `VACUUM INTO`).
pub async fn vacuum_into(pool: &SqlitePool, out: &Path) -> Result<(), sqlx::Error> {
    sqlx::query("VACUUM INTO $1")
        .bind(out.to_string_lossy().to_string())
        .execute(pool)
        .await?;
    Ok(())
}
