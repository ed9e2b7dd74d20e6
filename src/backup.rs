//! `quorum backup` and `quorum restore`: the database and the export snapshots in one archive.
//!
//! The archive is a tar file (gzip-compressed when its name ends in `.gz` or `.tgz`) holding
//! `quorum.db` (a transactionally consistent copy made with `VACUUM INTO` while the server runs),
//! every snapshot file of `exports/`, and last `manifest.json`: each file's path, size and sha256,
//! the schema version and when it was made. Snapshots are content-addressed and written before the
//! database records them, so every snapshot the copied database names is already on disk when the
//! files are read after it. A restore unpacks into an empty data directory, checks every file
//! against the manifest, opens the database (applying newer migrations) and runs SQLite's integrity
//! check; any failure removes what it wrote.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::{self, Db};

/// The archive's name for the database.
pub const DB_NAME: &str = "quorum.db";
/// The archive's name for the manifest (the last entry).
pub const MANIFEST: &str = "manifest.json";
/// What `format` says in every manifest.
pub const FORMAT: &str = "quorum-backup/1";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    /// The latest migration applied to the copied database.
    pub schema_version: i64,
    /// RFC 3339, and the same instant in unix milliseconds.
    pub created_at: String,
    pub created_at_ms: i64,
    pub quorum_version: String,
    pub files: Vec<FileEntry>,
}

/// What a backup or a restore did.
#[derive(Clone, Debug)]
pub struct Summary {
    pub files: usize,
    pub bytes: u64,
    pub schema_version: i64,
}

/// A reader that hashes and counts what passes through.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    size: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

fn hashing<R: Read>(inner: R) -> Hashing<R> {
    Hashing {
        inner,
        hash: Sha256::new(),
        size: 0,
    }
}

fn gzipped(path: &Path) -> bool {
    let name = path.to_string_lossy();
    name.ends_with(".gz") || name.ends_with(".tgz")
}

/// A sibling of `path` with a suffix added to its name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Writes the archive of `data_dir` (whose database is `db`) to `out`, a new file. Safe while the
/// server runs. A failure leaves no `out` behind.
pub async fn create(db: &Db, data_dir: &Path, out: &Path, now_ms: i64) -> Result<Summary, String> {
    if out.exists() {
        return Err(format!(
            "{} exists already; choose a new file",
            out.display()
        ));
    }
    let staged_db = sibling(out, ".db-partial");
    let partial = sibling(out, ".partial");
    let _ = std::fs::remove_file(&staged_db);
    let schema_version = db::backup::schema_version(&db.pool)
        .await
        .map_err(|e| format!("cannot read the schema version: {e}"))?;
    let staging = sibling(out, ".staging");
    let exports = match db.backend {
        db::Backend::Sqlite => {
            db::backup::vacuum_into(&db.pool, &staged_db)
                .await
                .map_err(|e| format!("cannot copy the database: {e}"))?;
            crate::export::store::exports_dir(data_dir)
        }
        // PostgreSQL: the archive holds the same SQLite database and files as on SQLite, made by
        // `quorum copy` from one consistent snapshot, so a backup restores anywhere (and goes
        // back to PostgreSQL with `quorum copy`). `pg_dump` is the native alternative.
        db::Backend::Postgres => {
            let _ = std::fs::remove_dir_all(&staging);
            std::fs::create_dir_all(&staging)
                .map_err(|e| format!("cannot create {}: {e}", staging.display()))?;
            let copied = stage_postgres(db, data_dir, &staging, &staged_db).await;
            if let Err(e) = copied {
                let _ = std::fs::remove_dir_all(&staging);
                let _ = std::fs::remove_file(&staged_db);
                return Err(e);
            }
            crate::export::store::exports_dir(&staging)
        }
    };
    let (staged, part, target) = (staged_db.clone(), partial.clone(), out.to_path_buf());
    let written = tokio::task::spawn_blocking(move || {
        write_archive(&staged, &exports, &part, schema_version, now_ms)
            .and_then(|s| std::fs::rename(&part, &target).map(|()| s))
    })
    .await
    .map_err(|e| format!("backup failed: {e}"))
    .and_then(|r| r.map_err(|e| format!("backup failed: {e}")));
    let _ = std::fs::remove_file(&staged_db);
    let _ = std::fs::remove_dir_all(&staging);
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// Copies a PostgreSQL deployment into the SQLite file `staged_db`, its snapshot files into
/// `staging/exports/`.
async fn stage_postgres(
    db: &Db,
    data_dir: &Path,
    staging: &Path,
    staged_db: &Path,
) -> Result<(), String> {
    let target = Db::open(&format!("sqlite://{}", staged_db.display()))
        .await
        .map_err(|e| format!("cannot make the database copy: {e}"))?;
    let ends = crate::copy::Ends {
        from: db,
        from_dir: data_dir,
        to: &target,
        to_dir: staging,
    };
    let result = crate::copy::run(&ends, &|_| {}).await;
    target.pool.close().await;
    result.map(|_| ())
}

fn write_archive(
    db_copy: &Path,
    exports: &Path,
    out: &Path,
    schema_version: i64,
    now_ms: i64,
) -> io::Result<Summary> {
    let file = File::options().write(true).create_new(true).open(out)?;
    let sink: Box<dyn Write> = if gzipped(out) {
        Box::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::default(),
        ))
    } else {
        Box::new(file)
    };
    let mut tar = tar::Builder::new(sink);
    let mut files = vec![append(&mut tar, db_copy, DB_NAME)?];
    let mut names: Vec<PathBuf> = match std::fs::read_dir(exports) {
        Ok(dir) => dir
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.path())
            .collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    names.sort();
    for path in names {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        files.push(append(&mut tar, &path, &format!("exports/{name}"))?);
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        schema_version,
        created_at: crate::clock::rfc3339(now_ms),
        created_at_ms: now_ms,
        quorum_version: env!("CARGO_PKG_VERSION").into(),
        files,
    };
    let json = serde_json::to_vec_pretty(&manifest).map_err(io::Error::other)?;
    let mut header = header_for(json.len() as u64, now_ms);
    tar.append_data(&mut header, MANIFEST, json.as_slice())?;
    let mut sink = tar.into_inner()?;
    sink.flush()?;
    drop(sink);
    // The archive is complete on disk before it takes its name.
    File::open(out)?.sync_all()?;
    Ok(Summary {
        files: manifest.files.len(),
        bytes: manifest.files.iter().map(|f| f.size).sum(),
        schema_version,
    })
}

fn header_for(size: u64, now_ms: i64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o600);
    header.set_mtime((now_ms.max(0) / 1000) as u64);
    header.set_cksum();
    header
}

/// Adds one file, hashing it as it is read.
fn append<W: Write>(tar: &mut tar::Builder<W>, path: &Path, name: &str) -> io::Result<FileEntry> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let mut header = header_for(meta.len(), mtime);
    let mut reader = hashing(file.take(meta.len()));
    tar.append_data(&mut header, name, &mut reader)?;
    if reader.size != meta.len() {
        return Err(io::Error::other(format!(
            "{name} changed while it was read"
        )));
    }
    Ok(FileEntry {
        path: name.into(),
        size: reader.size,
        sha256: hex::encode(reader.hash.finalize()),
    })
}

/// Unpacks `archive` into `data_dir`, which must be missing or empty, checks every file against
/// the manifest and opens the database. On any failure nothing is left in `data_dir`.
pub async fn restore(archive: &Path, data_dir: &Path) -> Result<Summary, String> {
    if let Ok(mut entries) = std::fs::read_dir(data_dir)
        && entries.next().is_some()
    {
        return Err(format!(
            "{} is not empty: restore only into a new or empty data directory",
            data_dir.display()
        ));
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let result = restore_into(archive, data_dir).await;
    if result.is_err() {
        clear_dir(data_dir);
    }
    result
}

fn clear_dir(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
        }
    }
}

async fn restore_into(archive: &Path, data_dir: &Path) -> Result<Summary, String> {
    let (a, d) = (archive.to_path_buf(), data_dir.to_path_buf());
    let manifest = tokio::task::spawn_blocking(move || unpack(&a, &d))
        .await
        .map_err(|e| format!("restore failed: {e}"))??;
    let url = format!("sqlite://{}", data_dir.join(DB_NAME).display());
    let db = Db::open(&url)
        .await
        .map_err(|e| format!("the restored database does not open: {e}"))?;
    let check = db::backup::integrity_check(&db.pool)
        .await
        .map_err(|e| format!("cannot check the restored database: {e}"))?;
    db.pool.close().await;
    if check != "ok" {
        return Err(format!("the restored database is damaged: {check}"));
    }
    Ok(Summary {
        files: manifest.files.len(),
        bytes: manifest.files.iter().map(|f| f.size).sum(),
        schema_version: manifest.schema_version,
    })
}

/// The one place an archive's path may land: `quorum.db`, `manifest.json` or `exports/<name>`.
fn allowed(path: &Path) -> Option<String> {
    let parts: Vec<Component> = path.components().collect();
    let name = |c: &Component| match c {
        Component::Normal(n) => n.to_str().map(str::to_string),
        _ => None,
    };
    match parts.as_slice() {
        [one] => name(one).filter(|n| n == DB_NAME || n == MANIFEST),
        [dir, file] if name(dir).as_deref() == Some("exports") => {
            name(file).map(|f| format!("exports/{f}"))
        }
        _ => None,
    }
}

fn unpack(archive: &Path, data_dir: &Path) -> Result<Manifest, String> {
    let mut file =
        File::open(archive).map_err(|e| format!("cannot open {}: {e}", archive.display()))?;
    let mut magic = [0u8; 2];
    let gz = file.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b];
    let file =
        File::open(archive).map_err(|e| format!("cannot open {}: {e}", archive.display()))?;
    let source: Box<dyn Read> = if gz {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut tar = tar::Archive::new(source);
    let mut seen: Vec<FileEntry> = Vec::new();
    let mut manifest: Option<Manifest> = None;
    let bad = |e: io::Error| format!("the archive cannot be read: {e}");
    for entry in tar.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let raw = entry.path().map_err(bad)?.into_owned();
        if !entry.header().entry_type().is_file() {
            if entry.header().entry_type().is_dir() {
                continue;
            }
            return Err(format!("unexpected entry {} in the archive", raw.display()));
        }
        let Some(path) = allowed(&raw) else {
            return Err(format!("unexpected file {} in the archive", raw.display()));
        };
        if path == MANIFEST {
            let mut text = Vec::new();
            (&mut entry)
                .take(16 << 20)
                .read_to_end(&mut text)
                .map_err(bad)?;
            let m: Manifest = serde_json::from_slice(&text)
                .map_err(|e| format!("the manifest cannot be read: {e}"))?;
            manifest = Some(m);
            continue;
        }
        if seen.iter().any(|f| f.path == path) {
            return Err(format!("{path} appears twice in the archive"));
        }
        let target = data_dir.join(&path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let mut out = File::options()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        let mut reader = hashing(&mut entry);
        io::copy(&mut reader, &mut out).map_err(bad)?;
        out.sync_all()
            .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        seen.push(FileEntry {
            path,
            size: reader.size,
            sha256: hex::encode(reader.hash.finalize()),
        });
    }
    let manifest = manifest.ok_or("the archive has no manifest.json: not a quorum backup")?;
    if manifest.format != FORMAT {
        return Err(format!("unknown backup format {:?}", manifest.format));
    }
    verify(&manifest, &seen)?;
    Ok(manifest)
}

/// Every file of the manifest is there with its size and sha256, and nothing else is.
pub fn verify(manifest: &Manifest, seen: &[FileEntry]) -> Result<(), String> {
    if !manifest.files.iter().any(|f| f.path == DB_NAME) {
        return Err("the manifest lists no database".into());
    }
    for want in &manifest.files {
        match seen.iter().find(|f| f.path == want.path) {
            None => return Err(format!("{} is missing from the archive", want.path)),
            Some(got) if got.size != want.size || got.sha256 != want.sha256 => {
                return Err(format!(
                    "{} does not match its checksum (sha256 {} of {} bytes, manifest says {} of {} bytes)",
                    want.path, got.sha256, got.size, want.sha256, want.size
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = seen
        .iter()
        .find(|f| !manifest.files.iter().any(|w| w.path == f.path))
    {
        return Err(format!(
            "{} is in the archive but not in its manifest",
            extra.path
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_paths_unpack() {
        assert_eq!(
            allowed(Path::new("quorum.db")).as_deref(),
            Some("quorum.db")
        );
        assert_eq!(
            allowed(Path::new("exports/ab.jsonl")).as_deref(),
            Some("exports/ab.jsonl")
        );
        for bad in [
            "../x",
            "/etc/passwd",
            "exports/../quorum.db",
            "exports/a/b",
            "other.txt",
            "exports",
        ] {
            assert_eq!(allowed(Path::new(bad)), None, "{bad}");
        }
    }
}
