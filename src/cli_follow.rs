//! `quorum import --follow FILE|-`: items that stream in (a prediction log, a queue dumped to a
//! file) imported as they arrive. The file is read like `tail -f` (standard input until it
//! closes); complete lines are gathered into batches — up to `--batch` lines, or whatever came
//! within a second — and each batch is one ordinary import through the same service as every
//! other import: all or nothing, duplicates of earlier lines skipped. A bad line stops the run
//! with its line number in the whole stream; everything before it is kept. SIGTERM or Ctrl-C
//! imports what is pending and stops.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::clock::Clock;
use crate::db::{self, Db};
use crate::domain::ids::TaskId;
use crate::domain::import::Format;
use crate::error::AppError;

/// How long a partial batch waits for more lines.
const LINGER: Duration = Duration::from_secs(1);
/// How often a file at its end is looked at again.
const POLL: Duration = Duration::from_millis(200);

enum Event {
    Line(String),
    End,
    Failed(String),
}

/// Reads `path` (or standard input for `-`) line by line, following a file's growth.
fn reader_thread(path: PathBuf, tx: mpsc::Sender<Event>) {
    let stdin = path.as_os_str() == "-";
    let input: Box<dyn Read> = if stdin {
        Box::new(std::io::stdin())
    } else {
        match std::fs::File::open(&path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                let _ = tx.blocking_send(Event::Failed(format!(
                    "cannot open {}: {e}",
                    path.display()
                )));
                return;
            }
        }
    };
    let mut reader = BufReader::new(input);
    let mut partial = String::new();
    loop {
        let mut buf = String::new();
        match reader.read_line(&mut buf) {
            Ok(0) => {
                if stdin {
                    if !partial.trim().is_empty() {
                        let _ = tx.blocking_send(Event::Line(std::mem::take(&mut partial)));
                    }
                    let _ = tx.blocking_send(Event::End);
                    return;
                }
                // A file at its end: wait for more (a line still being written stays partial).
                if tx.is_closed() {
                    return;
                }
                std::thread::sleep(POLL);
            }
            Ok(_) => {
                partial.push_str(&buf);
                if partial.ends_with('\n')
                    && tx
                        .blocking_send(Event::Line(std::mem::take(&mut partial)))
                        .is_err()
                {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.blocking_send(Event::Failed(format!("reading: {e}")));
                return;
            }
        }
    }
}

/// Runs the follow loop until the input ends (standard input), a signal comes, or a line is bad.
pub async fn follow(
    db: &Db,
    data_dir: &std::path::Path,
    task: TaskId,
    path: PathBuf,
    batch: usize,
) -> Result<(), String> {
    let task = db::tasks::get(&db.pool, task)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("there is no task {}", task))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "stdin".into());
    let (tx, mut rx) = mpsc::channel::<Event>(batch.max(1) * 2);
    std::thread::spawn(move || reader_thread(path, tx));
    let mut stop = Box::pin(crate::server::shutdown_signal());
    let clock = Clock::default();
    let (mut lines_seen, mut imported, mut skipped, mut batches) = (0u64, 0u64, 0u64, 0u64);
    let mut pending: Vec<String> = Vec::new();
    let mut first_line_of_batch = 1u64;
    let mut ended = false;
    while !ended {
        let deadline = tokio::time::sleep(LINGER);
        tokio::pin!(deadline);
        // Gather a batch: until it is full, a second passes with lines pending, or the input ends.
        loop {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Some(Event::Line(l)) => {
                        if pending.is_empty() {
                            first_line_of_batch = lines_seen + 1;
                        }
                        lines_seen += 1;
                        if !l.trim().is_empty() {
                            pending.push(l);
                        }
                        if pending.len() >= batch { break; }
                    }
                    Some(Event::Failed(e)) => return Err(e),
                    Some(Event::End) | None => { ended = true; break; }
                },
                _ = &mut deadline, if !pending.is_empty() => break,
                _ = &mut stop => { ended = true; break; }
            }
        }
        if pending.is_empty() {
            continue;
        }
        let body = std::mem::take(&mut pending).concat();
        let job = crate::ingest::ImportJob {
            task: &task,
            user: None,
            format: Format::Jsonl,
            filename: &name,
        };
        let now_clock = clock.clone();
        let result = crate::ingest::import_items(
            db,
            data_dir,
            move || now_clock.now_ms(),
            job,
            std::io::Cursor::new(body.into_bytes()),
        )
        .await;
        match result {
            Ok(s) => {
                batches += 1;
                imported += s.imported;
                skipped += s.skipped_duplicates;
                eprint!(
                    "\rfollowing: {lines_seen} lines read, {imported} items imported, {skipped} already there, {batches} batches"
                );
            }
            Err(AppError::BadRequest { message, line, .. }) => {
                let at = line
                    .map(|l| format!(" (line {} of the stream)", first_line_of_batch + l - 1))
                    .unwrap_or_default();
                eprintln!();
                return Err(format!(
                    "stopped: {message}{at}; the batch from line {first_line_of_batch} was not imported, \
                     everything before it was ({imported} items)"
                ));
            }
            Err(e) => {
                eprintln!();
                return Err(format!(
                    "stopped: {e}; {imported} items were imported before"
                ));
            }
        }
    }
    eprintln!();
    println!(
        "imported {imported} items into task {} ({skipped} already there, skipped) from {lines_seen} lines in {batches} batches",
        task.id
    );
    Ok(())
}
