//! The report: latency percentiles from HDR histograms, the figures of one run, the invariant
//! [`Check`]s, and the table printed at the end (the same data goes to `--json`).

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;
use serde_json::Value;

/// The largest latency the histograms hold (longer ones are recorded as this).
const MAX_LATENCY_US: u64 = 120_000_000;

#[derive(Serialize, Default, Clone)]
pub(crate) struct Latency {
    pub(crate) count: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p95_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) p999_ms: f64,
    pub(crate) max_ms: f64,
    pub(crate) mean_ms: f64,
}

impl Latency {
    pub(crate) fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        }
    }
}

#[derive(Serialize, Default)]
pub(crate) struct ExportFigure {
    pub(crate) format: String,
    pub(crate) status: String,
    pub(crate) seconds: Option<f64>,
    pub(crate) bytes: Option<u64>,
    pub(crate) bytes_per_s: Option<f64>,
    pub(crate) rows: Option<u64>,
    /// Which instance (1-based) the snapshot was downloaded from; it was made on the first.
    pub(crate) downloaded_from_instance: usize,
    pub(crate) note: Option<String>,
}

/// One spawned server process.
#[derive(Serialize, Default)]
pub(crate) struct InstanceFigure {
    pub(crate) pid: u32,
    pub(crate) base: String,
    pub(crate) peak_rss_mb: f64,
    pub(crate) cpu_s_total: f64,
}

/// The spawned servers' figures, summed over every instance (each one's in `instances`).
#[derive(Serialize, Default)]
pub(crate) struct ServerFigures {
    pub(crate) pid: u32,
    /// The sum of every instance's `VmHWM`.
    pub(crate) peak_rss_mb: f64,
    pub(crate) peak_rss_sampled_mb: f64,
    pub(crate) cpu_s_total: f64,
    pub(crate) cpu_s_import: f64,
    pub(crate) cpu_s_labeling: f64,
    pub(crate) cpu_s_export: f64,
    /// Server CPU (user + system, from /proc) while labeling, per label stored: the lease and
    /// submit share of each label.
    pub(crate) cpu_ms_per_label: f64,
    pub(crate) instances: Vec<InstanceFigure>,
    /// On PostgreSQL: the CPU of the database's backend processes (on this machine) per phase.
    pub(crate) db_cpu_s_import: Option<f64>,
    pub(crate) db_cpu_s_labeling: Option<f64>,
    pub(crate) db_cpu_s_export: Option<f64>,
    pub(crate) db_cpu_ms_per_label: Option<f64>,
}

#[derive(Serialize, Default)]
pub(crate) struct Report {
    pub(crate) machine: Value,
    pub(crate) config: Value,
    pub(crate) server_binary: Option<String>,
    /// `sqlite` or `postgres`, and how many instances were driven.
    pub(crate) backend: String,
    pub(crate) instances: usize,
    pub(crate) setup_s: f64,
    pub(crate) import_s: f64,
    pub(crate) import_items_per_s: f64,
    pub(crate) imported: u64,
    pub(crate) import_body_mb: f64,
    pub(crate) labeling_s: f64,
    pub(crate) labels: u64,
    pub(crate) labels_target: u64,
    pub(crate) labels_per_s: f64,
    pub(crate) completed: bool,
    pub(crate) requests: u64,
    pub(crate) lease: Latency,
    pub(crate) lease_empty: u64,
    pub(crate) submit: Latency,
    pub(crate) replays_checked: u64,
    pub(crate) errors: BTreeMap<String, u64>,
    pub(crate) resolve: Value,
    pub(crate) exports: Vec<ExportFigure>,
    pub(crate) server: Option<ServerFigures>,
    pub(crate) client_cpu_s: f64,
    pub(crate) db_bytes: Option<u64>,
    pub(crate) db_wal_bytes: Option<u64>,
    pub(crate) progress: Value,
    pub(crate) invariants: Vec<Check>,
    pub(crate) notes: Vec<String>,
}

#[derive(Serialize, Clone)]
pub(crate) struct Check {
    pub(crate) name: String,
    pub(crate) ok: bool,
    pub(crate) detail: String,
}

pub(crate) fn check(name: &str, ok: bool, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        ok,
        detail: detail.into(),
    }
}

pub(crate) fn histogram() -> Histogram<u64> {
    // 1 µs to 120 s at 3 significant figures; these bounds are valid, so this cannot fail.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("constant, valid histogram bounds")
}

pub(crate) fn print_table(r: &Report) {
    let mut rows: Vec<(String, String)> = Vec::new();
    let mut row = |k: &str, v: String| rows.push((k.to_string(), v));
    row(
        "machine",
        format!(
            "{} cores, {} GiB, {}",
            r.machine["cores"],
            r.machine["memory_gib"],
            r.machine["cpu"].as_str().unwrap_or("")
        ),
    );
    row(
        "run",
        format!(
            "N={} R={} k={} shard={} think={} ms, {}",
            r.config["items"],
            r.config["raters"],
            r.config["overlap"],
            r.config["shard_size"],
            r.config["think_ms"],
            match r.config["rate"].as_f64() {
                Some(rate) =>
                    format!("open loop at {rate} labels/s (latency from each intended start)"),
                None => "closed loop".to_string(),
            }
        ),
    );
    row(
        "servers",
        format!(
            "{} instance{} of quorum serve on {}",
            r.instances,
            if r.instances == 1 { "" } else { "s" },
            r.backend
        ),
    );
    row(
        "setup (server, task, raters)",
        format!("{:.1} s", r.setup_s),
    );
    row(
        "import",
        format!(
            "{} items ({:.0} MB) in {:.2} s = {:.0} items/s",
            r.imported, r.import_body_mb, r.import_s, r.import_items_per_s
        ),
    );
    row(
        "labels",
        format!(
            "{} of {} in {:.1} s = {:.0} labels/s{}",
            r.labels,
            r.labels_target,
            r.labeling_s,
            r.labels_per_s,
            if r.completed { "" } else { " (not complete)" }
        ),
    );
    let lat = |l: &Latency| {
        format!(
            "p50 {:.2}  p95 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2} ms  (n={})",
            l.p50_ms, l.p95_ms, l.p99_ms, l.p999_ms, l.max_ms, l.count
        )
    };
    row("lease latency", lat(&r.lease));
    row("submit latency", lat(&r.submit));
    row(
        "requests",
        format!(
            "{} ({} empty leases, {} replays checked)",
            r.requests, r.lease_empty, r.replays_checked
        ),
    );
    row(
        "errors",
        if r.errors.is_empty() {
            "none".into()
        } else {
            r.errors
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        },
    );
    row(
        "resolve",
        match r.resolve["status"].as_str() {
            Some("ok") => format!("{:.2} s", r.resolve["seconds"].as_f64().unwrap_or(0.0)),
            _ => format!(
                "{}: {}",
                r.resolve["status"].as_str().unwrap_or("?"),
                r.resolve["note"].as_str().unwrap_or("")
            ),
        },
    );
    for e in &r.exports {
        row(
            &format!("export {}", e.format),
            match (e.seconds, e.bytes) {
                (Some(s), Some(b)) => {
                    format!(
                        "{:.1} MB in {:.2} s = {:.1} MB/s{}",
                        b as f64 / 1e6,
                        s,
                        b as f64 / 1e6 / s.max(1e-9),
                        e.rows.map(|n| format!(", {n} rows")).unwrap_or_default()
                    ) + &if e.downloaded_from_instance > 1 {
                        format!(
                            ", made on instance 1, downloaded from instance {}",
                            e.downloaded_from_instance
                        )
                    } else {
                        String::new()
                    }
                }
                _ => format!("{}: {}", e.status, e.note.as_deref().unwrap_or("")),
            },
        );
    }
    if let Some(s) = &r.server {
        let each = if s.instances.len() > 1 {
            format!(
                ", summed over {} instances: {}",
                s.instances.len(),
                s.instances
                    .iter()
                    .map(|i| format!("{:.1}", i.peak_rss_mb))
                    .collect::<Vec<_>>()
                    .join(" + ")
            )
        } else {
            String::new()
        };
        row(
            "server peak RSS",
            format!(
                "{:.1} MB (VmHWM{each}; sampled VmRSS max {:.1} MB)",
                s.peak_rss_mb, s.peak_rss_sampled_mb
            ),
        );
        row(
            "server CPU",
            format!(
                "{:.1} s total: import {:.1} s, labeling {:.1} s, resolve+export {:.1} s",
                s.cpu_s_total, s.cpu_s_import, s.cpu_s_labeling, s.cpu_s_export
            ),
        );
        row(
            "server CPU per label",
            format!("{:.3} ms (lease + submit share)", s.cpu_ms_per_label),
        );
        if let (Some(l), Some(per)) = (s.db_cpu_s_labeling, s.db_cpu_ms_per_label) {
            row(
                "PostgreSQL backends CPU",
                format!(
                    "import {:.1} s, labeling {l:.1} s, resolve+export {:.1} s; {per:.3} ms per label",
                    s.db_cpu_s_import.unwrap_or(0.0),
                    s.db_cpu_s_export.unwrap_or(0.0)
                ),
            );
        }
    }
    row("client CPU", format!("{:.1} s", r.client_cpu_s));
    row(
        "database",
        match r.db_bytes {
            Some(b) if r.backend == "postgres" => {
                format!("{:.1} MB (pg_database_size)", b as f64 / 1e6)
            }
            Some(b) => format!(
                "{:.1} MB (+ WAL {:.1} MB)",
                b as f64 / 1e6,
                r.db_wal_bytes.unwrap_or(0) as f64 / 1e6
            ),
            None => "unknown".into(),
        },
    );
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    println!("| {:width$} | value |", "quorum-bench");
    println!("|{}|-------|", "-".repeat(width + 2));
    for (k, v) in rows {
        println!("| {k:width$} | {v} |");
    }
    println!();
    for c in &r.invariants {
        println!(
            "{} {}: {}",
            if c.ok { "ok    " } else { "FAILED" },
            c.name,
            c.detail
        );
    }
    for n in &r.notes {
        println!("note: {n}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_percentiles() {
        let mut h = histogram();
        assert_eq!(Latency::of(&h).count, 0);
        for us in 1..=1000u64 {
            h.saturating_record(us * 1000);
        }
        let l = Latency::of(&h);
        assert_eq!(l.count, 1000);
        assert!((l.p50_ms - 500.0).abs() < 1.0, "{}", l.p50_ms);
        assert!((l.p99_ms - 990.0).abs() < 1.5, "{}", l.p99_ms);
        assert!((l.max_ms - 1000.0).abs() < 1.5, "{}", l.max_ms);
    }
}
