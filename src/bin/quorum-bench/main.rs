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
//! `quorum-bench --spawn` starts `quorum serve` on a temporary data directory by itself; without
//! it, point it at a server with `--url` and an admin API token with `--token`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{StreamExt, TryStreamExt};
use hdrhistogram::Histogram;
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

/// Linux reports process times in USER_HZ ticks, 100 per second on every mainstream architecture.
const CLOCK_TICKS: f64 = 100.0;
/// The largest latency the histograms hold (longer ones are recorded as this).
const MAX_LATENCY_US: u64 = 120_000_000;
/// The spawned server's pid, so an interrupted run stops it too.
static SERVER_PID: AtomicU32 = AtomicU32::new(0);

#[derive(Parser, Debug, Clone)]
#[command(
    name = "quorum-bench",
    about = "End-to-end load benchmark for a Quorum server (loopback HTTP only)"
)]
struct Args {
    /// Start `quorum serve` on a temporary data directory and stop it at the end.
    #[arg(long)]
    spawn: bool,
    /// The quorum binary to start with --spawn (default: `quorum` next to this program).
    #[arg(long)]
    server: Option<PathBuf>,
    /// The server to drive when not spawning, e.g. http://127.0.0.1:8080 (loopback only).
    #[arg(long)]
    url: Option<String>,
    /// An admin API token for --url (e.g. from `quorum token create --username admin`).
    #[arg(long, env = "QUORUM_BENCH_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The server's SQLite file, for the invariant checks when not spawning (opened read-only).
    #[arg(long)]
    db: Option<PathBuf>,
    /// With --spawn: put the data directory here (must not exist yet) instead of a temporary one.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Keep the temporary directory (database and server log) afterwards.
    #[arg(long)]
    keep: bool,
    /// Items to import.
    #[arg(long, default_value_t = 10_000)]
    items: u64,
    /// Concurrent simulated raters.
    #[arg(long, default_value_t = 256)]
    raters: u32,
    /// Labels per item (the task's overlap k).
    #[arg(long, default_value_t = 3)]
    overlap: u32,
    /// Items per shard.
    #[arg(long, default_value_t = 20)]
    shard_size: u32,
    /// Lease duration in minutes.
    #[arg(long, default_value_t = 30)]
    lease_minutes: u32,
    /// Think time before each submission, in milliseconds.
    #[arg(long, default_value_t = 0)]
    think_ms: u64,
    /// Stop labeling after this many seconds even when items still need labels.
    #[arg(long, default_value_t = 600)]
    time_cap: u64,
    /// Resend every Nth submission with the same key, to check idempotent replays (0: never).
    #[arg(long, default_value_t = 100)]
    retry_every: u64,
    /// Export formats to request after labeling, comma separated.
    #[arg(long, default_value = "jsonl")]
    export_formats: String,
    /// Export every item, resolved or not (`"only_resolved": false`), e.g. to time the encoders
    /// over all N items when labeling stopped at the time cap.
    #[arg(long)]
    export_all: bool,
    /// The task-wide resolution route to call after labeling ({id} is the task id); skipped when
    /// the server answers 404 or 405.
    #[arg(long, default_value = "/api/v1/tasks/{id}/resolve")]
    resolve_path: String,
    /// Fail (exit 1) when labeling did not give every item its k labels.
    #[arg(long)]
    require_complete: bool,
    /// Write the report as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Requests in flight while setting up raters.
    #[arg(long, default_value_t = 16)]
    setup_concurrency: usize,
}

impl Args {
    fn check(&self) -> Result<(), String> {
        if !(1..=50_000_000).contains(&self.items) {
            return Err("--items: 1 to 50,000,000".into());
        }
        if !(1..=10_000).contains(&self.raters) {
            return Err("--raters: 1 to 10,000".into());
        }
        if !(1..=50).contains(&self.overlap) {
            return Err("--overlap: 1 to 50".into());
        }
        if self.overlap > self.raters {
            return Err("--overlap cannot exceed --raters: no item could be completed".into());
        }
        if !(1..=500).contains(&self.shard_size) {
            return Err("--shard-size: 1 to 500".into());
        }
        if !(1..=1440).contains(&self.lease_minutes) {
            return Err("--lease-minutes: 1 to 1440".into());
        }
        if !(1..=86_400).contains(&self.time_cap) {
            return Err("--time-cap: 1 to 86,400 seconds".into());
        }
        if self.think_ms > 600_000 {
            return Err("--think-ms: at most 600,000".into());
        }
        if !(1..=256).contains(&self.setup_concurrency) {
            return Err("--setup-concurrency: 1 to 256".into());
        }
        if !self.spawn {
            let url = self
                .url
                .as_deref()
                .ok_or("give --spawn, or --url and --token of a running server")?;
            check_loopback(url)?;
            if self.token.as_deref().unwrap_or("").is_empty() {
                return Err("--url needs --token (an admin API token)".into());
            }
        }
        for f in self.formats() {
            if !f
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(format!("--export-formats: bad format name {f:?}"));
            }
        }
        if !self.resolve_path.starts_with('/') {
            return Err("--resolve-path must start with /".into());
        }
        Ok(())
    }

    fn formats(&self) -> Vec<String> {
        self.export_formats
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// The benchmark sends traffic to this machine only.
fn check_loopback(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("--url: an http:// URL on loopback (127.0.0.1, localhost or [::1])")?;
    let host = rest.split('/').next().unwrap_or("");
    let host = if let Some(h) = host.strip_prefix('[') {
        h.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    let ok = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "--url: {host:?} is not a loopback address; this benchmark drives local servers only"
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// The report

#[derive(Serialize, Default, Clone)]
struct Latency {
    count: u64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    mean_ms: f64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        }
    }
}

#[derive(Serialize, Default)]
struct ExportFigure {
    format: String,
    status: String,
    seconds: Option<f64>,
    bytes: Option<u64>,
    bytes_per_s: Option<f64>,
    rows: Option<u64>,
    note: Option<String>,
}

#[derive(Serialize, Default)]
struct ServerFigures {
    pid: u32,
    peak_rss_mb: f64,
    peak_rss_sampled_mb: f64,
    cpu_s_total: f64,
    cpu_s_import: f64,
    cpu_s_labeling: f64,
    cpu_s_export: f64,
}

#[derive(Serialize, Default)]
struct Report {
    machine: Value,
    config: Value,
    server_binary: Option<String>,
    setup_s: f64,
    import_s: f64,
    import_items_per_s: f64,
    imported: u64,
    import_body_mb: f64,
    labeling_s: f64,
    labels: u64,
    labels_target: u64,
    labels_per_s: f64,
    completed: bool,
    requests: u64,
    lease: Latency,
    lease_empty: u64,
    submit: Latency,
    replays_checked: u64,
    errors: BTreeMap<String, u64>,
    resolve: Value,
    exports: Vec<ExportFigure>,
    server: Option<ServerFigures>,
    client_cpu_s: f64,
    db_bytes: Option<u64>,
    db_wal_bytes: Option<u64>,
    progress: Value,
    invariants: Vec<Check>,
    notes: Vec<String>,
}

#[derive(Serialize, Clone)]
struct Check {
    name: String,
    ok: bool,
    detail: String,
}

fn check(name: &str, ok: bool, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        ok,
        detail: detail.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// /proc

fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// utime + stime of a process, in seconds.
fn proc_cpu_s(pid: &str) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / CLOCK_TICKS)
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let mem_kb = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    });
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    json!({"cores": cores, "cpu": cpu, "memory_gib": mem_kb.map(|k| (k as f64 / 1048576.0 * 10.0).round() / 10.0)})
}

/// Samples the server's resident set size while it runs.
struct RssSampler {
    peak_kb: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl RssSampler {
    fn start(pid: u32) -> RssSampler {
        let peak_kb = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak_kb.clone(), stop.clone());
        tokio::spawn(async move {
            // Bounded: stops with the flag, or when the process is gone.
            while !s.load(Ordering::Relaxed) {
                match proc_status_kb(pid, "VmRSS:") {
                    Some(kb) => {
                        p.fetch_max(kb, Ordering::Relaxed);
                    }
                    None => break,
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        RssSampler { peak_kb, stop }
    }
}

// ---------------------------------------------------------------------------------------------
// The server under test

struct Server {
    base: String,
    admin_token: String,
    /// With --spawn: the process, its binary and data directory.
    child: Option<tokio::process::Child>,
    pid: Option<u32>,
    binary: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    /// A temporary directory to remove at the end.
    temp: Option<PathBuf>,
}

fn random_hex(bytes: usize) -> Result<String, String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| format!("no randomness: {e}"))?;
    Ok(hex::encode(buf))
}

fn default_server_binary() -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let dir = me.parent().ok_or("this program has no directory")?;
    Ok(dir.join("quorum"))
}

async fn spawn_server(args: &Args) -> Result<Server, String> {
    let binary = match &args.server {
        Some(p) => p.clone(),
        None => default_server_binary()?,
    };
    if !binary.is_file() {
        return Err(format!(
            "the server binary {} does not exist (build it, or pass --server PATH)",
            binary.display()
        ));
    }
    let (root, temp) = match &args.data_dir {
        Some(d) => {
            if d.exists() {
                return Err(format!(
                    "--data-dir {} exists already; give a new directory",
                    d.display()
                ));
            }
            (d.clone(), None)
        }
        None => {
            let d = std::env::temp_dir().join(format!(
                "quorum-bench-{}-{}",
                std::process::id(),
                random_hex(4)?
            ));
            (d.clone(), Some(d))
        }
    };
    std::fs::create_dir_all(&root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
    let data_dir = root.join("data");
    let log_path = root.join("server.log");
    let log = std::fs::File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let password = format!("bench-{}", random_hex(16)?);
    let mut child = tokio::process::Command::new(&binary)
        .arg("serve")
        .args(["--bind", "127.0.0.1:0", "--print-addr", "--data-dir"])
        .arg(&data_dir)
        .env("QUORUM_ADMIN_PASSWORD", &password)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let pid = child.id();
    SERVER_PID.store(pid.unwrap_or(0), Ordering::Relaxed);
    let stdout = child.stdout.take().ok_or("no stdout from the server")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let addr = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            match lines.next_line().await {
                Ok(Some(line)) => {
                    if let Some(a) = line.strip_prefix("LISTENING ") {
                        return Ok(a.trim().to_string());
                    }
                }
                Ok(None) => return Err("the server exited before it listened".to_string()),
                Err(e) => return Err(format!("reading the server's output: {e}")),
            }
        }
    })
    .await
    .map_err(|_| "the server did not print LISTENING within 120 s".to_string())
    .and_then(|r| r)
    .map_err(|e| format!("{e} (see {})", log_path.display()))?;
    // Keep draining its stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let out = tokio::process::Command::new(&binary)
        .args([
            "token",
            "create",
            "--username",
            "admin",
            "--name",
            "bench",
            "--data-dir",
        ])
        .arg(&data_dir)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("quorum token create: {e}"))?;
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || token.is_empty() {
        return Err(format!(
            "quorum token create failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(Server {
        base: format!("http://{addr}"),
        admin_token: token,
        child: Some(child),
        pid,
        binary: Some(binary),
        data_dir: Some(data_dir),
        temp,
    })
}

impl Server {
    fn db_path(&self, args: &Args) -> Option<PathBuf> {
        match &self.data_dir {
            Some(d) => Some(d.join("quorum.db")),
            None => args.db.clone(),
        }
    }

    /// SIGTERM, then a bounded wait, then SIGKILL.
    async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = self.pid {
            let _ = tokio::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        if tokio::time::timeout(Duration::from_secs(40), child.wait())
            .await
            .is_err()
        {
            eprintln!("quorum-bench: the server did not stop within 40 s; killing it");
            let _ = child.kill().await;
        }
    }
}

/// When the spawned server has exited: why, for the error message.
fn server_gone(server: &mut Server) -> Option<String> {
    let child = server.child.as_mut()?;
    match child.try_wait() {
        Ok(Some(status)) => Some(format!(
            ": the server exited during the run ({status}); see server.log in the kept directory"
        )),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

struct Api {
    http: reqwest::Client,
    base: String,
}

/// A response's status and JSON body (Null when it has none or it is not JSON).
struct Answer {
    status: StatusCode,
    body: Value,
}

impl Answer {
    fn error_code(&self) -> String {
        self.body["error"]["code"]
            .as_str()
            .unwrap_or("")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(40)
            .collect()
    }

    fn describe(&self) -> String {
        let msg = self.body["error"]["message"].as_str().unwrap_or("");
        format!("{} {} {}", self.status.as_u16(), self.error_code(), msg)
    }
}

impl Api {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Answer, String> {
        let res = req.send().await.map_err(|e| format!("request: {e}"))?;
        let status = res.status();
        let bytes = res.bytes().await.map_err(|e| format!("response: {e}"))?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer { status, body })
    }

    async fn post_json(&self, token: &str, path: &str, body: &Value) -> Result<Answer, String> {
        self.send(self.http.post(self.url(path)).bearer_auth(token).json(body))
            .await
    }

    async fn get(&self, token: &str, path: &str) -> Result<Answer, String> {
        self.send(self.http.get(self.url(path)).bearer_auth(token))
            .await
    }
}

fn expect(a: Answer, ok: &[u16], what: &str) -> Result<Value, String> {
    if ok.contains(&a.status.as_u16()) {
        Ok(a.body)
    } else {
        Err(format!("{what}: {}", a.describe()))
    }
}

// ---------------------------------------------------------------------------------------------
// Data

/// splitmix64: a small, good, deterministic mixer for generated texts and answers.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

const WORDS: &[&str] = &[
    "the",
    "service",
    "was",
    "quick",
    "and",
    "friendly",
    "but",
    "delivery",
    "took",
    "forever",
    "great",
    "value",
    "for",
    "money",
    "would",
    "not",
    "buy",
    "again",
    "support",
    "answered",
    "within",
    "minutes",
    "packaging",
    "arrived",
    "damaged",
    "works",
    "as",
    "described",
    "battery",
    "life",
    "is",
    "poor",
    "screen",
    "bright",
    "sharp",
    "returned",
    "it",
    "after",
    "week",
    "excellent",
    "quality",
    "cheap",
    "plastic",
    "feels",
    "solid",
    "recommend",
    "to",
    "everyone",
    "disappointed",
    "with",
    "update",
    "app",
    "crashes",
    "often",
    "love",
    "design",
    "noisy",
    "fan",
    "fast",
    "shipping",
    "refund",
    "denied",
];

/// One JSONL line of about 200 bytes of text.
fn item_line(i: u64, out: &mut Vec<u8>) {
    let mut text = format!("Review {i}:");
    let mut h = mix(i);
    while text.len() < 200 {
        h = mix(h);
        text.push(' ');
        text.push_str(WORDS[(h % WORDS.len() as u64) as usize]);
    }
    text.push('.');
    let line = json!({"external_id": format!("bench-{i}"), "data": {"text": text}});
    // Serialising a json! value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &line);
    out.push(b'\n');
}

/// The answer a simulated rater gives: right 80% of the time.
fn answer(item: i64, rater: u32) -> &'static str {
    let truth = mix(item as u64) & 1;
    let right = mix((item as u64).wrapping_mul(1_000_003) ^ u64::from(rater)) % 100 < 80;
    match (truth, right) {
        (0, true) | (1, false) => "pos",
        _ => "neg",
    }
}

// ---------------------------------------------------------------------------------------------
// Raters

struct Rater {
    idx: u32,
    user_id: i64,
    token: String,
}

struct Shared {
    api: Api,
    task: i64,
    think: Duration,
    deadline: Instant,
    retry_every: u64,
    target_labels: u64,
    created: AtomicU64,
}

impl Shared {
    fn done(&self) -> bool {
        self.created.load(Ordering::Relaxed) >= self.target_labels
    }
}

struct Outcome {
    lease: Histogram<u64>,
    submit: Histogram<u64>,
    lease_empty: u64,
    requests: u64,
    errors: BTreeMap<String, u64>,
    /// (label id, item id, user id) of every label answered 201.
    created: Vec<(i64, i64, i64)>,
    replays: u64,
    violations: Vec<String>,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 120 s at 3 significant figures; these bounds are valid, so this cannot fail.
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("constant, valid histogram bounds")
}

impl Outcome {
    fn new() -> Outcome {
        Outcome {
            lease: histogram(),
            submit: histogram(),
            lease_empty: 0,
            requests: 0,
            errors: BTreeMap::new(),
            created: Vec::new(),
            replays: 0,
            violations: Vec::new(),
        }
    }

    fn error(&mut self, what: &str, a: Option<&Answer>) {
        let key = match a {
            Some(a) => {
                let code = a.error_code();
                if code.is_empty() {
                    format!("{what} {}", a.status.as_u16())
                } else {
                    format!("{what} {} {code}", a.status.as_u16())
                }
            }
            None => format!("{what} transport"),
        };
        *self.errors.entry(key).or_default() += 1;
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Bounds on the loops of one rater.
const MAX_IDLE_POLLS: u32 = 15;
const MAX_CONSECUTIVE_ERRORS: u32 = 30;
const SUBMIT_ATTEMPTS: u32 = 3;

async fn rater_loop(sh: Arc<Shared>, r: Rater) -> Outcome {
    let mut out = Outcome::new();
    let mut labeled: HashSet<i64> = HashSet::new();
    let lease_path = format!("/api/v1/tasks/{}/shards", sh.task);
    let mut seq = 0u64;
    let mut idle = 0u32;
    let mut errors = 0u32;
    // Each pass leases a shard (progress), polls an empty pool (bounded by MAX_IDLE_POLLS) or
    // fails (bounded by MAX_CONSECUTIVE_ERRORS); the deadline bounds everything.
    while Instant::now() < sh.deadline && !sh.done() {
        let t0 = Instant::now();
        let res = sh
            .api
            .send(
                sh.api
                    .http
                    .post(sh.api.url(&lease_path))
                    .bearer_auth(&r.token),
            )
            .await;
        out.requests += 1;
        let a = match res {
            Ok(a) => a,
            Err(_) => {
                out.error("lease", None);
                errors += 1;
                if errors > MAX_CONSECUTIVE_ERRORS {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        out.lease.saturating_record(micros(t0.elapsed()));
        match a.status.as_u16() {
            200 => {}
            204 => {
                out.lease_empty += 1;
                idle += 1;
                if idle > MAX_IDLE_POLLS {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            _ => {
                out.error("lease", Some(&a));
                errors += 1;
                if errors > MAX_CONSECUTIVE_ERRORS {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        }
        idle = 0;
        errors = 0;
        let shard = a.body["id"].as_i64().unwrap_or(0);
        let items: Vec<i64> = a.body["items"]
            .as_array()
            .map(|v| v.iter().filter_map(|i| i["id"].as_i64()).collect())
            .unwrap_or_default();
        if shard <= 0 || items.is_empty() {
            out.violations.push(format!(
                "rater {}: a 200 lease without a shard id or items: {}",
                r.idx, a.body
            ));
            break;
        }
        let submit_path = format!("/api/v1/shards/{shard}/labels");
        for item in items {
            if Instant::now() >= sh.deadline {
                break;
            }
            if labeled.contains(&item) {
                out.violations.push(format!(
                    "rater {} was leased item {item} again after labeling it",
                    r.idx
                ));
                continue;
            }
            if !sh.think.is_zero() {
                tokio::time::sleep(sh.think).await;
            }
            seq += 1;
            let body = json!({"item_id": item, "value": answer(item, r.idx),
                "duration_ms": 1000 + (mix(seq) % 4000), "submission_key": format!("bench-{}-{seq}", r.idx)});
            let mut answered = None;
            for attempt in 0..SUBMIT_ATTEMPTS {
                let t0 = Instant::now();
                out.requests += 1;
                match sh.api.post_json(&r.token, &submit_path, &body).await {
                    Ok(a) => {
                        out.submit.saturating_record(micros(t0.elapsed()));
                        answered = Some(a);
                        break;
                    }
                    Err(_) => {
                        out.error("submit", None);
                        // A client retries a failed request with the same key.
                        tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                    }
                }
            }
            let Some(a) = answered else { continue };
            match a.status.as_u16() {
                201 => {
                    let label = a.body["label_id"].as_i64().unwrap_or(0);
                    if label <= 0 || a.body["item_id"].as_i64() != Some(item) {
                        out.violations.push(format!(
                            "rater {}: a 201 without a label id for item {item}: {}",
                            r.idx, a.body
                        ));
                    }
                    out.created.push((label, item, r.user_id));
                    labeled.insert(item);
                    sh.created.fetch_add(1, Ordering::Relaxed);
                }
                200 => {
                    // "updated": this rater had labeled the item already in this shard.
                    out.violations.push(format!(
                        "rater {}: item {item} answered as a change of an earlier label: {}",
                        r.idx, a.body
                    ));
                }
                _ => {
                    out.error("submit", Some(&a));
                    continue;
                }
            }
            if sh.retry_every > 0 && seq.is_multiple_of(sh.retry_every) {
                // The same request again: the original answer, nothing new stored.
                out.requests += 1;
                match sh.api.post_json(&r.token, &submit_path, &body).await {
                    Ok(b) if b.status == a.status && b.body["label_id"] == a.body["label_id"] => {
                        out.replays += 1;
                    }
                    Ok(b) => out.violations.push(format!(
                        "rater {}: a retry with the same submission key got {} {} instead of {} {}",
                        r.idx, b.status, b.body, a.status, a.body
                    )),
                    Err(_) => out.error("replay", None),
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Setup

async fn create_rater(
    api: &Api,
    admin: &str,
    server: &Server,
    cli_users: bool,
    task: i64,
    idx: u32,
) -> Result<Rater, String> {
    let username = format!("bench-rater-{idx}");
    let token = if cli_users {
        cli_rater(server, &username).await?
    } else {
        expect(
            api.post_json(
                admin,
                "/api/v1/users",
                &json!({"username": username, "role": "rater"}),
            )
            .await?,
            &[201],
            "create rater",
        )?;
        let t = expect(
            api.post_json(
                admin,
                "/api/v1/tokens",
                &json!({"username": username, "name": "bench"}),
            )
            .await?,
            &[201],
            "create token",
        )?;
        t["token"]
            .as_str()
            .ok_or("no token in the answer")?
            .to_string()
    };
    expect(
        api.post_json(
            admin,
            &format!("/api/v1/tasks/{task}/members"),
            &json!({"username": username}),
        )
        .await?,
        &[200, 201],
        "add member",
    )?;
    let me = expect(api.get(&token, "/api/v1/me").await?, &[200], "me")?;
    let user_id = me["id"].as_i64().ok_or("no id from /api/v1/me")?;
    let ins = expect(
        api.get(&token, &format!("/api/v1/tasks/{task}/instructions"))
            .await?,
        &[200],
        "read instructions",
    )?;
    expect(
        api.post_json(
            &token,
            &format!("/api/v1/tasks/{task}/instructions/ack"),
            &json!({"version": ins["version"]}),
        )
        .await?,
        &[200],
        "acknowledge instructions",
    )?;
    Ok(Rater {
        idx,
        user_id,
        token,
    })
}

/// For servers without `POST /api/v1/users`: the CLI, password on stdin, as an operator would.
async fn cli_rater(server: &Server, username: &str) -> Result<String, String> {
    let (Some(bin), Some(dir)) = (&server.binary, &server.data_dir) else {
        return Err(
            "this server has no POST /api/v1/users; create raters with the CLI and --spawn".into(),
        );
    };
    let mut child = tokio::process::Command::new(bin)
        .args([
            "user",
            "create",
            "--role",
            "rater",
            "--username",
            username,
            "--data-dir",
        ])
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("quorum user create: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        use tokio::io::AsyncWriteExt;
        let pw = format!("bench-{}", random_hex(12)?);
        stdin
            .write_all(pw.as_bytes())
            .await
            .map_err(|e| format!("quorum user create: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| format!("quorum user create: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "quorum user create: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let out = tokio::process::Command::new(bin)
        .args([
            "token",
            "create",
            "--name",
            "bench",
            "--username",
            username,
            "--data-dir",
        ])
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("quorum token create: {e}"))?;
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || token.is_empty() {
        return Err(format!(
            "quorum token create: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(token)
}

// ---------------------------------------------------------------------------------------------
// Invariants in the database

async fn db_checks(
    path: &Path,
    task: i64,
    mut created: Vec<(i64, i64, i64)>,
) -> Result<Vec<Check>, String> {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(Duration::from_secs(30));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .map_err(|e| format!("cannot open {} read-only: {e}", path.display()))?;
    let mut checks = Vec::new();

    // Every 2xx label stored once: the 201 answers and the task's label rows match one to one.
    created.sort_unstable();
    let dup_answers = created.windows(2).filter(|w| w[0].0 == w[1].0).count();
    let mut rows = sqlx::query_as::<_, (i64, i64, i64)>(
        "SELECT id, item_id, user_id FROM labels WHERE task_id = $1 ORDER BY id",
    )
    .bind(task)
    .fetch(&pool);
    let (mut missing, mut extra, mut mismatched, mut stored) = (0u64, 0u64, 0u64, 0u64);
    let mut want = created.iter().peekable();
    let mut first_problem: Option<String> = None;
    while let Some(row) = rows.try_next().await.map_err(|e| e.to_string())? {
        stored += 1;
        while let Some(w) = want.next_if(|w| w.0 < row.0) {
            missing += 1;
            first_problem.get_or_insert(format!("label {} answered 201 but not stored", w.0));
        }
        match want.next_if(|w| w.0 == row.0) {
            Some(w) if *w == row => {}
            Some(w) => {
                mismatched += 1;
                first_problem.get_or_insert(format!(
                    "label {}: answered for item {} by user {}, stored for item {} by user {}",
                    w.0, w.1, w.2, row.1, row.2
                ));
            }
            None => {
                extra += 1;
                first_problem
                    .get_or_insert(format!("label {} stored but never answered 201", row.0));
            }
        }
        // Skip duplicates of the same id among the answers (counted above).
        while want.next_if(|w| w.0 == row.0).is_some() {}
    }
    drop(rows);
    for w in want {
        missing += 1;
        first_problem.get_or_insert(format!("label {} answered 201 but not stored", w.0));
    }
    checks.push(check(
        "every 2xx label stored once",
        missing == 0 && extra == 0 && mismatched == 0 && dup_answers == 0,
        format!(
            "{} answered 201, {stored} stored; missing {missing}, not answered {extra}, mismatched {mismatched}, same id answered twice {dup_answers}{}",
            created.len(),
            first_problem.map(|p| format!("; first: {p}")).unwrap_or_default()
        ),
    ));

    let over: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM items i
         JOIN (SELECT item_id, COUNT(*) AS n FROM labels WHERE task_id = $1 GROUP BY item_id) l
           ON l.item_id = i.id
         WHERE l.n > i.target",
    )
    .bind(task)
    .fetch_one(&pool)
    .await
    .map_err(|e| e.to_string())?;
    let over_leased: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM items WHERE task_id = $1 AND label_count + active_leases > target",
    )
    .bind(task)
    .fetch_one(&pool)
    .await
    .map_err(|e| e.to_string())?;
    checks.push(check(
        "no item over its target",
        over == 0 && over_leased == 0,
        format!(
            "{over} items with more labels than their target; {over_leased} with labels + live leases over it"
        ),
    ));

    let counters: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM items i
         LEFT JOIN (SELECT item_id, COUNT(*) AS n FROM labels WHERE task_id = $1 GROUP BY item_id) l
           ON l.item_id = i.id
         WHERE i.task_id = $1 AND i.label_count != COALESCE(l.n, 0)",
    )
    .bind(task)
    .fetch_one(&pool)
    .await
    .map_err(|e| e.to_string())?;
    checks.push(check(
        "item label counters match the labels",
        counters == 0,
        format!("{counters} items whose label_count differs from their label rows"),
    ));

    let twice: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT item_id, user_id FROM labels WHERE task_id = $1
                               GROUP BY item_id, user_id HAVING COUNT(*) > 1)",
    )
    .bind(task)
    .fetch_one(&pool)
    .await
    .map_err(|e| e.to_string())?;
    checks.push(check(
        "no rater twice on an item",
        twice == 0,
        format!("{twice} (item, rater) pairs with more than one label"),
    ));
    pool.close().await;
    Ok(checks)
}

fn file_size(p: &Path) -> Option<u64> {
    std::fs::metadata(p).ok().map(|m| m.len())
}

// ---------------------------------------------------------------------------------------------
// The run

/// On Ctrl-C or SIGTERM: stop the spawned server, then exit.
async fn stop_on_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated => {}
    }
    let pid = SERVER_PID.load(Ordering::Relaxed);
    if pid != 0 {
        let _ = tokio::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
    }
    eprintln!("quorum-bench: interrupted; the server was told to stop");
    std::process::exit(130);
}

async fn run(args: Args, report: &mut Report) -> Result<(), String> {
    tokio::spawn(stop_on_signal());
    report.machine = machine();
    report.config = json!({"items": args.items, "raters": args.raters, "overlap": args.overlap,
        "shard_size": args.shard_size, "lease_minutes": args.lease_minutes, "think_ms": args.think_ms,
        "time_cap_s": args.time_cap, "retry_every": args.retry_every, "spawn": args.spawn,
        "export_formats": args.formats(), "export_all": args.export_all});
    let t_setup = Instant::now();
    let mut server = if args.spawn {
        spawn_server(&args).await?
    } else {
        Server {
            base: args
                .url
                .clone()
                .unwrap_or_default()
                .trim_end_matches('/')
                .to_string(),
            admin_token: args.token.clone().unwrap_or_default(),
            child: None,
            pid: None,
            binary: None,
            data_dir: None,
            temp: None,
        }
    };
    report.server_binary = server.binary.as_ref().map(|b| b.display().to_string());
    let result = drive(&args, &mut server, report, t_setup).await;
    if let Some(pid) = server.pid
        && let Some(s) = report.server.as_mut()
    {
        s.peak_rss_mb = proc_status_kb(pid, "VmHWM:").unwrap_or(0) as f64 / 1024.0;
        s.cpu_s_total = proc_cpu_s(&pid.to_string()).unwrap_or(0.0);
    }
    server.stop().await;
    if let Some(db) = server.db_path(&args) {
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

async fn drive(
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
        base: server.base.clone(),
    };
    let admin = server.admin_token.clone();
    let me = expect(api.get(&admin, "/api/v1/me").await?, &[200], "admin token")?;
    if me["role"] != "admin" {
        return Err(format!("the --token is not an admin's: {me}"));
    }
    let sampler = server.pid.map(RssSampler::start);
    let cpu = |s: &Server| {
        s.pid
            .and_then(|p| proc_cpu_s(&p.to_string()))
            .unwrap_or(0.0)
    };

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

    // The import.
    let mut body = Vec::with_capacity(args.items as usize * 260);
    for i in 0..args.items {
        item_line(i, &mut body);
    }
    report.import_body_mb = body.len() as f64 / 1e6;
    let cpu0 = cpu(server);
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
    report.import_s = t0.elapsed().as_secs_f64();
    let imported = expect(a, &[200], "import")?;
    report.imported = imported["imported"].as_u64().unwrap_or(0);
    report.import_items_per_s = report.imported as f64 / report.import_s.max(1e-9);
    if let Some(s) = server.pid {
        report.server = Some(ServerFigures {
            pid: s,
            cpu_s_import: cpu(server) - cpu0,
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
        task,
        think: Duration::from_millis(args.think_ms),
        deadline: Instant::now() + Duration::from_secs(args.time_cap),
        retry_every: args.retry_every,
        target_labels: args.items * u64::from(args.overlap),
        created: AtomicU64::new(0),
    });
    report.labels_target = shared.target_labels;
    let cpu0 = cpu(server);
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
    if let Some(s) = report.server.as_mut() {
        s.cpu_s_labeling = cpu(server) - cpu0;
    }
    report.labels = created.len() as u64;
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
    match server.db_path(args) {
        Some(db) => report
            .invariants
            .extend(db_checks(&db, task, created).await?),
        None => report
            .notes
            .push("database checks skipped: give --db PATH (or use --spawn)".into()),
    }
    Ok(())
}

async fn export(api: &Api, admin: &str, task: i64, format: &str, all: bool) -> ExportFigure {
    let mut fig = ExportFigure {
        format: format.to_string(),
        ..Default::default()
    };
    let t0 = Instant::now();
    let a = match api
        .post_json(
            admin,
            &format!("/api/v1/tasks/{task}/exports"),
            &json!({"format": format, "only_resolved": !all}),
        )
        .await
    {
        Ok(a) => a,
        Err(e) => {
            fig.status = "error".into();
            fig.note = Some(e);
            return fig;
        }
    };
    match a.status.as_u16() {
        200..=299 => {}
        404 | 405 => {
            fig.status = "skipped".into();
            fig.note = Some(format!(
                "POST /api/v1/tasks/{{id}}/exports answered {}: exports are not in this server yet",
                a.status.as_u16()
            ));
            return fig;
        }
        _ => {
            fig.status = "error".into();
            fig.note = Some(a.describe());
            return fig;
        }
    }
    fig.rows = a.body["rows"].as_u64();
    let Some(url) = a.body["download_url"].as_str() else {
        fig.status = "error".into();
        fig.note = Some(format!("no download_url in {}", a.body));
        return fig;
    };
    let url = if url.starts_with("http://") {
        url.to_string()
    } else {
        api.url(url)
    };
    if check_loopback(&url).is_err() {
        fig.status = "error".into();
        fig.note = Some(format!(
            "download_url {url} is not on loopback; not fetched"
        ));
        return fig;
    }
    let res = api
        .http
        .get(&url)
        .bearer_auth(admin)
        .timeout(Duration::from_secs(1800))
        .send()
        .await;
    let mut res = match res {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => {
            fig.status = "error".into();
            fig.note = Some(format!("download answered {}", r.status()));
            return fig;
        }
        Err(e) => {
            fig.status = "error".into();
            fig.note = Some(format!("download: {e}"));
            return fig;
        }
    };
    let mut bytes = 0u64;
    loop {
        match res.chunk().await {
            Ok(Some(c)) => bytes += c.len() as u64,
            Ok(None) => break,
            Err(e) => {
                fig.status = "error".into();
                fig.note = Some(format!("download broke off after {bytes} bytes: {e}"));
                return fig;
            }
        }
    }
    let s = t0.elapsed().as_secs_f64();
    fig.status = "ok".into();
    fig.seconds = Some(s);
    fig.bytes = Some(bytes);
    fig.bytes_per_s = Some(bytes as f64 / s.max(1e-9));
    fig
}

// ---------------------------------------------------------------------------------------------
// Output

fn print_table(r: &Report) {
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
            "N={} R={} k={} shard={} think={} ms",
            r.config["items"],
            r.config["raters"],
            r.config["overlap"],
            r.config["shard_size"],
            r.config["think_ms"]
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
            "p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2} ms  (n={})",
            l.p50_ms, l.p95_ms, l.p99_ms, l.max_ms, l.count
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
                (Some(s), Some(b)) => format!(
                    "{:.1} MB in {:.2} s = {:.1} MB/s{}",
                    b as f64 / 1e6,
                    s,
                    b as f64 / 1e6 / s.max(1e-9),
                    e.rows.map(|n| format!(", {n} rows")).unwrap_or_default()
                ),
                _ => format!("{}: {}", e.status, e.note.as_deref().unwrap_or("")),
            },
        );
    }
    if let Some(s) = &r.server {
        row(
            "server peak RSS",
            format!(
                "{:.1} MB (VmHWM; sampled VmRSS max {:.1} MB)",
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
    }
    row("client CPU", format!("{:.1} s", r.client_cpu_s));
    row(
        "database",
        match r.db_bytes {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_urls_are_driven() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/x",
            "http://localhost:1",
            "http://[::1]:9000/",
            "http://127.9.9.9",
        ] {
            assert!(check_loopback(ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://127.0.0.1",
            "http://10.0.0.1:8080",
            "http://192.168.1.2",
            "http://example.com",
            "http://localhost.example.com",
            "127.0.0.1:8080",
            "",
        ] {
            assert!(check_loopback(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_items_are_about_200_bytes_of_valid_jsonl() {
        let mut buf = Vec::new();
        for i in 0..100 {
            item_line(i, &mut buf);
        }
        let lines: Vec<&[u8]> = buf
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len(), 100);
        for l in lines {
            let v: Value = serde_json::from_slice(l).unwrap();
            let text = v["data"]["text"].as_str().unwrap();
            assert!((200..260).contains(&text.len()), "{text}");
            assert!(v["external_id"].as_str().unwrap().starts_with("bench-"));
        }
    }

    #[test]
    fn simulated_raters_are_mostly_right_and_deterministic() {
        let mut right = 0;
        for item in 0..2000i64 {
            let truth = if mix(item as u64) & 1 == 0 {
                "pos"
            } else {
                "neg"
            };
            for rater in 0..5 {
                assert_eq!(answer(item, rater), answer(item, rater));
                right += usize::from(answer(item, rater) == truth);
            }
        }
        let share = right as f64 / 10_000.0;
        assert!((0.75..0.85).contains(&share), "{share}");
    }

    #[test]
    fn cpu_times_are_read_from_proc() {
        assert!(proc_cpu_s("self").is_some());
        assert!(proc_status_kb(std::process::id(), "VmHWM:").is_some_and(|kb| kb > 0));
        assert!(proc_cpu_s("0").is_none());
    }

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

    /// A tiny store with the columns the checks read.
    async fn store(path: &Path, labels: &[(i64, i64, i64)], items: &[(i64, i64, i64, i64)]) {
        use sqlx::sqlite::SqliteConnectOptions;
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
        sqlx::query("CREATE TABLE items (id INTEGER PRIMARY KEY, task_id INTEGER, target INTEGER, label_count INTEGER, active_leases INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE labels (id INTEGER PRIMARY KEY, task_id INTEGER, item_id INTEGER, user_id INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        for (id, target, count, leases) in items {
            sqlx::query("INSERT INTO items VALUES ($1, 1, $2, $3, $4)")
                .bind(id)
                .bind(target)
                .bind(count)
                .bind(leases)
                .execute(&pool)
                .await
                .unwrap();
        }
        for (id, item, user) in labels {
            sqlx::query("INSERT INTO labels VALUES ($1, 1, $2, $3)")
                .bind(id)
                .bind(item)
                .bind(user)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    }

    fn failed(checks: &[Check]) -> Vec<String> {
        checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.clone())
            .collect()
    }

    #[tokio::test]
    async fn the_database_checks_pass_on_a_sound_store_and_catch_each_breach() {
        let dir = std::env::temp_dir().join(format!(
            "quorum-bench-test-{}-{}",
            std::process::id(),
            random_hex(4).unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let labels = [(1, 10, 100), (2, 10, 101), (3, 11, 100)];
        let items = [(10, 2, 2, 0), (11, 2, 1, 1)];

        let sound = dir.join("sound.db");
        store(&sound, &labels, &items).await;
        let checks = db_checks(&sound, 1, labels.to_vec()).await.unwrap();
        assert!(failed(&checks).is_empty(), "{:?}", failed(&checks));

        // A 201 whose label is not stored, and a stored label never answered.
        let checks = db_checks(&sound, 1, vec![(1, 10, 100), (2, 10, 101), (4, 11, 100)])
            .await
            .unwrap();
        assert_eq!(failed(&checks), ["every 2xx label stored once"]);
        // The same label id answered twice.
        let checks = db_checks(
            &sound,
            1,
            vec![(1, 10, 100), (1, 10, 100), (2, 10, 101), (3, 11, 100)],
        )
        .await
        .unwrap();
        assert_eq!(failed(&checks), ["every 2xx label stored once"]);

        // A rater twice on an item, which also takes item 11 over its target.
        let twice = dir.join("twice.db");
        let labels2 = [
            (1, 10, 100),
            (2, 10, 101),
            (3, 11, 100),
            (4, 11, 100),
            (5, 11, 102),
        ];
        store(&twice, &labels2, &[(10, 2, 2, 0), (11, 2, 3, 0)]).await;
        let checks = db_checks(&twice, 1, labels2.to_vec()).await.unwrap();
        assert_eq!(
            failed(&checks),
            ["no item over its target", "no rater twice on an item"]
        );

        // Counters out of step with the rows, and labels plus live leases over the target.
        let counters = dir.join("counters.db");
        store(&counters, &labels, &[(10, 2, 1, 0), (11, 2, 1, 2)]).await;
        let checks = db_checks(&counters, 1, labels.to_vec()).await.unwrap();
        assert_eq!(
            failed(&checks),
            [
                "no item over its target",
                "item label counters match the labels"
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
