//! `quorum copy`: moves a whole deployment from one database to another (typically SQLite to
//! PostgreSQL, when one machine is no longer enough), snapshots included.
//!
//! The source is read in one consistent snapshot (a read transaction); the target is written
//! in one write transaction, so a failed copy leaves it empty. The target must be empty: every
//! table is checked first. At the end every table is read back from the target and compared
//! with what was read from the source, by row count and by a SHA-256 over every value in key
//! order; every snapshot file is checked against the hash that is its name.

use std::path::{Path, PathBuf};

use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};

use crate::db::copy::{self as tables, Value};
use crate::db::{self, Backend, Db};
use crate::export::{blobs, store};

/// Rows per INSERT: far below both dialects' parameter limits for the widest table.
const BATCH: usize = 400;

/// What was copied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// `(table, rows)` in copy order.
    pub tables: Vec<(String, i64)>,
    pub rows: i64,
    /// Snapshot files (data and row index) copied.
    pub files: usize,
}

/// Where a copy reads and writes.
pub struct Ends<'a> {
    pub from: &'a Db,
    /// The source's data directory (its `exports/` holds the snapshot files on SQLite).
    pub from_dir: &'a Path,
    pub to: &'a Db,
    /// The target's data directory (snapshot files go to its `exports/` on SQLite; on
    /// PostgreSQL they pass through it on their way into the database).
    pub to_dir: &'a Path,
}

fn err(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

/// Copies everything, checking as described in the module docs; `progress` is told the total
/// row count once and then each batch as it lands.
pub async fn run(ends: &Ends<'_>, progress: &dyn Fn(Progress)) -> Result<Summary, String> {
    check_tables(ends.from).await?;
    refuse_non_empty(ends.to).await?;

    let mut read = ends
        .from
        .begin_read()
        .await
        .map_err(|e| err("cannot read the source", e))?;
    let mut total = 0i64;
    for (t, _) in tables::TABLES {
        total += tables::count(&mut *read, t).await.map_err(|e| err(t, e))?;
    }
    progress(Progress::Total(total));

    let mut write = ends
        .to
        .begin_write()
        .await
        .map_err(|e| err("cannot write the target", e))?;
    let mut summary = Summary::default();
    let mut source_sums = Vec::new();
    for (t, _) in tables::TABLES {
        let from_cols = tables::columns(&mut *read, ends.from.backend, t)
            .await
            .map_err(|e| err(t, e))?;
        let to_cols = tables::columns(&mut *write, ends.to.backend, t)
            .await
            .map_err(|e| err(t, e))?;
        let names =
            |c: &[(String, tables::Kind)]| c.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        if names(&from_cols) != names(&to_cols) {
            return Err(format!(
                "table {t}: the source has columns {:?} but the target {:?} (are both on this version of Quorum?)",
                names(&from_cols),
                names(&to_cols)
            ));
        }
        let mut hasher = Sha256::new();
        let mut n = 0i64;
        let mut batch: Vec<Vec<Value>> = Vec::with_capacity(BATCH);
        {
            let mut stream =
                Box::pin(tables::rows(&mut *read, t, &from_cols).map_err(|e| err(t, e))?);
            while let Some(row) = stream.try_next().await.map_err(|e| err(t, e))? {
                for v in &row {
                    v.hash_into(&mut hasher);
                }
                batch.push(row);
                if batch.len() == BATCH {
                    tables::insert(&mut write, ends.to.backend, t, &to_cols, &batch)
                        .await
                        .map_err(|e| err(t, e))?;
                    n += batch.len() as i64;
                    progress(Progress::Rows(batch.len() as u64));
                    batch.clear();
                }
            }
        }
        tables::insert(&mut write, ends.to.backend, t, &to_cols, &batch)
            .await
            .map_err(|e| err(t, e))?;
        n += batch.len() as i64;
        progress(Progress::Rows(batch.len() as u64));
        if ends.to.backend == Backend::Postgres && to_cols.iter().any(|(c, _)| c == "id") {
            tables::reset_identity(&mut write, t)
                .await
                .map_err(|e| err(t, e))?;
        }
        source_sums.push((t.to_string(), n, hex::encode(hasher.finalize())));
        summary.tables.push((t.to_string(), n));
        summary.rows += n;
    }

    // Snapshot files, before the rows that name them are committed.
    let files = snapshot_files(&mut read).await?;
    for name in &files {
        copy_file(ends, name).await?;
    }
    summary.files = files.len();
    read.rollback().await.ok();
    write
        .commit()
        .await
        .map_err(|e| err("cannot commit the copy", e))?;

    verify(ends, &source_sums, &files).await?;
    Ok(summary)
}

/// Progress of a copy.
#[derive(Clone, Copy, Debug)]
pub enum Progress {
    Total(i64),
    Rows(u64),
}

/// Fails when the source has a table this copy does not know (a schema newer than this binary).
async fn check_tables(db: &Db) -> Result<(), String> {
    let names = tables::table_names(&db.pool, db.backend)
        .await
        .map_err(|e| err("cannot list the source's tables", e))?;
    for n in names {
        if !tables::TABLES.iter().any(|(t, _)| *t == n) && !tables::NOT_COPIED.contains(&n.as_str())
        {
            return Err(format!(
                "the source has a table {n:?} that this version of `quorum copy` does not know"
            ));
        }
    }
    Ok(())
}

async fn refuse_non_empty(db: &Db) -> Result<(), String> {
    let mut full = Vec::new();
    for (t, _) in tables::TABLES {
        let n = tables::count(&db.pool, t).await.map_err(|e| err(t, e))?;
        if n > 0 {
            full.push(format!("{t} ({n} rows)"));
        }
    }
    let chunks = tables::count(&db.pool, "export_chunks")
        .await
        .map_err(|e| err("export_chunks", e))?;
    if chunks > 0 {
        full.push(format!("export_chunks ({chunks} rows)"));
    }
    if full.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the target is not empty: {}; copy only into a new, empty database",
            full.join(", ")
        ))
    }
}

/// The snapshot files the source's exports name: each data file and its row index.
async fn snapshot_files(read: &mut db::Tx) -> Result<Vec<String>, String> {
    let cols = vec![
        ("file_name".to_string(), tables::Kind::Text),
        ("sha256".to_string(), tables::Kind::Text),
    ];
    let rows: Vec<Vec<Value>> = tables::rows(&mut **read, "exports", &cols)
        .map_err(|e| err("exports", e))?
        .try_collect()
        .await
        .map_err(|e| err("exports", e))?;
    let mut files = Vec::new();
    for row in rows {
        if let [Value::Text(file), Value::Text(sha)] = row.as_slice() {
            files.push(file.clone());
            files.push(format!("{sha}.idx"));
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// Brings one snapshot file from the source to the target.
async fn copy_file(ends: &Ends<'_>, name: &str) -> Result<(), String> {
    // Where the file is on this machine: the source's exports directory on SQLite, or fetched
    // from the source database into the target's directory.
    let local: PathBuf = match ends.from.backend {
        Backend::Sqlite => store::exports_dir(ends.from_dir).join(name),
        Backend::Postgres => {
            let found = blobs::ensure_local(ends.from, ends.to_dir, name)
                .await
                .map_err(|e| err(name, e))?;
            if !found {
                return missing(name);
            }
            store::exports_dir(ends.to_dir).join(name)
        }
    };
    if !local.exists() {
        // Row indexes only speed up the next snapshot's diff; a missing one is not fatal.
        if name.ends_with(".idx") {
            return Ok(());
        }
        return missing(name);
    }
    let placed = store::exports_dir(ends.to_dir).join(name);
    if placed != local {
        std::fs::create_dir_all(store::exports_dir(ends.to_dir)).map_err(|e| err(name, e))?;
        std::fs::copy(&local, &placed).map_err(|e| err(name, e))?;
    }
    blobs::publish(ends.to, ends.to_dir, name)
        .await
        .map_err(|e| err(name, e))
}

fn missing(name: &str) -> Result<(), String> {
    Err(format!(
        "snapshot file {name} is missing from the source (give the source's --data-dir)"
    ))
}

/// Reads the target back: the same rows and sums as the source, every snapshot hashing to its name.
async fn verify(
    ends: &Ends<'_>,
    source: &[(String, i64, String)],
    files: &[String],
) -> Result<(), String> {
    let mut read = ends
        .to
        .begin_read()
        .await
        .map_err(|e| err("cannot read the target back", e))?;
    for (t, n, sum) in source {
        let cols = tables::columns(&mut *read, ends.to.backend, t)
            .await
            .map_err(|e| err(t, e))?;
        let mut hasher = Sha256::new();
        let mut m = 0i64;
        let mut stream = Box::pin(tables::rows(&mut *read, t, &cols).map_err(|e| err(t, e))?);
        while let Some(row) = stream.try_next().await.map_err(|e| err(t, e))? {
            for v in &row {
                v.hash_into(&mut hasher);
            }
            m += 1;
        }
        let got = hex::encode(hasher.finalize());
        if m != *n || got != *sum {
            return Err(format!(
                "verification failed for table {t}: {n} rows (sha256 {sum}) read, {m} rows (sha256 {got}) in the target"
            ));
        }
    }
    read.rollback().await.ok();
    for name in files.iter().filter(|n| !n.ends_with(".idx")) {
        let dir = tempfile_dir(ends.to_dir)?;
        let found = blobs::ensure_local(ends.to, &dir, name)
            .await
            .map_err(|e| err(name, e))?;
        let path = if ends.to.backend == Backend::Postgres {
            store::exports_dir(&dir).join(name)
        } else {
            store::exports_dir(ends.to_dir).join(name)
        };
        if !found && !path.exists() {
            return Err(format!(
                "verification failed: snapshot {name} is not in the target"
            ));
        }
        let hash = sha256_file(&path).map_err(|e| err(name, e))?;
        if !name.starts_with(&hash) {
            return Err(format!(
                "verification failed: snapshot {name} hashes to {hash} in the target"
            ));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

/// A fresh directory under the target's data directory, to fetch files into for checking.
fn tempfile_dir(to_dir: &Path) -> Result<PathBuf, String> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| err("random", e))?;
    let dir = to_dir.join(format!("copy-check-{}", hex::encode(random)));
    std::fs::create_dir_all(&dir).map_err(|e| err("check directory", e))?;
    Ok(dir)
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}
