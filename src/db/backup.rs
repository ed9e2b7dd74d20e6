//! Online backup of the whole database, and what the migrations table says.

use std::path::Path;

use sqlx::AnyPool;

/// Writes a transactionally consistent, compacted copy of a SQLite database to `out` (a new
/// file) while others keep reading and writing (SQLite's `VACUUM INTO`).
pub async fn vacuum_into(pool: &AnyPool, out: &Path) -> Result<(), sqlx::Error> {
    sqlx::query("VACUUM INTO $1")
        .bind(out.to_string_lossy().to_string())
        .execute(pool)
        .await?;
    Ok(())
}

/// The latest migration applied to this database (its schema version).
pub async fn schema_version(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(pool)
        .await?;
    Ok(v.unwrap_or(0))
}

/// Every applied migration with its checksum; empty on a database never migrated.
pub async fn applied_migrations(pool: &AnyPool) -> Result<Vec<(i64, Vec<u8>)>, sqlx::Error> {
    let rows = sqlx::query_as(
        "SELECT version, checksum FROM _sqlx_migrations WHERE success = $1 ORDER BY version",
    )
    .bind(true)
    .fetch_all(pool)
    .await;
    match rows {
        Ok(rows) => Ok(rows),
        // No migrations table yet: nothing applied.
        Err(sqlx::Error::Database(e)) if e.message().contains("_sqlx_migrations") => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// SQLite's own consistency check of the whole file: `ok`, or what is wrong.
pub async fn integrity_check(pool: &AnyPool) -> Result<String, sqlx::Error> {
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(pool)
        .await?;
    Ok(rows.join("; "))
}
