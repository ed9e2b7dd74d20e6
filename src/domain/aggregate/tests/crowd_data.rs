//! Accuracy on the shared crowd data sets against the published figures, gold clamping on real
//! data, and determinism.

use std::collections::HashMap;
use std::path::PathBuf;

use super::{ALL, DATA, README, load, score};
use crate::domain::aggregate::{Method, Options, accuracy, aggregate};

/// Quorum's own figures before the Bayesian variants and `Auto` were added (measured on these
/// files at commit 722a745): no method may fall below them.
const BEFORE: [(&str, [(Method, f64); 4]); 4] = [
    (
        "d_product",
        [
            (Method::Majority, 0.8966),
            (Method::Wawa, 0.8966),
            (Method::DawidSkene, 0.9396),
            (Method::Glad, 0.9283),
        ],
    ),
    (
        "d_possent",
        [
            (Method::Majority, 0.9320),
            (Method::Wawa, 0.9520),
            (Method::DawidSkene, 0.9600),
            (Method::Glad, 0.9480),
        ],
    ),
    (
        "dog",
        [
            (Method::Majority, 0.8178),
            (Method::Wawa, 0.8302),
            (Method::DawidSkene, 0.8426),
            (Method::Glad, 0.8340),
        ],
    ),
    (
        "rte",
        [
            (Method::Majority, 0.9187),
            (Method::Wawa, 0.9213),
            (Method::DawidSkene, 0.9275),
            (Method::Glad, 0.9250),
        ],
    ),
];

#[test]
fn accuracy_on_shared_crowd_data() {
    assert!(
        PathBuf::from(DATA).is_dir(),
        "shared crowd data missing at {DATA}"
    );
    let mut failures = Vec::new();
    for ((name, n_items, mv, _, ds, _), (before_name, before)) in README.into_iter().zip(BEFORE) {
        assert_eq!(name, before_name);
        let (answers, truth) = load(name);
        assert_eq!(answers.n_items(), n_items, "{name}: item count");
        assert_eq!(truth.len(), n_items, "{name}: truth count");
        let mut line = Vec::new();
        for (m, was) in before {
            let (acc, out) = score(&answers, &truth, m);
            line.push(format!(
                "{} {acc:.4} (was {was:.4}, {} it)",
                m.as_str(),
                out.iterations
            ));
            // Four decimals, as the figures were recorded.
            if (acc * 1e4).round() < (was * 1e4).round() {
                failures.push(format!("{name}: {} {acc:.4} < {was:.4} before", m.as_str()));
            }
        }
        // Built for sparse pools. On these dense ones the Bayesian DS must stay within 0.3
        // points of DS; the one-coin model (one number per rater, blind to class-specific
        // confusion) must still beat majority vote.
        let (bds, _) = score(&answers, &truth, Method::BayesianDawidSkene);
        let (one, _) = score(&answers, &truth, Method::OneCoin);
        line.push(format!("bayesian_dawid_skene {bds:.4} | one_coin {one:.4}"));
        if bds < ds - 0.003 {
            failures.push(format!("{name}: Bayesian DS {bds:.4} < DS {ds:.4} - 0.003"));
        }
        if one < mv {
            failures.push(format!("{name}: one-coin {one:.4} < majority vote {mv:.4}"));
        }
        eprintln!("{name:10} {}", line.join(" | "));
        let mv_acc = score(&answers, &truth, Method::Majority).0;
        if format!("{mv_acc:.4}") != format!("{mv:.4}") {
            failures.push(format!("{name}: majority vote {mv_acc:.4}, README {mv:.4}"));
        }
        let ds_acc = score(&answers, &truth, Method::DawidSkene).0;
        if ds_acc < ds - 0.003 {
            failures.push(format!(
                "{name}: Dawid-Skene {ds_acc:.4} < README {ds:.4} - 0.003"
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
