//! Where snapshot files live and how they get there.
//!
//! Files live in `<data-dir>/exports/`, outside anything the server serves statically. A snapshot
//! is written to a temporary file in `exports/tmp/` while its SHA-256 is computed on the way,
//! synced to disk, then renamed to `<sha256>.<ext>`: content-addressed, so the same content is
//! one file and a file's name proves its bytes. Next to it, `<sha256>.idx` holds the row index
//! (item id and label fingerprint per row) that the next snapshot's diff is computed from.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The directory of snapshot files.
pub fn exports_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("exports")
}

fn tmp_dir(data_dir: &Path) -> PathBuf {
    exports_dir(data_dir).join("tmp")
}

/// Whether a stored file name is one this module makes (checked before any file is opened).
pub fn is_snapshot_name(name: &str) -> bool {
    match name.split_once('.') {
        Some((hash, ext)) => {
            hash.len() == 64
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                && crate::export::Format::ALL.iter().any(|f| {
                    f.extension() == ext
                        || crate::export::Layout::ALL
                            .iter()
                            .any(|l| ext == format!("{}.{}.tar", l.as_str(), f.extension()))
                })
        }
        None => false,
    }
}

/// A temporary file that is removed when dropped unless it was moved into place.
pub struct TempFile {
    path: PathBuf,
    kept: bool,
}

impl TempFile {
    /// Creates an empty temporary file under the data directory.
    pub fn create(data_dir: &Path, suffix: &str) -> io::Result<(TempFile, File)> {
        let dir = tmp_dir(data_dir);
        std::fs::create_dir_all(&dir)?;
        let mut random = [0u8; 12];
        getrandom::fill(&mut random).map_err(|e| io::Error::other(e.to_string()))?;
        let path = dir.join(format!("{}.{suffix}", hex::encode(random)));
        let file = File::options().write(true).create_new(true).open(&path)?;
        Ok((TempFile { path, kept: false }, file))
    }

    /// Where the file is (while it is a temporary file).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the file to `<exports>/<name>`. When a file of that name exists it holds the same
    /// bytes (the name is their hash), so the new copy is simply dropped.
    pub fn persist(mut self, data_dir: &Path, name: &str) -> io::Result<()> {
        let dir = exports_dir(data_dir);
        let target = dir.join(name);
        if target.exists() {
            return Ok(());
        }
        std::fs::rename(&self.path, &target)?;
        self.kept = true;
        // The rename is durable only once the directory itself is synced.
        File::open(&dir)?.sync_all()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Removes temporary files older than a day (left by a crash; younger ones may be in use).
pub fn clean_tmp(data_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp_dir(data_dir)) else {
        return;
    };
    let day = std::time::Duration::from_secs(86_400);
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > day);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// A buffered file writer that hashes and counts every byte written.
pub struct Sink {
    inner: BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
}

/// What a finished file is: its SHA-256 (hex) and size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub sha256: String,
    pub bytes: u64,
}

impl Sink {
    pub fn new(file: File) -> Sink {
        Sink {
            inner: BufWriter::with_capacity(1 << 20, file),
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Flushes and syncs the file to disk.
    pub fn finish(self) -> io::Result<Written> {
        let file = self.inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(Written {
            sha256: hex::encode(self.hasher.finalize()),
            bytes: self.bytes,
        })
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the row index: per row, the item id and the label fingerprint (0 = no label), as two
/// little-endian 64-bit numbers, in item id order.
pub struct IndexWriter {
    out: BufWriter<File>,
}

impl IndexWriter {
    pub fn new(file: File) -> IndexWriter {
        IndexWriter {
            out: BufWriter::with_capacity(1 << 16, file),
        }
    }
    pub fn push(&mut self, item_id: i64, label: u64) -> io::Result<()> {
        self.out.write_all(&item_id.to_le_bytes())?;
        self.out.write_all(&label.to_le_bytes())
    }
    pub fn finish(self) -> io::Result<()> {
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    }
}

/// Reads a row index back, entry by entry.
pub struct IndexReader {
    input: BufReader<File>,
}

impl IndexReader {
    /// The index of the snapshot whose content hash is `sha256`, if its file is there.
    pub fn open(data_dir: &Path, sha256: &str) -> Option<IndexReader> {
        let file = File::open(exports_dir(data_dir).join(format!("{sha256}.idx"))).ok()?;
        Some(IndexReader {
            input: BufReader::with_capacity(1 << 16, file),
        })
    }

    /// The next `(item id, label fingerprint)`, or `None` at the end (a torn tail counts as the end).
    pub fn next_entry(&mut self) -> Option<(i64, u64)> {
        let mut buf = [0u8; 16];
        self.input.read_exact(&mut buf).ok()?;
        let (a, b) = buf.split_at(8);
        Some((
            i64::from_le_bytes(a.try_into().ok()?),
            u64::from_le_bytes(b.try_into().ok()?),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names() {
        let h = "a".repeat(64);
        assert!(is_snapshot_name(&format!("{h}.jsonl")));
        assert!(is_snapshot_name(&format!("{h}.parquet")));
        assert!(!is_snapshot_name(&format!("{h}.html")));
        assert!(!is_snapshot_name(&format!("{}.csv", "A".repeat(64))));
        assert!(!is_snapshot_name("../../etc/passwd"));
        assert!(!is_snapshot_name(&format!("{h}.csv/../x")));
    }

    #[test]
    fn sink_hashes_and_temp_files_vanish() {
        let dir = tempfile::tempdir().unwrap();
        let (tmp, file) = TempFile::create(dir.path(), "part").unwrap();
        let path = tmp.path.clone();
        let mut sink = Sink::new(file);
        sink.write_all(b"abc").unwrap();
        let w = sink.finish().unwrap();
        assert_eq!(w.bytes, 3);
        assert_eq!(
            w.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(path.exists());
        drop(tmp);
        assert!(!path.exists(), "an abandoned temporary file is removed");

        let (tmp, file) = TempFile::create(dir.path(), "part").unwrap();
        let mut ix = IndexWriter::new(file);
        ix.push(5, 9).unwrap();
        ix.push(7, 0).unwrap();
        ix.finish().unwrap();
        tmp.persist(dir.path(), &format!("{}.idx", w.sha256))
            .unwrap();
        let mut r = IndexReader::open(dir.path(), &w.sha256).unwrap();
        assert_eq!(r.next_entry(), Some((5, 9)));
        assert_eq!(r.next_entry(), Some((7, 0)));
        assert_eq!(r.next_entry(), None);
    }
}
