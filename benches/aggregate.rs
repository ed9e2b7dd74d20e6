//! Aggregation benchmark (`harness = false`): `cargo bench --bench aggregate [-- --scale F --repeat N]`.
//!
//! Simulates crowds and times the engine on them, printing markdown tables for BENCHMARKS.md:
//!
//! - **A**: 1,000,000 items × 3 answers = 3,000,000 labels, 2 classes (prior 65/35), 1,000 raters;
//! - **B**: 300,000 items × 10 answers = 3,000,000 labels, 5 classes (skewed prior), 1,000 raters.
//!
//! Raters are drawn as on a real crowd platform: 60 % careful (accuracy 0.80–0.97), 25 % sloppy
//! (0.60–0.80), 10 % spammers (uniformly random answers), 5 % biased (answer one fixed class 80 % of
//! the time). Workload is skewed (rater `⌊1000·u²⌋`, so the busiest 1 % give ~10 % of the labels);
//! an item's raters are distinct. Wrong answers of a careful or sloppy rater on 5 classes go to an
//! adjacent class 60 % of the time.
//!
//! Each data set is written as `item,worker,label` CSV (plus `truth.csv`) to a temporary directory
//! and parsed back with `Answers::from_csv_reader`; then each method runs `--repeat` times (GLAD
//! only on B). Reported: wall time (median and best), EM iterations, accuracy against the
//! simulated truth, and the process's peak RSS during the step (`VmHWM` from `/proc/self/status`,
//! reset before each step by writing `5` to `/proc/self/clear_refs`; the peak includes the parsed
//! answers the step works on).
//!
//! End to end on A's 3M-row file: `quorum::review::offline::run_aggregate` in process (CSV in → CSV out,
//! with `--truth`), and the release binary `target/release/quorum aggregate …` when it exists
//! (peak RSS from `/usr/bin/time -f %M` when that is installed).
//!
//! Run without `--bench` (as `cargo test --benches` does) it only does a tiny smoke run.

// A benchmark stops on a broken setup; the production lints do not apply.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use quorum::domain::aggregate::{self, Answers, Method, Options};
use quorum::review::offline::{AggregateArgs, MethodArg, run_aggregate};

fn main() {
    let mut scale = 1.0f64;
    let mut repeat = 3usize;
    let mut bench = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => bench = true,
            "--scale" => scale = args.next().and_then(|s| s.parse().ok()).unwrap_or(scale),
            "--repeat" => repeat = args.next().and_then(|s| s.parse().ok()).unwrap_or(repeat),
            _ => {}
        }
    }
    if !bench {
        // `cargo test --benches`: prove the code runs, quickly.
        scale = 0.002;
        repeat = 1;
    }
    let repeat = repeat.max(1);
    let dir = tempfile::tempdir().expect("temporary directory");
    println!("# Aggregation benchmark (scale {scale}, {repeat} runs per method)\n");
    println!("machine: {}\n", machine());

    let mut rows = Vec::new();
    let a = Spec {
        name: "A",
        items: scaled(1_000_000, scale),
        per_item: 3,
        classes: 2,
        prior: &[0.65, 0.35],
        raters: 1_000,
        seed: 1,
    };
    let a_files = run_set(&a, dir.path(), repeat, false, &mut rows);
    let b = Spec {
        name: "B",
        items: scaled(300_000, scale),
        per_item: 10,
        classes: 5,
        prior: &[0.35, 0.25, 0.2, 0.12, 0.08],
        raters: 1_000,
        seed: 2,
    };
    run_set(&b, dir.path(), repeat, true, &mut rows);

    println!("\n| set | step | median | best | iterations | accuracy | peak RSS |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.set,
            r.step,
            secs(r.median),
            secs(r.best),
            r.iterations,
            r.accuracy.map_or("".to_owned(), |x| format!("{x:.4}")),
            mib(r.peak_kib)
        );
    }

    println!(
        "\n## End to end on set A ({} labels)\n",
        thousands(a.labels())
    );
    println!("| what | wall time | peak RSS |");
    println!("|---|---:|---:|");
    let out = dir.path().join("A.out.csv");
    let args = AggregateArgs {
        answers: a_files.0.clone(),
        method: MethodArg::Ds,
        truth: Some(a_files.1.clone()),
        gold: None,
        out: Some(out.clone()),
    };
    reset_peak();
    let t = Instant::now();
    run_aggregate(&args).expect("run_aggregate");
    let e2e = t.elapsed();
    let rows_out = std::fs::read_to_string(&out).map_or(0, |s| s.lines().count());
    assert_eq!(
        rows_out,
        a.items + 1,
        "one output row per item plus the header"
    );
    println!(
        "| `run_aggregate` in process: parse CSV, Dawid-Skene, write CSV, score `--truth` | {} | {} |",
        secs(e2e),
        mib(peak_kib())
    );
    if bench {
        release_binary(&a_files, &out);
    }
}

/// One simulated data set.
struct Spec {
    name: &'static str,
    items: usize,
    per_item: usize,
    classes: u32,
    prior: &'static [f64],
    raters: usize,
    seed: u64,
}

impl Spec {
    fn labels(&self) -> usize {
        self.items * self.per_item
    }
}

/// One line of the results table.
struct Row {
    set: String,
    step: String,
    median: Duration,
    best: Duration,
    iterations: String,
    accuracy: Option<f64>,
    peak_kib: Option<u64>,
}

/// Generates, writes, parses and aggregates one data set. Returns the answers and truth paths.
fn run_set(
    spec: &Spec,
    dir: &Path,
    repeat: usize,
    with_glad: bool,
    rows: &mut Vec<Row>,
) -> (PathBuf, PathBuf) {
    let set = format!(
        "{}: {} items × {}, {} classes",
        spec.name,
        thousands(spec.items),
        spec.per_item,
        spec.classes
    );
    let t = Instant::now();
    let (answers_path, truth_path, crowd_accuracy, bytes) = generate(spec, dir);
    println!(
        "set {set}: {} labels from {} raters, share of correct labels {crowd_accuracy:.3}, \
         CSV {:.1} MiB, generated and written in {}",
        thousands(spec.labels()),
        spec.raters,
        bytes as f64 / (1 << 20) as f64,
        secs(t.elapsed())
    );

    reset_peak();
    let t = Instant::now();
    let open = |p: &Path| BufReader::with_capacity(1 << 16, File::open(p).expect("open"));
    let mut answers = Answers::from_csv_reader(open(&answers_path)).expect("parse answers");
    let parse = t.elapsed();
    rows.push(Row {
        set: set.clone(),
        step: "parse CSV (`Answers::from_csv_reader`)".to_owned(),
        median: parse,
        best: parse,
        iterations: String::new(),
        accuracy: None,
        peak_kib: peak_kib(),
    });
    let truth = answers
        .read_gold_csv(open(&truth_path))
        .expect("parse truth");
    assert_eq!(answers.len(), spec.labels());
    assert_eq!(truth.len(), spec.items);

    let mut methods = vec![Method::Majority, Method::Wawa, Method::DawidSkene];
    if with_glad {
        methods.push(Method::Glad);
    }
    let no_gold = Default::default();
    for method in methods {
        let mut times = Vec::with_capacity(repeat);
        let mut peak = None;
        let mut last = None;
        for run in 0..repeat {
            // Free the previous run's outcome first so it does not count towards this peak.
            drop(last.take());
            if run == 0 {
                reset_peak();
            }
            let t = Instant::now();
            let out = aggregate::aggregate(&answers, method, &no_gold, &Options::default())
                .expect("aggregate");
            times.push(t.elapsed());
            if run == 0 {
                peak = peak_kib();
            }
            last = Some(out);
        }
        let out = last.expect("at least one run");
        let accuracy = aggregate::accuracy(&out.labels_for_scoring(&answers), &truth);
        times.sort();
        let iterations = match method {
            Method::DawidSkene | Method::Glad => format!(
                "{}{}",
                out.iterations,
                if out.converged { "" } else { " (cap)" }
            ),
            _ => String::new(),
        };
        rows.push(Row {
            set: set.clone(),
            step: format!("{method:?}"),
            median: times[times.len() / 2],
            best: times[0],
            iterations,
            accuracy,
            peak_kib: peak,
        });
        eprintln!(
            "  {set} {method:?}: {} (median of {repeat})",
            secs(times[times.len() / 2])
        );
    }
    (answers_path, truth_path)
}

/// A simulated rater.
#[derive(Clone, Copy)]
enum Rater {
    /// Answers the truth with this probability, else a wrong class.
    Honest(f64),
    /// Answers uniformly at random.
    Spammer,
    /// Answers this class 80 % of the time, else the truth.
    Biased(u32),
}

impl Rater {
    fn answer(self, truth: u32, k: u32, rng: &mut Rng) -> u32 {
        match self {
            Rater::Spammer => rng.below(k),
            Rater::Biased(c) if rng.unit() < 0.8 => c,
            Rater::Biased(_) => truth,
            Rater::Honest(p) if rng.unit() < p || k < 2 => truth,
            Rater::Honest(_) if k > 2 && rng.unit() < 0.6 => {
                // Adjacent class (ordinal-ish confusion).
                if truth == 0 {
                    1
                } else if truth == k - 1 || rng.unit() < 0.5 {
                    truth - 1
                } else {
                    truth + 1
                }
            }
            Rater::Honest(_) => (truth + 1 + rng.below(k - 1)) % k,
        }
    }
}

/// Writes `NAME.answers.csv` and `NAME.truth.csv`; returns their paths, the share of correct
/// labels, and the answers file size.
fn generate(spec: &Spec, dir: &Path) -> (PathBuf, PathBuf, f64, u64) {
    let mut rng = Rng(spec.seed);
    let k = spec.classes;
    let raters: Vec<Rater> = (0..spec.raters)
        .map(|_| {
            let u = rng.unit();
            if u < 0.60 {
                Rater::Honest(0.80 + 0.17 * rng.unit())
            } else if u < 0.85 {
                Rater::Honest(0.60 + 0.20 * rng.unit())
            } else if u < 0.95 {
                Rater::Spammer
            } else {
                Rater::Biased(rng.below(k))
            }
        })
        .collect();
    let answers_path = dir.join(format!("{}.answers.csv", spec.name));
    let truth_path = dir.join(format!("{}.truth.csv", spec.name));
    let mut out = BufWriter::with_capacity(1 << 16, File::create(&answers_path).expect("create"));
    let mut truth_out =
        BufWriter::with_capacity(1 << 16, File::create(&truth_path).expect("create"));
    out.write_all(b"item,worker,label\n").expect("write");
    truth_out.write_all(b"item,label\n").expect("write");
    let mut chosen = Vec::with_capacity(spec.per_item);
    let mut line = String::with_capacity(64);
    let mut correct = 0usize;
    for item in 0..spec.items {
        let t = rng.pick(spec.prior) as u32;
        line.clear();
        let _ = writeln!(line, "i{item},{t}");
        truth_out.write_all(line.as_bytes()).expect("write");
        chosen.clear();
        while chosen.len() < spec.per_item.min(spec.raters) {
            let u = rng.unit();
            let r = ((u * u) * spec.raters as f64) as usize;
            let r = r.min(spec.raters - 1);
            if !chosen.contains(&r) {
                chosen.push(r);
            }
        }
        for &r in &chosen {
            let label = raters[r].answer(t, k, &mut rng);
            correct += usize::from(label == t);
            line.clear();
            let _ = writeln!(line, "i{item},w{r},{label}");
            out.write_all(line.as_bytes()).expect("write");
        }
    }
    out.flush().expect("flush");
    truth_out.flush().expect("flush");
    drop((out, truth_out));
    let bytes = std::fs::metadata(&answers_path).map_or(0, |m| m.len());
    let share = correct as f64 / (spec.items * spec.per_item).max(1) as f64;
    (answers_path, truth_path, share, bytes)
}

/// Times the release binary end to end, if it has been built.
fn release_binary(files: &(PathBuf, PathBuf), out: &Path) {
    // This bench runs as target/release/deps/aggregate-HASH; the binary is target/release/quorum.
    let bin = std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.parent()?.join("quorum")));
    let Some(bin) = bin.filter(|b| b.is_file()) else {
        println!(
            "\n(no target/release/quorum: run `cargo build --release` to time the binary too)"
        );
        return;
    };
    let time = Path::new("/usr/bin/time");
    let time_log = out.with_extension("time");
    let mut cmd = if time.is_file() {
        let mut c = Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&time_log).arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    cmd.arg("aggregate")
        .arg(&files.0)
        .args(["--method", "ds", "--truth"])
        .arg(&files.1)
        .arg("--out")
        .arg(out);
    let t = Instant::now();
    let status = cmd.status();
    let wall = t.elapsed();
    match status {
        Ok(s) if s.success() => {
            let peak = std::fs::read_to_string(&time_log)
                .ok()
                .and_then(|s| s.lines().last()?.trim().parse::<u64>().ok());
            println!(
                "| `{} aggregate A.answers.csv --method ds --truth A.truth.csv --out A.out.csv` | {} | {} |",
                bin.display(),
                secs(wall),
                mib(peak)
            );
        }
        Ok(s) => println!("\n(`{} aggregate` failed: {s})", bin.display()),
        Err(e) => println!("\n(cannot run {}: {e})", bin.display()),
    }
}

/// SplitMix64: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n.max(1))) as u32
    }

    /// An index drawn with the given probabilities.
    fn pick(&mut self, p: &[f64]) -> usize {
        let mut u = self.unit();
        for (i, &x) in p.iter().enumerate() {
            if u < x {
                return i;
            }
            u -= x;
        }
        p.len().saturating_sub(1)
    }
}

fn scaled(n: usize, scale: f64) -> usize {
    ((n as f64 * scale).round() as usize).max(10)
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

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// CPU model, core count and memory, for the report.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            let l = s.lines().find(|l| l.starts_with("MemTotal:"))?;
            l.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or("?".to_owned(), |k| {
            format!("{:.1} GiB RAM", k as f64 / (1 << 20) as f64)
        });
    format!("{cpu}, {cores} cores, {mem}")
}
