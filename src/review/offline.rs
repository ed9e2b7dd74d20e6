//! Offline tools that need no server and no database: `quorum aggregate`.
//!
//! `quorum aggregate ANSWERS.csv` runs the platform's own aggregation engine
//! ([`crate::domain::aggregate`]) over an `item,worker,label` file and prints one resolved label
//! per item as `item,label,confidence` CSV. Items whose top labels tie are printed with an empty
//! label: the engine never picks a label by chance (on the platform they go to adjudication).
//! With `--truth` the accuracy is printed on standard error, scoring ties by the smallest tied
//! label as published accuracy tables do (see `Outcome::labels_for_scoring`).
//!
//! Every input is read and checked, and the model fitted, before the first output byte is
//! written, so a bad file never leaves half an output behind.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::domain::aggregate::{self, Answers, Method, Options, Outcome};

/// Files at least this large get a progress bar while they are read (when stderr is a terminal).
const PROGRESS_MIN_BYTES: u64 = 8 << 20;
/// Inputs with at least this many answers get a spinner while the model is fitted.
const SPINNER_MIN_LABELS: usize = 200_000;
/// Read buffer for the input files.
const READ_BUFFER: usize = 1 << 16;

/// `quorum aggregate`: resolve crowd labels offline.
#[derive(Args, Debug, Clone)]
pub struct AggregateArgs {
    /// Answers as CSV with a header naming the columns item,worker,label (any order, other columns
    /// ignored); `-` reads standard input.
    #[arg(value_name = "ANSWERS.csv")]
    pub answers: PathBuf,
    /// Aggregation method: majority vote, Wawa (agreement-weighted vote), Dawid-Skene, GLAD, the
    /// Bayesian or one-coin Dawid-Skene, or `auto` (chosen by evidence; it says which and why).
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    pub method: MethodArg,
    /// True labels as item,label CSV: print the accuracy on standard error.
    #[arg(long, value_name = "TRUTH.csv")]
    pub truth: Option<PathBuf>,
    /// Known answers as item,label CSV: these items resolve to their gold label, and Dawid-Skene
    /// and GLAD use them to estimate the raters. They are left out of the `--truth` accuracy.
    #[arg(long, value_name = "GOLD.csv")]
    pub gold: Option<PathBuf>,
    /// Write the item,label,confidence CSV to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// The `--method` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// Majority vote.
    #[value(alias = "majority")]
    Mv,
    /// Worker Agreement With Aggregate (agreement-weighted vote).
    Wawa,
    /// Dawid-Skene (EM over per-rater confusion matrices).
    #[value(alias = "dawid-skene")]
    Ds,
    /// GLAD (rater ability × item difficulty).
    Glad,
    /// Bayesian Dawid-Skene (confusion matrices shrunk towards the pool by a fitted prior).
    #[value(alias = "bayesian-dawid-skene")]
    Bds,
    /// One-coin Dawid-Skene (one accuracy per rater, shrunk towards the pool's).
    OneCoin,
    /// Chosen by evidence: cross-validated accuracy on --gold when there is enough, else the
    /// held-out likelihood of the raters' answers.
    Auto,
}

impl MethodArg {
    /// The engine's method.
    pub fn method(self) -> Method {
        match self {
            MethodArg::Mv => Method::Majority,
            MethodArg::Wawa => Method::Wawa,
            MethodArg::Ds => Method::DawidSkene,
            MethodArg::Glad => Method::Glad,
            MethodArg::Bds => Method::BayesianDawidSkene,
            MethodArg::OneCoin => Method::OneCoin,
            MethodArg::Auto => Method::Auto,
        }
    }
}

/// A method's name for people.
fn method_name(m: Method) -> &'static str {
    match m {
        Method::Majority => "majority vote",
        Method::Wawa => "Wawa",
        Method::DawidSkene => "Dawid-Skene",
        Method::Glad => "GLAD",
        Method::BayesianDawidSkene => "Bayesian Dawid-Skene",
        Method::OneCoin => "one-coin Dawid-Skene",
        Method::Auto => "auto",
    }
}

/// Runs `quorum aggregate`. Errors are complete sentences naming the file (and line) at fault.
pub fn run_aggregate(args: &AggregateArgs) -> Result<(), String> {
    let started = Instant::now();
    let show_progress = io::stderr().is_terminal();
    let method = args.method.method();

    let mut answers = read_input(&args.answers, show_progress, |r| {
        Answers::from_csv_reader(r)
    })?;
    if answers.is_empty() {
        return Err(format!(
            "{}: no answers after the header",
            display(&args.answers)
        ));
    }
    let gold = match &args.gold {
        Some(path) => read_input(path, show_progress, |r| answers.read_gold_csv(r))?,
        None => HashMap::new(),
    };

    let spinner = if show_progress && answers.len() >= SPINNER_MIN_LABELS {
        spinner(format!(
            "{} over {} answers…",
            method_name(method),
            answers.len()
        ))
    } else {
        ProgressBar::hidden()
    };
    let fit_started = Instant::now();
    let result = aggregate::aggregate(&answers, method, &gold, &Options::default());
    spinner.finish_and_clear();
    let outcome =
        result.map_err(|e| format!("cannot aggregate {}: {e}", display(&args.answers)))?;
    let fit_time = fit_started.elapsed();

    // Truth is read only now: its labels may add classes nobody chose, which must not change the
    // model. Reading it before writing anything means a bad truth file leaves no partial output.
    let truth = match &args.truth {
        Some(path) => {
            let truth = read_input(path, show_progress, |r| answers.read_gold_csv(r))?;
            if truth.is_empty() {
                return Err(format!(
                    "{}: none of its items has answers in {}, so there is nothing to score",
                    display(path),
                    display(&args.answers)
                ));
            }
            Some(truth)
        }
        None => None,
    };

    let out_name = args
        .out
        .as_deref()
        .map_or_else(|| "standard output".to_owned(), display);
    let written = match &args.out {
        Some(path) => {
            let file =
                File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            write_csv(file, &answers, &outcome)
        }
        None => write_csv(io::stdout().lock(), &answers, &outcome),
    };
    match written {
        Ok(()) => {}
        // `quorum aggregate … | head`: the reader has seen enough; the summary below still helps.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe && args.out.is_none() => {}
        Err(e) => return Err(format!("cannot write to {out_name}: {e}")),
    }

    let ties = outcome.items.iter().filter(|r| r.class.is_none()).count();
    let iterative = !matches!(outcome.method, Method::Majority | Method::Wawa);
    let iterations = match iterative {
        true if outcome.converged => {
            format!(", converged after {} iterations", outcome.iterations)
        }
        true => format!(
            ", stopped at the iteration cap ({}) before converging",
            outcome.iterations
        ),
        false => String::new(),
    };
    if let Some(choice) = &outcome.choice {
        eprintln!("auto chose {}", choice.reason());
    }
    eprintln!(
        "{}: {} answers, {} items, {} raters, {} distinct labels{iterations} ({:.2} s fit, {:.2} s total)",
        method_name(outcome.method),
        answers.len(),
        answers.n_items(),
        answers.n_workers(),
        outcome.classes,
        fit_time.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
    if outcome.duplicates > 0 {
        eprintln!(
            "note: {} answers repeat an (item, worker) pair; each worker's last answer to an \
             item counts, the earlier ones are ignored",
            outcome.duplicates
        );
    }
    if !gold.is_empty() {
        eprintln!("gold: {} items resolved to their gold label", gold.len());
    }
    match &outcome.calibration {
        Some(c) => eprintln!(
            "confidence calibrated on {} gold items: temperature {:.3}, expected calibration \
             error {:.4} -> {:.4} (out-of-fold gold posteriors)",
            c.gold_items, c.temperature, c.ece_before, c.ece_after
        ),
        None if !gold.is_empty() => {
            eprintln!("confidence not calibrated: fewer than 20 gold items have answers")
        }
        None => {}
    }
    match truth {
        Some(truth) => report_accuracy(&answers, &outcome, &truth, &gold, ties),
        None if ties > 0 => eprintln!(
            "note: {ties} items have an empty label: their top labels tie under {} \
             and Quorum never picks one by chance",
            method_name(outcome.method)
        ),
        None => {}
    }
    Ok(())
}

/// Prints `accuracy: 0.9397 (N of M items)` and how ties were scored.
fn report_accuracy(
    answers: &Answers,
    outcome: &Outcome,
    truth: &HashMap<u32, u32>,
    gold: &HashMap<u32, u32>,
    ties: usize,
) {
    let scored = outcome.labels_for_scoring(answers);
    let (mut total, mut correct, mut tied_scored) = (0usize, 0usize, 0usize);
    for (&item, &class) in truth {
        if gold.contains_key(&item) {
            continue;
        }
        total += 1;
        if scored.get(item as usize).copied().flatten() == Some(class) {
            correct += 1;
        }
        if outcome
            .items
            .get(item as usize)
            .is_some_and(|r| r.class.is_none())
        {
            tied_scored += 1;
        }
    }
    let skipped_gold = truth.len() - total;
    if total == 0 {
        eprintln!("accuracy: n/a (every truth item is a gold item)");
        return;
    }
    eprintln!(
        "accuracy: {:.4} ({correct} of {total} items)",
        correct as f64 / total as f64
    );
    if skipped_gold > 0 {
        eprintln!("note: {skipped_gold} truth items are gold items and were not scored");
    }
    if ties > 0 {
        eprintln!(
            "note: {} tied items ({tied_scored} of them in the truth set) are printed with an \
             empty label; the accuracy scores each by its smallest tied label, as the published \
             {} figures do",
            ties,
            method_name(outcome.method)
        );
    }
}

/// Writes `item,label,confidence` rows, one per item in first-seen order.
fn write_csv<W: Write>(sink: W, answers: &Answers, outcome: &Outcome) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .buffer_capacity(1 << 16)
        .from_writer(sink);
    w.write_record(["item", "label", "confidence"])
        .map_err(csv_io)?;
    let mut confidence = String::with_capacity(16);
    for (r, name) in outcome.items.iter().zip(answers.item_names()) {
        let label = r.class.and_then(|c| answers.class_name(c)).unwrap_or("");
        confidence.clear();
        // Writing into a String cannot fail.
        let _ = std::fmt::Write::write_fmt(&mut confidence, format_args!("{:.6}", r.confidence));
        w.write_record([name, label, confidence.as_str()])
            .map_err(csv_io)?;
    }
    w.flush()
}

/// A csv writer error as the I/O error it wraps (writing string records can fail no other way).
fn csv_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

/// Opens `path` (`-` = standard input) and hands a buffered reader to `parse`; errors name the
/// file. Large files get a progress bar on a terminal.
fn read_input<T>(
    path: &Path,
    show_progress: bool,
    parse: impl FnOnce(&mut dyn BufRead) -> Result<T, aggregate::ParseError>,
) -> Result<T, String> {
    let name = display(path);
    let (source, len): (Box<dyn Read>, Option<u64>) = if path.as_os_str() == "-" {
        (Box::new(io::stdin().lock()), None)
    } else {
        let file = File::open(path).map_err(|e| format!("cannot open {name}: {e}"))?;
        let len = file.metadata().ok().map(|m| m.len());
        (Box::new(file), len)
    };
    let bar = match len {
        _ if !show_progress => ProgressBar::hidden(),
        Some(len) if len >= PROGRESS_MIN_BYTES => {
            let bar = ProgressBar::new(len);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} reading {msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        }
        Some(_) => ProgressBar::hidden(),
        None => {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} reading {msg}: {bytes} ({bytes_per_sec})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        }
    };
    bar.set_message(name.clone());
    let mut reader = BufReader::with_capacity(READ_BUFFER, bar.wrap_read(source));
    let parsed = parse(&mut reader);
    bar.finish_and_clear();
    parsed.map_err(|e| format!("{name}: {e}"))
}

/// A ticking spinner on stderr.
fn spinner(message: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A path for messages (`-` is standard input).
fn display(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_output_quotes_names_and_leaves_ties_empty() {
        let mut a = Answers::new();
        for (i, w, l) in [
            ("x,1", "w1", "pos"),
            ("x,1", "w2", "pos"),
            ("tie", "w1", "pos"),
            ("tie", "w2", "neg"),
        ] {
            a.push(i, w, l).unwrap();
        }
        let out = aggregate::aggregate(&a, Method::Majority, &HashMap::new(), &Options::default())
            .unwrap();
        let mut buf = Vec::new();
        write_csv(&mut buf, &a, &out).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "item,label,confidence\n\"x,1\",pos,1.000000\ntie,,0.500000\n"
        );
    }

    #[test]
    fn method_names_parse() {
        for (s, m) in [
            ("mv", Method::Majority),
            ("majority", Method::Majority),
            ("wawa", Method::Wawa),
            ("ds", Method::DawidSkene),
            ("dawid-skene", Method::DawidSkene),
            ("glad", Method::Glad),
            ("bds", Method::BayesianDawidSkene),
            ("bayesian-dawid-skene", Method::BayesianDawidSkene),
            ("one-coin", Method::OneCoin),
            ("auto", Method::Auto),
        ] {
            assert_eq!(MethodArg::from_str(s, false).unwrap().method(), m);
        }
        assert!(MethodArg::from_str("em", false).is_err());
    }
}
