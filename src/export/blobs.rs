//! Snapshot files shared by every instance: on PostgreSQL the database holds each file as 1 MiB
//! chunks (`db::blobs`), and an instance's `<data-dir>/exports/` is a cache of them.
//!
//! Why chunks in PostgreSQL and not an object store: the database is already the one thing every
//! instance shares and backs up; a snapshot is written once and read rarely, so storing it there
//! adds no service to run and keeps a snapshot and its row in the same backup. An instance that
//! lacks a file fetches it whole into a temporary file, checks that its bytes hash to the name,
//! and moves it into place; from then on it is served from disk with the same bytes, ETag and
//! ranges as on the instance that made it. On SQLite (one process, one data directory) the files
//! are the store and nothing is copied.

use std::io::{self, Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::db::{self, Backend, Db};

use super::store::{self, TempFile};

/// Bytes per stored chunk.
pub const CHUNK: usize = 1 << 20;

fn db_error(e: sqlx::Error) -> io::Error {
    io::Error::other(format!("snapshot store: {e}"))
}

/// Copies `<exports>/<name>` into the database unless it is there already (PostgreSQL only).
/// All or nothing: one transaction.
pub async fn publish(db: &Db, data_dir: &Path, name: &str) -> io::Result<()> {
    if db.backend != Backend::Postgres {
        return Ok(());
    }
    if db::blobs::chunk_count(&db.pool, name)
        .await
        .map_err(db_error)?
        > 0
    {
        return Ok(());
    }
    let path = store::exports_dir(data_dir).join(name);
    let mut file = std::fs::File::open(&path)?;
    let mut tx = db.pool.begin().await.map_err(db_error)?;
    let mut seq = 0i64;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = read_full(&mut file, &mut buf)?;
        // An empty file is stored as one empty chunk, so that it counts as stored.
        if n == 0 && seq > 0 {
            break;
        }
        db::blobs::insert_chunk(&mut *tx, name, seq, &buf[..n])
            .await
            .map_err(db_error)?;
        seq += 1;
        if n < CHUNK {
            break;
        }
    }
    tx.commit().await.map_err(db_error)?;
    Ok(())
}

/// Reads until `buf` is full or the file ends.
fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Makes sure `<exports>/<name>` is on this instance's disk, fetching it from the database when
/// another instance made it. False when the file is nowhere. A fetched snapshot file must hash
/// to its name, or it is refused.
pub async fn ensure_local(db: &Db, data_dir: &Path, name: &str) -> io::Result<bool> {
    if !store::is_snapshot_name(name) && !is_index_name(name) {
        return Err(io::Error::other(format!(
            "not a snapshot file name: {name:?}"
        )));
    }
    let path = store::exports_dir(data_dir).join(name);
    if path.exists() {
        return Ok(true);
    }
    if db.backend != Backend::Postgres {
        return Ok(false);
    }
    std::fs::create_dir_all(store::exports_dir(data_dir))?;
    let (tmp, mut file) = TempFile::create(data_dir, "fetch")?;
    let mut hasher = Sha256::new();
    let mut seq = 0i64;
    while let Some(bytes) = db::blobs::chunk(&db.pool, name, seq)
        .await
        .map_err(db_error)?
    {
        file.write_all(&bytes)?;
        hasher.update(&bytes);
        seq += 1;
    }
    if seq == 0 {
        return Ok(false);
    }
    file.sync_all()?;
    drop(file);
    if store::is_snapshot_name(name) {
        let hash = hex::encode(hasher.finalize());
        if !name.starts_with(&hash) {
            return Err(io::Error::other(format!(
                "snapshot {name}: the stored bytes hash to {hash}"
            )));
        }
    }
    tmp.persist(data_dir, name)?;
    Ok(true)
}

/// `<sha256>.idx`, the row index next to a snapshot.
fn is_index_name(name: &str) -> bool {
    name.strip_suffix(".idx").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names() {
        assert!(is_index_name(&format!("{}.idx", "a".repeat(64))));
        assert!(!is_index_name("../x.idx"));
        assert!(!is_index_name(&format!("{}.idx", "A".repeat(64))));
    }
}
