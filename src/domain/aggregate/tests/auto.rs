//! `Auto` on the shared sets: within 0.3 points of the best method, with and without gold; and
//! calibration on gold lowering the expected calibration error on items it never saw.

use std::collections::HashMap;

use super::load;
use crate::domain::aggregate::{
    Answers, Criterion, Method, Options, Outcome, accuracy, aggregate, expected_calibration_error,
};

const NO_CALIBRATION: Options = Options {
    calibrate: false,
    ..Options::DEFAULT
};

fn scored(a: &Answers, out: &Outcome, truth: &HashMap<u32, u32>) -> f64 {
    accuracy(&out.labels_for_scoring(a), truth).unwrap()
}

/// Every candidate's accuracy and `Auto`'s, given `gold`, scored on `truth`.
fn compare(a: &Answers, gold: &HashMap<u32, u32>, truth: &HashMap<u32, u32>) -> (f64, f64, String) {
    let mut best = (0.0, Method::Majority);
    for m in Method::CANDIDATES {
        let acc = scored(a, &aggregate(a, m, gold, &NO_CALIBRATION).unwrap(), truth);
        if acc > best.0 {
            best = (acc, m);
        }
    }
    let out = aggregate(a, Method::Auto, gold, &Options::default()).unwrap();
    let choice = out.choice.clone().unwrap();
    assert_eq!(choice.method, out.method);
    assert_eq!(choice.scores.len(), Method::CANDIDATES.len());
    let want = if gold.len() >= 20 {
        Criterion::GoldAccuracy
    } else {
        Criterion::HeldOutLikelihood
    };
    assert_eq!(choice.criterion, want);
    let reason = choice.reason();
    assert!(reason.starts_with(choice.method.as_str()), "{reason}");
    (
        best.0,
        scored(a, &out, truth),
        format!("best {:?}; {reason}", best.1),
    )
}

#[test]
fn auto_without_gold_is_within_three_tenths_of_a_point_of_the_best_method() {
    let mut failures = Vec::new();
    for name in ["d_product", "d_possent", "dog", "rte"] {
        let (a, truth) = load(name);
        let (best, auto, why) = compare(&a, &HashMap::new(), &truth);
        eprintln!("{name:10} best {best:.4} auto {auto:.4}: {why}");
        if auto < best - 0.003 {
            failures.push(format!(
                "{name}: auto {auto:.4} < best {best:.4} - 0.003 ({why})"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Every fifth truth item is gold; accuracy is scored on the other four fifths. `d_product` is
/// left out to keep the debug run short (30 fits); BENCHMARKS.md has it.
#[test]
fn auto_with_gold_is_within_three_tenths_of_a_point_of_the_best_method() {
    let mut failures = Vec::new();
    for name in ["d_possent", "dog", "rte"] {
        let (a, truth) = load(name);
        let (gold, rest): (HashMap<u32, u32>, HashMap<u32, u32>) =
            truth.iter().partition(|(i, _)| *i % 5 == 0);
        let (best, auto, why) = compare(&a, &gold, &rest);
        eprintln!("{name:10} best {best:.4} auto {auto:.4}: {why}");
        if auto < best - 0.003 {
            failures.push(format!(
                "{name}: auto {auto:.4} < best {best:.4} - 0.003 ({why})"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Half the truth is gold: the confidences `Auto` reports on the other half are better calibrated
/// than the raw posteriors (expected calibration error, ten bins).
#[test]
fn calibration_on_gold_lowers_the_calibration_error_on_unseen_items() {
    for name in ["d_possent", "dog", "rte"] {
        let (a, truth) = load(name);
        let (gold, rest): (HashMap<u32, u32>, HashMap<u32, u32>) =
            truth.iter().partition(|(i, _)| *i % 2 == 0);
        let ece = |out: &Outcome| {
            let pairs: Vec<(f64, f64)> = rest
                .iter()
                .map(|(&i, &t)| {
                    let r = out.items[i as usize];
                    let right = match r.class {
                        Some(c) => f64::from(u8::from(c == t)),
                        None => {
                            let row = out.posterior(i);
                            let tied = row.iter().filter(|p| **p >= r.confidence - 1e-9).count();
                            if row[t as usize] >= r.confidence - 1e-9 {
                                1.0 / tied as f64
                            } else {
                                0.0
                            }
                        }
                    };
                    (r.confidence, right)
                })
                .collect();
            expected_calibration_error(&pairs).unwrap()
        };
        let raw = aggregate(&a, Method::Auto, &gold, &NO_CALIBRATION).unwrap();
        let cal = aggregate(&a, Method::Auto, &gold, &Options::default()).unwrap();
        let c = cal.calibration.clone().unwrap();
        let (before, after) = (ece(&raw), ece(&cal));
        eprintln!(
            "{name:10} {}: T = {:.3}, ECE on unseen items {before:.4} -> {after:.4} \
             (out-of-fold gold {:.4} -> {:.4})",
            cal.method.as_str(),
            c.temperature,
            c.ece_before,
            c.ece_after
        );
        assert!(after < before, "{name}: ECE {before} -> {after}");
        assert_eq!(raw.method, cal.method);
        for (x, y) in raw.items.iter().zip(&cal.items) {
            assert_eq!(x.class, y.class, "calibration never changes a class");
        }
    }
}
