//! `quorum-bench`: the end-to-end load generator (issue 6).
//!
//! It drives a running `quorum serve` over loopback HTTP exactly as clients do: creates a task,
//! recruits R raters with API tokens, imports N generated items, lets R concurrent simulated
//! raters lease shards and submit labels (with submission keys) until every item has its `k`
//! labels or the time cap passes, then resolves and exports where those routes exist. It reports
//! throughput, latency percentiles (HDR histograms), errors by status, the server's peak RSS and
//! CPU seconds (from /proc, when it started the server itself) and the database size, and it
//! checks the labeling invariants at the end: a broken invariant makes it exit non-zero.
//!
//! `quorum-bench --spawn` starts `quorum serve` on a temporary data directory by itself;
//! `--spawn-instances N --database postgres://…` starts N of them on one (empty) database, each
//! with its own data directory. Without either, point it at running servers with `--url` (repeated
//! for several instances of one deployment) and an admin API token with `--token`. Server CPU
//! and peak RSS are summed over the spawned instances.
//!
//! The modules follow a run: `args` (the command line), `server` (spawning and stopping the server
//! under test), `api` (HTTP helpers), `setup` (raters through the admin API), `data` (generated
//! items and answers), `rater` (the labeling workload), `drive` (one run, step by step), `export`
//! (timed exports), `db_checks` (invariants in the store), `procfs` (CPU and memory from /proc)
//! and `report` (histograms, figures and the printed table).

// The load generator checks invariants by reading the store itself (db_checks.rs), and may stop
// on a broken setup: it is a measuring tool, not the server.
#![allow(clippy::disallowed_methods, clippy::unwrap_used, clippy::expect_used)]

mod api;
mod args;
mod data;
mod db_checks;
mod drive;
mod export;
mod procfs;
mod rater;
mod report;
mod server;
mod setup;

use std::path::{Path, PathBuf};

use quorum::db::Backend;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use serde_json::json;

use crate::args::Args;
use crate::drive::drive;
use crate::procfs::{machine, proc_cpu_s, proc_status_kb};
use crate::report::{Check, InstanceFigure, Report, print_table};
use crate::server::{given_servers, spawn_server, stop_on_signal};

fn file_size(p: &Path) -> Option<u64> {
    std::fs::metadata(p).ok().map(|m| m.len())
}

async fn run(args: Args, report: &mut Report) -> Result<(), String> {
    tokio::spawn(stop_on_signal());
    report.machine = machine();
    report.config = json!({"items": args.items, "raters": args.raters, "overlap": args.overlap,
        "shard_size": args.shard_size, "lease_minutes": args.lease_minutes, "think_ms": args.think_ms, "rate": args.rate,
        "time_cap_s": args.time_cap, "retry_every": args.retry_every, "spawn": args.spawning(),
        "instances": args.instances(), "export_formats": args.formats(), "export_all": args.export_all});
    let backend = args
        .database
        .as_deref()
        .and_then(Backend::of_url)
        .unwrap_or(Backend::Sqlite);
    report.backend = backend.name().to_string();
    report.instances = args.instances() as usize;
    let t_setup = Instant::now();
    let mut server = if args.spawning() {
        spawn_server(&args).await?
    } else {
        given_servers(&args)
    };
    report.server_binary = server.binary.as_ref().map(|b| b.display().to_string());
    let result = drive(&args, &mut server, report, t_setup).await;
    if let Some(s) = report.server.as_mut() {
        for inst in &server.instances {
            let Some(pid) = inst.pid else { continue };
            s.instances.push(InstanceFigure {
                pid,
                base: inst.base.clone(),
                peak_rss_mb: proc_status_kb(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0,
                cpu_s_total: proc_cpu_s(&pid.to_string()).unwrap_or(0.0),
            });
        }
        s.peak_rss_mb = s.instances.iter().map(|i| i.peak_rss_mb).sum();
        s.cpu_s_total = s.instances.iter().map(|i| i.cpu_s_total).sum();
    }
    server.stop().await;
    if backend == Backend::Sqlite
        && let Some(db) = server.sqlite_file(&args)
    {
        report.db_bytes = file_size(&db);
        report.db_wal_bytes = file_size(&PathBuf::from(format!("{}-wal", db.display())));
    }
    report.client_cpu_s = proc_cpu_s("self").unwrap_or(0.0);
    if let Some(t) = &server.temp {
        let failed = result.is_err() || report.invariants.iter().any(|c| !c.ok);
        if args.keep || failed {
            report.notes.push(format!(
                "data directory and server log kept in {}",
                t.display()
            ));
        } else {
            let _ = std::fs::remove_dir_all(t);
        }
    }
    result
}

fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(e) = args.check() {
        eprintln!("quorum-bench: {e}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("quorum-bench: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let json_path = args.json.clone();
    let mut report = Report::default();
    let result = runtime.block_on(run(args, &mut report));
    print_table(&report);
    if let Some(p) = json_path {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        if let Err(e) = std::fs::write(&p, text + "\n") {
            eprintln!("quorum-bench: cannot write {}: {e}", p.display());
        }
    }
    if let Err(e) = result {
        eprintln!("quorum-bench: FAILED: {e}");
        return ExitCode::from(2);
    }
    let broken: Vec<&Check> = report.invariants.iter().filter(|c| !c.ok).collect();
    if !broken.is_empty() {
        eprintln!();
        for c in broken {
            eprintln!("quorum-bench: INVARIANT BROKEN: {}: {}", c.name, c.detail);
        }
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
