//! Accuracy on the shared crowd data sets against the published figures, gold clamping on real
//! data, and determinism.

use std::collections::HashMap;
use std::path::PathBuf;

use super::{ALL, DATA, README, load, score};
use crate::domain::aggregate::{Method, Options, accuracy, aggregate};

#[test]
fn accuracy_on_shared_crowd_data() {
    assert!(
        PathBuf::from(DATA).is_dir(),
        "shared crowd data missing at {DATA}"
    );
    let mut failures = Vec::new();
    for (name, n_items, mv, wawa, ds, glad) in README {
        let (answers, truth) = load(name);
        assert_eq!(answers.n_items(), n_items, "{name}: item count");
        assert_eq!(truth.len(), n_items, "{name}: truth count");
        let t = std::time::Instant::now();
        let got: Vec<(Method, f64, f64, usize, std::time::Duration)> = [
            (Method::Majority, mv),
            (Method::Wawa, wawa),
            (Method::DawidSkene, ds),
            (Method::Glad, glad),
        ]
        .into_iter()
        .map(|(m, want)| {
            let t = std::time::Instant::now();
            let (acc, out) = score(&answers, &truth, m);
            (m, acc, want, out.iterations, t.elapsed())
        })
        .collect();
        let line: Vec<String> = got
            .iter()
            .map(|(m, acc, want, it, el)| {
                format!("{m:?} {acc:.4} (README {want:.4}, {it} it, {el:.1?})")
            })
            .collect();
        eprintln!("{name:10} {} [{:?}]", line.join(" | "), t.elapsed());
        let mv_acc = got[0].1;
        if format!("{mv_acc:.4}") != format!("{mv:.4}") {
            failures.push(format!("{name}: majority vote {mv_acc:.4}, README {mv:.4}"));
        }
        let ds_acc = got[2].1;
        if ds_acc < ds - 0.003 {
            failures.push(format!(
                "{name}: Dawid-Skene {ds_acc:.4} < README {ds:.4} - 0.003"
            ));
        }
        // Wawa and GLAD are reported against the README; guard against gross regressions only.
        let wawa_acc = got[1].1;
        if wawa_acc < wawa - 0.005 {
            failures.push(format!(
                "{name}: Wawa {wawa_acc:.4} far below README {wawa:.4}"
            ));
        }
        let glad_acc = got[3].1;
        if glad_acc < glad - 0.01 {
            failures.push(format!(
                "{name}: GLAD {glad_acc:.4} far below README {glad:.4}"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn dawid_skene_gold_clamping_on_shared_data_does_not_hurt() {
    // Give DS the truth of every 10th item as gold: accuracy on the other items must not drop.
    let (answers, truth) = load("dog");
    let mut gold = HashMap::new();
    let mut rest = HashMap::new();
    for (&i, &c) in &truth {
        if i % 10 == 0 {
            gold.insert(i, c)
        } else {
            rest.insert(i, c)
        };
    }
    let plain = aggregate(
        &answers,
        Method::DawidSkene,
        &HashMap::new(),
        &Options::default(),
    )
    .unwrap();
    let with_gold = aggregate(&answers, Method::DawidSkene, &gold, &Options::default()).unwrap();
    let a = accuracy(&plain.labels_for_scoring(&answers), &rest).unwrap();
    let b = accuracy(&with_gold.labels_for_scoring(&answers), &rest).unwrap();
    assert!(b >= a - 0.005, "gold made it worse: {a} -> {b}");
    for (&i, &c) in &gold {
        assert_eq!(with_gold.items[i as usize].class, Some(c));
        assert_eq!(with_gold.items[i as usize].confidence, 1.0);
    }
}

#[test]
fn deterministic() {
    let (a, _) = load("rte");
    for m in ALL {
        let x = aggregate(&a, m, &HashMap::new(), &Options::default()).unwrap();
        let y = aggregate(&a, m, &HashMap::new(), &Options::default()).unwrap();
        assert_eq!(x, y);
    }
}
