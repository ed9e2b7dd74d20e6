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

/// The latest migration applied to this database (its schema version).
pub async fn schema_version(pool: &SqlitePool) -> Result<i64, sqlx::Error> {
    let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(pool)
        .await?;
    Ok(v.unwrap_or(0))
}

/// SQLite's own consistency check of the whole file: `ok`, or what is wrong.
pub async fn integrity_check(pool: &SqlitePool) -> Result<String, sqlx::Error> {
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(pool)
        .await?;
    Ok(rows.join("; "))
}
