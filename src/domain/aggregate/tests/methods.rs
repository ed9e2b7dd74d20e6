//! Every method on small and random inputs: degenerate sets, silly options, ties, gold, size
//! limits, and recovery of known worker accuracies.

use std::collections::HashMap;

use super::{ALL, Rng, answers, check_invariants, score};
use crate::domain::aggregate::{AggregateError, Answers, Method, Options, aggregate};

#[test]
fn degenerate_inputs_do_not_panic() {
    let cases: Vec<Answers> = vec![
        Answers::new(),
        answers(&[("i", "w", "a")]),
        answers(&[("i", "w", "a"), ("j", "w", "a"), ("k", "v", "a")]), // one class
        answers(&[("i", "w", "a"), ("i", "v", "b")]),                  // a tie, two raters
        answers(&[("i", "w", "a"), ("j", "w", "b"), ("k", "w", "c")]), // one rater
        answers(&[("i", "w", "a"), ("i", "w", "a"), ("i", "w", "b")]), // duplicate votes
    ];
    for a in &cases {
        for m in ALL {
            let out = aggregate(a, m, &HashMap::new(), &Options::default()).unwrap();
            check_invariants(a, &out);
        }
    }
    // Class registered but never chosen.
    let mut a = answers(&[("i", "w", "a"), ("j", "v", "a")]);
    a.add_class("zzz").unwrap();
    for m in ALL {
        let out = aggregate(&a, m, &HashMap::new(), &Options::default()).unwrap();
        check_invariants(&a, &out);
        assert_eq!(out.items[0].class, Some(0), "{m:?}");
    }
}

#[test]
fn silly_options_are_survived() {
    let a = answers(&[
        ("i", "w", "a"),
        ("i", "v", "b"),
        ("j", "w", "a"),
        ("j", "v", "a"),
    ]);
    let weird = [
        Options {
            max_iterations: 0,
            ..Options::default()
        },
        Options {
            tolerance: f64::NAN,
            smoothing: f64::NAN,
            ..Options::default()
        },
        Options {
            tolerance: -1.0,
            smoothing: -3.0,
            m_step_iterations: 0,
            ..Options::default()
        },
        Options {
            smoothing: 0.0,
            tolerance: 0.0,
            max_iterations: 1000,
            ..Options::default()
        },
        Options {
            smoothing: 1e300,
            ..Options::default()
        },
    ];
    for o in weird {
        for m in ALL {
            let out = aggregate(&a, m, &HashMap::new(), &o).unwrap();
            check_invariants(&a, &out);
        }
    }
}

#[test]
fn majority_tie_is_unresolved_but_scored_by_smallest_label() {
    let a = answers(&[
        ("i", "w1", "pos"),
        ("i", "w2", "neg"),
        ("j", "w1", "pos"),
        ("j", "w2", "pos"),
        ("j", "w3", "neg"),
    ]);
    let out = aggregate(&a, Method::Majority, &HashMap::new(), &Options::default()).unwrap();
    assert_eq!(out.items[0].class, None);
    assert_eq!(out.items[0].confidence, 0.5);
    assert_eq!(out.posterior(0), &[0.5, 0.5]);
    assert_eq!(out.items[1].class, a.class_index("pos"));
    assert!((out.items[1].confidence - 2.0 / 3.0).abs() < 1e-12);
    let scored = out.labels_for_scoring(&a);
    assert_eq!(scored[0], a.class_index("neg")); // "neg" < "pos"
    assert_eq!(scored[1], a.class_index("pos"));
    // w1 agrees on j and half-agrees on the tie; w3 disagrees on j.
    assert!((out.worker_accuracy[0] - 0.75).abs() < 1e-12);
    assert_eq!(
        out.worker_accuracy[a.worker_index("w3").unwrap() as usize],
        0.0
    );
}

#[test]
fn gold_overrides_every_method() {
    let a = answers(&[
        ("i", "w1", "a"),
        ("i", "w2", "a"),
        ("i", "w3", "b"),
        ("j", "w1", "b"),
    ]);
    let gold = HashMap::from([(0, 1)]);
    for m in ALL {
        let out = aggregate(&a, m, &gold, &Options::default()).unwrap();
        assert_eq!(out.items[0].class, Some(1), "{m:?}");
        assert_eq!(out.posterior(0), &[0.0, 1.0]);
    }
    assert_eq!(
        aggregate(
            &a,
            Method::Majority,
            &HashMap::from([(7, 0)]),
            &Options::default()
        ),
        Err(AggregateError::GoldItemOutOfRange { item: 7 })
    );
    assert_eq!(
        aggregate(
            &a,
            Method::Majority,
            &HashMap::from([(0, 9)]),
            &Options::default()
        ),
        Err(AggregateError::GoldClassOutOfRange { item: 0, class: 9 })
    );
}

#[test]
fn too_large_is_refused() {
    let a = answers(&[("i", "w", "a"), ("j", "w", "b"), ("k", "w", "c")]);
    let o = Options {
        max_cells: 5,
        ..Options::default()
    };
    assert!(matches!(
        aggregate(&a, Method::Majority, &HashMap::new(), &o),
        Err(AggregateError::TooLarge { .. })
    ));
}

/// Workers with known accuracies: DS and GLAD must recover them and beat majority vote.
#[test]
fn synthetic_workers_are_recovered() {
    let mut rng = Rng(7);
    let skill = [0.95, 0.9, 0.85, 0.6, 0.55, 0.5, 0.45];
    let k = 3u64;
    let mut a = Answers::new();
    let mut truth = HashMap::new();
    for i in 0..3000 {
        let t = rng.next() % k;
        for (w, s) in skill.iter().enumerate() {
            let l = if rng.unit() < *s {
                t
            } else {
                (t + 1 + rng.next() % (k - 1)) % k
            };
            a.push(&format!("i{i}"), &format!("w{w}"), &format!("c{l}"))
                .unwrap();
        }
        truth.insert(
            a.item_index(&format!("i{i}")).unwrap(),
            a.class_index(&format!("c{t}")).unwrap_or(0),
        );
    }
    let mv = score(&a, &truth, Method::Majority).0;
    for m in [Method::DawidSkene, Method::Glad, Method::Wawa] {
        let (acc, out) = score(&a, &truth, m);
        check_invariants(&a, &out);
        assert!(acc > mv, "{m:?} {acc} vs MV {mv}");
        if m == Method::DawidSkene {
            assert!(out.converged);
            for (w, s) in skill.iter().enumerate() {
                let est = out.worker_accuracy[a.worker_index(&format!("w{w}")).unwrap() as usize];
                assert!((est - s).abs() < 0.03, "worker {w}: {est} vs {s}");
            }
        }
    }
}

/// Random small inputs (1–4 classes, single raters, duplicates, gold) through every method.
#[test]
fn random_inputs_keep_invariants() {
    let mut rng = Rng(99);
    for case in 0..300 {
        let (items, workers, classes) =
            (1 + rng.next() % 6, 1 + rng.next() % 4, 1 + rng.next() % 4);
        let mut a = Answers::new();
        for _ in 0..1 + rng.next() % 15 {
            let (i, w, c) = (
                rng.next() % items,
                rng.next() % workers,
                rng.next() % classes,
            );
            a.push(&format!("i{i}"), &format!("w{w}"), &format!("c{c}"))
                .unwrap();
        }
        let mut gold = HashMap::new();
        if case % 3 == 0 {
            gold.insert(0, (rng.next() % a.n_classes() as u64) as u32);
        }
        for m in ALL {
            let out = aggregate(&a, m, &gold, &Options::default()).unwrap();
            check_invariants(&a, &out);
            assert_eq!(out.labels_for_scoring(&a).len(), a.n_items());
        }
        agreement_smoke(&a);
    }
}

/// The agreement metrics (sibling module `agreement`) on the same random data must not panic
/// and stay in range when defined.
fn agreement_smoke(a: &Answers) {
    use crate::domain::agreement as agr;
    let in_range = |x: Option<f64>| x.is_none_or(|x| x.is_finite() && x <= 1.0 + 1e-12);
    assert!(in_range(agr::fleiss_kappa(a.triples())));
    assert!(in_range(agr::krippendorff_alpha_nominal(a.triples())));
    let p = agr::pairwise_cohen_kappa(a.triples(), 1);
    assert!(in_range(p.mean) && in_range(p.weighted_mean));
}
