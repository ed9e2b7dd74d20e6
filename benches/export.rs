//! Export benchmark (`harness = false`): `cargo bench --bench export [-- --items N --dir DIR]`.
//!
//! Builds a store with one task of N resolved items (default 1,000,000; 3 labels each from 30
//! raters, so 3,000,000 labels; three options, 30 % of items decided by majority, the rest
//! unanimous), then makes one snapshot per format in process with `quorum::export::snapshot::create`
//! (the code behind the API and the CLI) and prints a markdown table: wall time, rows per second,
//! file size and the process's peak RSS during the export (`VmHWM` from `/proc/self/status`,
//! reset before each export by writing `5` to `/proc/self/clear_refs`).
//!
//! With `--dir DIR` the store is kept in DIR (made if missing, reused if it holds the task), so
//! the release binary can be measured on it from the outside, e.g.
//! `/usr/bin/time -v target/release/quorum export --data-dir DIR --task 1 --format parquet --out /dev/null`.
//! When `target/release/quorum` and `/usr/bin/time` exist the bench runs exactly that for each
//! format and prints a second table (process wall time and maximum resident set size).
//!
//! Each export runs `--repeat` times (default 3); the tables give the median and the best wall
//! time and the largest peak, since the machine is shared and single runs are noisy. The load
//! average before the runs is printed too.
//!
//! Run without `--bench` (as `cargo test --benches` does) it only does a tiny smoke run.

// A benchmark stops on a broken setup and builds its store directly; the production lints do not apply.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use quorum::db::Db;
use quorum::domain::ids::TaskId;
use quorum::export::snapshot::{self, Job};
use quorum::export::{ExportRequest, Format};

fn main() {
    let mut items: u64 = 1_000_000;
    let mut dir: Option<PathBuf> = None;
    let mut bench = false;
    let mut repeat: usize = 3;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => bench = true,
            "--items" => items = args.next().and_then(|s| s.parse().ok()).unwrap_or(items),
            "--dir" => dir = args.next().map(PathBuf::from),
            "--repeat" => repeat = args.next().and_then(|s| s.parse().ok()).unwrap_or(repeat),
            _ => {}
        }
    }
    if !bench {
        items = 2_000;
        repeat = 1;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = dir.unwrap_or_else(|| temp.path().to_path_buf());
    runtime.block_on(run(items, &dir, bench, repeat.max(1)));
}

/// Median and best of some timings, in seconds.
fn median_best(mut secs: Vec<f64>) -> (f64, f64) {
    secs.sort_by(f64::total_cmp);
    (secs[secs.len() / 2], secs[0])
}

async fn run(items: u64, dir: &Path, bench: bool, repeat: usize) {
    std::fs::create_dir_all(dir).expect("data dir");
    let url = format!("sqlite://{}", dir.join("quorum.db").display());
    let db = Db::open(&url).await.expect("store");
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM resolutions WHERE task_id = 1")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    if existing as u64 != items {
        let started = Instant::now();
        generate(&db, items).await;
        println!(
            "generated {items} resolved items, {} labels in {:.1} s",
            items * 3,
            started.elapsed().as_secs_f64()
        );
    }
    let task = quorum::db::tasks::get(&db.pool, TaskId(1))
        .await
        .expect("task")
        .expect("task 1");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("\nload average before the runs: {}", load.trim());
    println!(
        "\n| format | rows | wall time, median of {repeat} (best) | rows/s (median) | file size | peak RSS during the export |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for format in Format::ALL {
        let (mut secs, mut peak, mut last) = (Vec::new(), 0u64, None);
        for _ in 0..repeat {
            let settings = ExportRequest {
                format: format.as_str().into(),
                splits: Some(quorum::export::SplitsRequest {
                    train: 0.8,
                    validation: 0.1,
                    test: 0.1,
                    seed: 42,
                    group_by: None,
                }),
                ..ExportRequest::default()
            }
            .check()
            .expect("settings");
            reset_peak();
            let started = Instant::now();
            let job = Job {
                task: task.clone(),
                settings,
                created_by: None,
                ip: String::new(),
                now: 0,
            };
            let made = snapshot::create(&db, dir, job, &|_, _| {})
                .await
                .expect("export");
            secs.push(started.elapsed().as_secs_f64());
            peak = peak.max(peak_kib().unwrap_or(0));
            assert_eq!(made.rows as u64, items, "every resolved item exported");
            last = Some(made);
        }
        let (median, best) = median_best(secs);
        let made = last.expect("one run at least");
        println!(
            "| {} | {} | {median:.2} s ({best:.2} s) | {:.0} | {:.1} MiB | {} |",
            format.as_str(),
            made.rows,
            made.rows as f64 / median,
            made.bytes as f64 / 1_048_576.0,
            mib(Some(peak))
        );
    }
    let binary = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/quorum");
    if bench && binary.exists() && Path::new("/usr/bin/time").exists() {
        println!(
            "\n`/usr/bin/time -v target/release/quorum export --data-dir DIR --task 1 --format F --out /dev/null --train 0.8 --validation 0.1 --test 0.1 --seed 42`:\n"
        );
        println!(
            "| format | wall time, median of {repeat} (best) | maximum resident set size (largest) |"
        );
        println!("|---|---:|---:|");
        for format in Format::ALL {
            let (mut secs, mut rss) = (Vec::new(), 0u64);
            for _ in 0..repeat {
                let started = Instant::now();
                let out = Command::new("/usr/bin/time")
                    .arg("-v")
                    .arg(&binary)
                    .args(["export", "--data-dir"])
                    .arg(dir)
                    .args([
                        "--task",
                        "1",
                        "--format",
                        format.as_str(),
                        "--out",
                        "/dev/null",
                    ])
                    .args(["--train", "0.8", "--validation", "0.1", "--test", "0.1"])
                    .args(["--seed", "42"])
                    .output()
                    .expect("run quorum export");
                secs.push(started.elapsed().as_secs_f64());
                let report = String::from_utf8_lossy(&out.stderr);
                assert!(out.status.success(), "quorum export failed: {report}");
                let kib = report.lines().find_map(|l| {
                    l.trim()
                        .strip_prefix("Maximum resident set size (kbytes):")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                });
                rss = rss.max(kib.unwrap_or(0));
            }
            let (median, best) = median_best(secs);
            println!(
                "| {} | {median:.2} s ({best:.2} s) | {} |",
                format.as_str(),
                mib(Some(rss))
            );
        }
    }
}

/// One task with `n` resolved items, made with SQL inside SQLite (fast, and independent of the
/// import code this bench does not measure).
async fn generate(db: &Db, n: u64) {
    let mut tx = db.begin_write().await.expect("write");
    let statements = [
        "DELETE FROM exports",
        "DELETE FROM task_export_settings",
        "DELETE FROM resolutions",
        "DELETE FROM labels",
        "DELETE FROM items",
        "DELETE FROM instruction_versions",
        "DELETE FROM tasks",
        "DELETE FROM users",
        "INSERT INTO users (id, username, role, created_at, updated_at) VALUES (1, 'admin', 'admin', 0, 0)",
        "WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i < 29)
         INSERT INTO users (id, username, role, created_at, updated_at) SELECT 100 + i, 'rater' || i, 'rater', 0, 0 FROM r",
        r#"INSERT INTO tasks (id, name, schema_json, overlap, max_overlap, agreement, shard_size, lease_minutes, state,
             instructions_version, created_by, created_at, updated_at)
           VALUES (1, 'Bench', '{"kind":"single_choice","options":[{"value":"pos","label":"Positive"},{"value":"neg","label":"Negative"},{"value":"neu","label":"Neutral"}]}',
             3, 3, 0.5, 20, 30, 'active', 1, 1, 0, 0)"#,
        "INSERT INTO instruction_versions (task_id, version, markdown, html, created_by, created_at) VALUES (1, 1, '# Read me', '<h1>Read me</h1>', 1, 0)",
    ];
    for s in statements {
        sqlx::query(s).execute(&mut *tx).await.expect(s);
    }
    // The final label of item i: neg for every 5th, neu for every 11th (not 5th), else pos.
    const BASE: &str =
        "(CASE WHEN id % 5 = 0 THEN 'neg' WHEN id % 11 = 0 THEN 'neu' ELSE 'pos' END)";
    const OTHER: &str = "(CASE WHEN id % 5 = 0 OR id % 11 = 0 THEN 'pos' ELSE 'neg' END)";
    let items = format!(
        r#"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n})
           INSERT INTO items (id, task_id, external_id, data_json, state, target, label_count, created_at)
           SELECT i, 1, 'e' || i,
             '{{"text":"Item ' || i || ': the parcel arrived on time and the product works as described, thanks","lang":"en","source":"bench"}}',
             'complete', 3, 3, 0 FROM s"#
    );
    // Rater k (0..2) of item i is user 100 + (i + 7k) % 30; rater k disagrees when i % 10 = k.
    let labels = format!(
        r#"WITH RECURSIVE k(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM k WHERE k < 2)
           INSERT INTO labels (task_id, item_id, user_id, value_json, duration_ms, instruction_version, created_at, updated_at)
           SELECT 1, id, 100 + (id + 7 * k.k) % 30,
             '"' || (CASE WHEN id % 10 = k.k THEN {OTHER} ELSE {BASE} END) || '"', 1500, 1, 0, 0
           FROM items, k WHERE task_id = 1 ORDER BY id, k.k"#
    );
    let resolutions = format!(
        r#"INSERT INTO resolutions (item_id, task_id, value_json, method, confidence, votes_json, resolved_at)
           SELECT id, 1, '"' || {BASE} || '"',
             CASE WHEN id % 10 < 3 THEN 'majority' ELSE 'unanimous' END,
             CASE WHEN id % 10 < 3 THEN 2.0 / 3.0 ELSE 1.0 END,
             CASE WHEN id % 10 >= 3 THEN '{{"\"' || {BASE} || '\"":3}}'
                  WHEN {BASE} = 'pos' THEN '{{"\"neg\"":1,"\"pos\"":2}}'
                  WHEN {BASE} = 'neg' THEN '{{"\"neg\"":2,"\"pos\"":1}}'
                  ELSE '{{"\"neu\"":2,"\"pos\"":1}}' END, 0
           FROM items WHERE task_id = 1"#
    );
    for s in [items, labels, resolutions] {
        sqlx::query(sqlx::AssertSqlSafe(s))
            .execute(&mut *tx)
            .await
            .expect("generate");
    }
    tx.commit().await.expect("commit");
}

/// Resets the kernel's peak-RSS counter (`VmHWM`) to the current RSS (Linux ≥ 4.0).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// `VmHWM` in KiB.
fn peak_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".to_owned(), |k| format!("{:.0} MiB", k as f64 / 1024.0))
}
