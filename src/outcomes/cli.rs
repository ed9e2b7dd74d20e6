//! `quorum outcomes --task ID FILE.jsonl`: records a file of outcomes (one JSON object a line,
//! or `-` for standard input) through the same service as `POST /api/v1/tasks/{id}/outcomes`,
//! all or nothing, with a progress bar; a bad line is named by its number.

use std::io::BufRead;
use std::path::PathBuf;

use serde_json::Value;

use super::service::{self, Actor};
use crate::clock::Clock;
use crate::db::{self, Db};
use crate::domain::ids::TaskId;
use crate::error::AppError;

#[derive(clap::Args, Debug)]
pub struct OutcomesArgs {
    /// The task whose items the outcomes are for.
    #[arg(long)]
    pub task: i64,
    /// JSON lines `{"external_id", "value", "source", "observed_at"}`, or - for standard input.
    pub file: PathBuf,
}

/// Runs `quorum outcomes`.
pub async fn run(db: &Db, args: OutcomesArgs) -> Result<(), String> {
    let task = db::tasks::get(&db.pool, TaskId(args.task))
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("there is no task {}", args.task))?;
    let reader: Box<dyn BufRead> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(&args.file)
            .map_err(|e| format!("cannot open {}: {e}", args.file.display()))?;
        Box::new(std::io::BufReader::new(f))
    };
    // Line numbers of the entries, for messages (blank lines are skipped).
    let mut lines: Vec<usize> = Vec::new();
    let mut entries: Vec<Value> = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| format!("nothing was recorded: line {}: {e}", n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&line)
            .map_err(|e| format!("nothing was recorded: line {}: not JSON ({e})", n + 1))?;
        lines.push(n + 1);
        entries.push(v);
    }
    let bar = indicatif::ProgressBar::new(entries.len() as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} recording {bar:40} {pos}/{len} outcomes ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let name = |i: usize| format!("line {}", lines.get(i).copied().unwrap_or(i + 1));
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let who = Actor { user: None, ip: "" };
    let now = Clock::default().now_ms();
    let result = service::record(db, &task, &entries, &name, who, now, &progress).await;
    bar.finish_and_clear();
    match result {
        Ok(r) => {
            println!(
                "recorded {} outcomes for task {}: {} new, {} replaced, {} unchanged; {} items resolved by them, {} sent to adjudication",
                r.received,
                args.task,
                r.stored,
                r.replaced,
                r.unchanged,
                r.resolved,
                r.to_adjudication
            );
            Ok(())
        }
        Err(AppError::BadRequest { message, .. }) => {
            Err(format!("nothing was recorded: {message}"))
        }
        Err(e) => Err(format!("nothing was recorded: {e}")),
    }
}
