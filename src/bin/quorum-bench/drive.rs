//! One run against a ready server, step by step: the task, the raters, the import, labeling,
//! resolution and exports, and the invariants that follow. The admin's calls go to the first
//! instance; server CPU and memory are summed over every spawned instance.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::api::{Api, expect};
use crate::args::Args;
use crate::data::item_line;
use crate::db_checks::db_checks;
use crate::export::export;
use crate::procfs::RssSampler;
use crate::rater::{Rater, Shared, rater_loop};
use crate::report::{Latency, Report, ServerFigures, check, histogram};
use crate::server::{Server, server_gone};
use crate::setup::create_rater;

pub(crate) async fn drive(
    args: &Args,
    server: &mut Server,
    report: &mut Report,
    t_setup: Instant,
) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(args.raters as usize + 16)
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let api = Api {
        http,
        bases: server.bases(),
    };
    let admin = server.admin_token.clone();
    let me = expect(api.get(&admin, "/api/v1/me").await?, &[200], "admin token")?;
    if me["role"] != "admin" {
        return Err(format!("the --token is not an admin's: {me}"));
    }
    let pids = server.pids();
    let sampler = (!pids.is_empty()).then(|| RssSampler::start(pids.clone()));
    let cpu = |s: &Server| s.cpu_s();

    // The task.
    let task = expect(
        api.post_json(
            &admin,
            "/api/v1/tasks",
            &json!({
            "name": format!("quorum-bench {} items", args.items),
            "instructions": "# Sentiment\nIs the review **positive** or **negative**?",
            "schema": {"kind": "single_choice", "options": [
                {"value": "pos", "label": "Positive", "hotkey": "1"},
                {"value": "neg", "label": "Negative", "hotkey": "2"}]},
            "overlap": args.overlap, "max_overlap": args.overlap, "shard_size": args.shard_size,
            "lease_minutes": args.lease_minutes, "state": "active"}),
        )
        .await?,
        &[201],
        "create task",
    )?;
    let task = task["id"].as_i64().ok_or("no task id")?;

    // The raters: through the admin API, or the CLI for servers without it.
    let probe = api
        .post_json(
            &admin,
            "/api/v1/users",
            &json!({"username": "bench-probe", "role": "rater"}),
        )
        .await?;
    let cli_users = matches!(probe.status.as_u16(), 404 | 405);
    if cli_users {
        report.notes.push(
            "the server has no POST /api/v1/users: raters were made with `quorum user create`"
                .into(),
        );
    }
    let server_ref: &Server = server;
    let raters: Vec<Result<Rater, String>> = futures_util::stream::iter(0..args.raters)
        .map(|i| create_rater(&api, &admin, server_ref, cli_users, task, i))
        .buffer_unordered(args.setup_concurrency)
        .collect()
        .await;
    let raters: Vec<Rater> = raters.into_iter().collect::<Result<_, _>>()?;
    report.setup_s = t_setup.elapsed().as_secs_f64();
    eprintln!(
        "quorum-bench: task {task}, {} raters ready in {:.1} s",
        raters.len(),
        report.setup_s
    );

    // The import: one request per million items (the server takes at most 1 GiB a request,
    // about 4 million of these lines; each request is its own all-or-nothing import).
    const PER_REQUEST: u64 = 1_000_000;
    let cpu0 = cpu(server);
    let db0 = server.db_cpu();
    let mut imported_total = 0;
    let mut body_bytes = 0;
    let mut import_s = 0.0;
    let mut from = 0;
    while from < args.items {
        let to = (from + PER_REQUEST).min(args.items);
        let mut body = Vec::with_capacity((to - from) as usize * 260);
        for i in from..to {
            item_line(i, &mut body);
        }
        body_bytes += body.len();
        let t0 = Instant::now();
        let a = api
            .send(
                api.http
                    .post(api.url(&format!("/api/v1/tasks/{task}/items")))
                    .bearer_auth(&admin)
                    .header("content-type", "application/x-ndjson")
                    .timeout(Duration::from_secs(1800))
                    .body(body),
            )
            .await?;
        import_s += t0.elapsed().as_secs_f64();
        let imported = expect(a, &[200], "import")?;
        imported_total += imported["imported"].as_u64().unwrap_or(0);
        from = to;
    }
    report.import_body_mb = body_bytes as f64 / 1e6;
    report.import_s = import_s;
    report.imported = imported_total;
    report.import_items_per_s = report.imported as f64 / report.import_s.max(1e-9);
    if let Some(&first) = pids.first() {
        report.server = Some(ServerFigures {
            pid: first,
            cpu_s_import: cpu(server) - cpu0,
            db_cpu_s_import: server.db_cpu_since(&db0),
            ..Default::default()
        });
    }
    if report.imported != args.items {
        return Err(format!(
            "the import stored {} of {} items",
            report.imported, args.items
        ));
    }
    eprintln!(
        "quorum-bench: imported {} items in {:.2} s ({:.0} items/s)",
        report.imported, report.import_s, report.import_items_per_s
    );

    // Labeling.
    let shared = Arc::new(Shared {
        api,
        pacer: args.rate.map(crate::rater::Pacer::new),
        task,
        think: Duration::from_millis(args.think_ms),
        deadline: Instant::now() + Duration::from_secs(args.time_cap),
        retry_every: args.retry_every,
        target_labels: args.items * u64::from(args.overlap),
        created: AtomicU64::new(0),
    });
    report.labels_target = shared.target_labels;
    let cpu0 = cpu(server);
    let db0 = server.db_cpu();
    let t0 = Instant::now();
    let progress_task = {
        let sh = shared.clone();
        tokio::spawn(async move {
            let mut last = 0;
            while !sh.done() && Instant::now() < sh.deadline {
                tokio::time::sleep(Duration::from_secs(10)).await;
                let n = sh.created.load(Ordering::Relaxed);
                eprintln!(
                    "quorum-bench: {n} of {} labels, {:.0}/s over the last 10 s",
                    sh.target_labels,
                    (n - last) as f64 / 10.0
                );
                last = n;
            }
        })
    };
    let handles: Vec<_> = raters
        .into_iter()
        .map(|r| tokio::spawn(rater_loop(shared.clone(), r)))
        .collect();
    let mut lease = histogram();
    let mut submit = histogram();
    let mut created = Vec::new();
    let mut violations = Vec::new();
    for h in handles {
        let o = h.await.map_err(|e| format!("a rater task failed: {e}"))?;
        let _ = lease.add(&o.lease);
        let _ = submit.add(&o.submit);
        report.lease_empty += o.lease_empty;
        report.requests += o.requests;
        report.replays_checked += o.replays;
        for (k, v) in o.errors {
            *report.errors.entry(k).or_default() += v;
        }
        created.extend(o.created);
        violations.extend(o.violations);
    }
    progress_task.abort();
    if let Some(gone) = server_gone(server) {
        return Err(format!("labeling broke off{gone}"));
    }
    report.labeling_s = t0.elapsed().as_secs_f64();
    report.labels = created.len() as u64;
    if let Some(s) = report.server.as_mut() {
        s.cpu_s_labeling = cpu(server) - cpu0;
        s.cpu_ms_per_label = s.cpu_s_labeling * 1000.0 / (report.labels.max(1) as f64);
        s.db_cpu_s_labeling = server.db_cpu_since(&db0);
        s.db_cpu_ms_per_label = s
            .db_cpu_s_labeling
            .map(|c| c * 1000.0 / (report.labels.max(1) as f64));
    }
    report.labels_per_s = report.labels as f64 / report.labeling_s.max(1e-9);
    report.completed = report.labels >= shared.target_labels;
    report.lease = Latency::of(&lease);
    report.submit = Latency::of(&submit);
    if !report.completed {
        report.notes.push(format!(
            "labeling stopped at {} of {} labels (time cap {} s or raters out of work)",
            report.labels, shared.target_labels, args.time_cap
        ));
    }
    eprintln!(
        "quorum-bench: {} labels in {:.1} s ({:.0}/s)",
        report.labels, report.labeling_s, report.labels_per_s
    );
    let api = &shared.api;

    // Resolution and exports, where the server has them.
    let cpu0 = cpu(server);
    let db0 = server.db_cpu();
    let path = args.resolve_path.replace("{id}", &task.to_string());
    let t0 = Instant::now();
    let a = match api.post_json(&admin, &path, &json!({})).await {
        Ok(a) => a,
        Err(e) => {
            return Err(format!(
                "POST {path}: {e}{}",
                server_gone(server).unwrap_or_default()
            ));
        }
    };
    report.resolve = match a.status.as_u16() {
        404 | 405 => {
            json!({"status": "skipped", "note": format!("POST {path} answered {}: no task-wide resolution route yet", a.status.as_u16())})
        }
        200..=299 => {
            json!({"status": "ok", "seconds": t0.elapsed().as_secs_f64(), "answer": a.body})
        }
        _ => json!({"status": "error", "note": a.describe()}),
    };
    for format in args.formats() {
        report
            .exports
            .push(export(api, &admin, task, &format, args.export_all).await);
    }
    if let Some(s) = report.server.as_mut() {
        s.cpu_s_export = cpu(server) - cpu0;
        s.db_cpu_s_export = server.db_cpu_since(&db0);
    }
    report.progress = api
        .get(&admin, &format!("/api/v1/tasks/{task}/progress"))
        .await
        .map(|a| a.body)
        .unwrap_or(Value::Null);
    if let Some(s) = &sampler {
        s.stop.store(true, Ordering::Relaxed);
        if let Some(f) = report.server.as_mut() {
            f.peak_rss_sampled_mb = s.peak_kb.load(Ordering::Relaxed) as f64 / 1024.0;
        }
    }

    // The invariants.
    report.invariants.push(check(
        "client-side: no rater leased an item twice, replays answered alike",
        violations.is_empty(),
        if violations.is_empty() {
            format!("{} replays checked", report.replays_checked)
        } else {
            format!("{} violations; first: {}", violations.len(), violations[0])
        },
    ));
    if args.require_complete {
        report.invariants.push(check(
            "every item got its k labels (--require-complete)",
            report.completed,
            format!("{} of {} labels", report.labels, report.labels_target),
        ));
    }
    let stored = report.progress["labels"].as_u64();
    report.invariants.push(check(
        "progress counts every 2xx label",
        stored == Some(report.labels),
        format!(
            "progress says {} labels, the raters got {} answers 201",
            stored.map(|n| n.to_string()).unwrap_or("?".into()),
            report.labels
        ),
    ));
    match server.checks_url(args) {
        Some(db) => {
            let (checks, size) = db_checks(&db, task, created).await?;
            report.invariants.extend(checks);
            if size.is_some() {
                report.db_bytes = size;
            }
        }
        None => report.notes.push(
            "database checks skipped: give --db PATH or --database URL (or use --spawn)".into(),
        ),
    }
    Ok(())
}
