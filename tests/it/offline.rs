//! `quorum aggregate`: the real binary on the shared crowd data sets and on broken files.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The shared crowd data (see its README). Missing data must fail the tests, not skip them.
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/crowd");

/// (data set, items, majority vote, Dawid-Skene) from the data README (crowd-kit 1.4.2).
const README: [(&str, usize, f64, f64); 4] = [
    ("d_product", 8315, 0.8966, 0.9397),
    ("d_possent", 1000, 0.9320, 0.9600),
    ("dog", 807, 0.8178, 0.8426),
    ("rte", 800, 0.9187, 0.9275),
];

fn data(set: &str, file: &str) -> PathBuf {
    let path = Path::new(DATA).join(set).join(file);
    assert!(
        path.is_file(),
        "shared crowd data missing: {}",
        path.display()
    );
    path
}

/// Runs `quorum aggregate ARGS…` in a scratch directory (so no stray data directory appears).
fn aggregate(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    let cwd = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quorum"));
    cmd.current_dir(cwd.path()).arg("aggregate");
    for a in args {
        cmd.arg(a);
    }
    cmd.output().expect("run quorum aggregate")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The `accuracy: 0.9275 (742 of 800 items)` line: (accuracy, correct, total).
fn accuracy_line(o: &Output) -> (f64, usize, usize) {
    let err = stderr(o);
    let line = err
        .lines()
        .find_map(|l| l.strip_prefix("accuracy: "))
        .unwrap_or_else(|| panic!("no accuracy line in stderr:\n{err}"));
    let parse = || -> Option<(f64, usize, usize)> {
        let (acc, rest) = line.split_once(" (")?;
        let rest = rest.strip_suffix(" items)")?;
        let (n, m) = rest.split_once(" of ")?;
        Some((acc.parse().ok()?, n.parse().ok()?, m.parse().ok()?))
    };
    parse().unwrap_or_else(|| panic!("malformed accuracy line {line:?}"))
}

/// Output rows as (item, label, confidence), checking the header.
fn rows(csv_text: &[u8]) -> Vec<(String, String, f64)> {
    let mut r = csv::Reader::from_reader(csv_text);
    let header: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, ["item", "label", "confidence"]);
    r.records()
        .map(|rec| {
            let rec = rec.expect("well-formed output row");
            assert_eq!(rec.len(), 3, "{rec:?}");
            let confidence: f64 = rec[2].parse().expect("numeric confidence");
            assert!((0.0..=1.0).contains(&confidence), "{rec:?}");
            (rec[0].to_owned(), rec[1].to_owned(), confidence)
        })
        .collect()
}

fn answer_items(set: &str) -> HashSet<String> {
    let mut r = csv::Reader::from_path(data(set, "answers.csv")).expect("answers.csv");
    r.records()
        .map(|rec| rec.expect("answers row")[0].to_owned())
        .collect()
}

#[test]
fn dawid_skene_on_rte_prints_every_item_and_the_accuracy() {
    let out = aggregate(&[
        &data("rte", "answers.csv"),
        &"--method",
        &"ds",
        &"--truth",
        &data("rte", "truth.csv"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = rows(&out.stdout);
    assert_eq!(rows.len(), 800);
    let items: HashSet<String> = rows.iter().map(|r| r.0.clone()).collect();
    assert_eq!(items, answer_items("rte"), "one row per answered item");
    assert!(rows.iter().all(|r| r.1 == "0" || r.1 == "1"), "labels");
    let (acc, correct, total) = accuracy_line(&out);
    assert_eq!(total, 800);
    assert!((acc - correct as f64 / total as f64).abs() < 1e-4);
    assert!(acc >= 0.9275 - 0.003, "Dawid-Skene on rte: {acc}");
}

#[test]
fn accuracy_matches_the_readme_on_every_data_set() {
    let mut failures = Vec::new();
    for (set, items, mv, ds) in README {
        let run = |method: &str| {
            let out = aggregate(&[
                &data(set, "answers.csv"),
                &"--method",
                &method,
                &"--truth",
                &data(set, "truth.csv"),
            ]);
            assert!(out.status.success(), "{set} {method}: {}", stderr(&out));
            assert_eq!(rows(&out.stdout).len(), items, "{set} {method}");
            accuracy_line(&out)
        };
        let (got_mv, _, total) = run("mv");
        assert_eq!(total, items, "{set}: truth items scored");
        if format!("{got_mv:.4}") != format!("{mv:.4}") {
            failures.push(format!("{set}: majority vote {got_mv:.4}, README {mv:.4}"));
        }
        let (got_ds, _, _) = run("ds");
        if got_ds < ds - 0.003 {
            failures.push(format!(
                "{set}: Dawid-Skene {got_ds:.4} < README {ds:.4} - 0.003"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn majority_ties_are_printed_unresolved() {
    let out = aggregate(&[
        &data("rte", "answers.csv"),
        &"--method",
        &"mv",
        &"--truth",
        &data("rte", "truth.csv"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = rows(&out.stdout);
    let ties: Vec<_> = rows.iter().filter(|r| r.1.is_empty()).collect();
    assert!(!ties.is_empty(), "rte has 5-5 splits");
    assert!(ties.iter().all(|r| (r.2 - 0.5).abs() < 1e-9), "{ties:?}");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{} tied items", ties.len())) && err.contains("smallest"),
        "{err}"
    );
}

#[test]
fn gold_and_out_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Every 10th truth row becomes gold.
    let truth = std::fs::read_to_string(data("dog", "truth.csv")).expect("truth");
    let mut gold_rows = HashMap::new();
    let mut gold = String::from("item,label\n");
    for (i, line) in truth.lines().skip(1).enumerate() {
        if i.is_multiple_of(10) {
            let (item, label) = line.split_once(',').expect("item,label");
            gold_rows.insert(item.to_owned(), label.to_owned());
            gold.push_str(line);
            gold.push('\n');
        }
    }
    let gold_path = dir.path().join("gold.csv");
    std::fs::write(&gold_path, gold).expect("write gold");
    let out_path = dir.path().join("labels.csv");
    let out = aggregate(&[
        &data("dog", "answers.csv"),
        &"--gold",
        &gold_path,
        &"--truth",
        &data("dog", "truth.csv"),
        &"--out",
        &out_path,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "--out leaves stdout empty");
    let rows = rows(&std::fs::read(&out_path).expect("output file"));
    assert_eq!(rows.len(), 807);
    for (item, label, confidence) in &rows {
        if let Some(g) = gold_rows.get(item) {
            assert_eq!((label, *confidence), (g, 1.0), "gold item {item}");
        }
    }
    let (acc, _, total) = accuracy_line(&out);
    assert_eq!(total, 807 - gold_rows.len(), "gold items are not scored");
    assert!(acc >= 0.8426 - 0.01, "{acc}");
}

#[test]
fn bad_files_fail_with_the_line_number() {
    let dir = tempfile::tempdir().expect("temp dir");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    let wrong_header = write("header.csv", "item,rater,answer\n1,w,a\n");
    let short_row = write("short.csv", "item,worker,label\n1,w1,a\n2,w2\n3,w3,b\n");
    let open_quote = write("quote.csv", "item,worker,label\n1,w1,a\n\n2,\"w2,b\n");
    let cases: [(&Path, &str); 3] = [
        (&wrong_header, "line 1"),
        (&short_row, "line 3"),
        (&open_quote, "line 4"),
    ];
    for (path, needle) in cases {
        let out = aggregate(&[&path]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{}: {err}", path.display());
        assert!(
            err.contains(needle),
            "{}: want {needle:?} in {err}",
            path.display()
        );
        let name = path.file_name().and_then(|n| n.to_str()).expect("name");
        assert!(err.contains(name), "the file is named: {err}");
        assert!(out.stdout.is_empty(), "no partial output");
    }
    // A bad truth file also fails before any output is written.
    let out = aggregate(&[&data("rte", "answers.csv"), &"--truth", &short_row]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("line 3"), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    // A missing file and an unknown method.
    let out = aggregate(&[&dir.path().join("missing.csv")]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("cannot open"), "{}", stderr(&out));
    let out = aggregate(&[&data("rte", "answers.csv"), &"--method", &"em"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("mv, wawa, ds, glad"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn auto_prints_its_choice_and_calibrates_on_gold() {
    // No gold: chosen by held-out likelihood, said on stderr.
    let out = aggregate(&[
        &data("rte", "answers.csv"),
        &"--method",
        &"auto",
        &"--truth",
        &data("rte", "truth.csv"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.starts_with("auto chose "))
        .unwrap_or_else(|| panic!("no choice in stderr:\n{err}"));
    assert!(line.contains("held-out"), "{line}");
    let (acc, _, _) = accuracy_line(&out);
    assert!(acc >= 0.9275 - 0.003, "auto on rte: {acc}");
    // With every other truth row as gold: chosen on gold accuracy, confidences calibrated.
    let dir = tempfile::tempdir().expect("temp dir");
    let truth = std::fs::read_to_string(data("rte", "truth.csv")).expect("truth");
    let mut gold = String::from("item,label\n");
    for line in truth.lines().skip(1).step_by(2) {
        gold.push_str(line);
        gold.push('\n');
    }
    let gold_path = dir.path().join("gold.csv");
    std::fs::write(&gold_path, gold).expect("write gold");
    let out = aggregate(&[
        &data("rte", "answers.csv"),
        &"--gold",
        &gold_path,
        &"--out",
        &dir.path().join("out.csv"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("auto chose ") && err.contains("gold items"),
        "{err}"
    );
    assert!(
        err.contains("confidence calibrated on 400 gold items"),
        "{err}"
    );
}
