//! Snapshot files stored as chunks (`export_chunks`), for instances that share no file system.

use sqlx::AnyExecutor;

/// How many chunks of `name` are stored (0 when the file is not in the database).
pub async fn chunk_count(ex: impl AnyExecutor<'_>, name: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM export_chunks WHERE name = $1")
        .bind(name)
        .fetch_one(ex)
        .await
}

/// Stores chunk `seq` of `name` (kept as it is when already there: the content is addressed).
pub async fn insert_chunk(
    ex: impl AnyExecutor<'_>,
    name: &str,
    seq: i64,
    bytes: &[u8],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO export_chunks (name, seq, bytes) VALUES ($1, $2, $3)
         ON CONFLICT (name, seq) DO NOTHING",
    )
    .bind(name)
    .bind(seq)
    .bind(bytes.to_vec())
    .execute(ex)
    .await?;
    Ok(())
}

/// Chunk `seq` of `name`, if stored.
pub async fn chunk(
    ex: impl AnyExecutor<'_>,
    name: &str,
    seq: i64,
) -> Result<Option<Vec<u8>>, sqlx::Error> {
    sqlx::query_scalar("SELECT bytes FROM export_chunks WHERE name = $1 AND seq = $2")
        .bind(name)
        .bind(seq)
        .fetch_optional(ex)
        .await
}
