//! Hand-worked examples for each estimator: duplicate answers, the Bayesian and one-coin
//! Dawid-Skene on raters with one label, recovery of known accuracies, `Auto`'s evidence.

use std::collections::HashMap;

use super::{Rng, answers, check_invariants, score};
use crate::domain::aggregate::{Answers, Criterion, Method, Options, aggregate};

/// A worker's repeated answer to an item counts once, the later one.
#[test]
fn duplicate_answers_last_one_wins() {
    // w first says a, then b; v says b. Counting both of w's answers would tie a/b; last-one-wins
    // gives b two votes of two.
    let a = answers(&[
        ("i", "w", "a"),
        ("i", "v", "b"),
        ("i", "w", "b"),
        ("j", "w", "a"),
    ]);
    for m in super::ALL {
        let out = aggregate(&a, m, &HashMap::new(), &Options::default()).unwrap();
        check_invariants(&a, &out);
        assert_eq!(out.duplicates, 1, "{m:?}");
        assert_eq!(out.items[0].class, a.class_index("b"), "{m:?}");
    }
    let mv = aggregate(&a, Method::Majority, &HashMap::new(), &Options::default()).unwrap();
    assert_eq!(mv.posterior(0), &[0.0, 1.0]);
    assert_eq!(mv.items[0].confidence, 1.0);
}

/// 200 items, five dense raters (90 % right) and, on each item, one newcomer who gives that one
/// label only. Classic DS, with its pseudo-count of 0.01, knows nothing of a newcomer's other
/// class (half right there) and believes the one label on its own (near 1 or near 0): its
/// estimates land around 0.75 or 0.25. The Bayesian and one-coin variants shrink the newcomers to
/// the pool's 0.9.
#[test]
fn one_label_raters_are_shrunk_to_the_pool() {
    let mut rng = Rng(11);
    let mut a = Answers::new();
    for i in 0..200 {
        let t = rng.next() % 2;
        let mut say = |w: String, rng: &mut Rng| {
            let l = if rng.unit() < 0.9 { t } else { 1 - t };
            a.push(&format!("i{i}"), &w, &format!("c{l}")).unwrap();
        };
        for w in 0..5 {
            say(format!("dense{w}"), &mut rng);
        }
        say(format!("new{i}"), &mut rng);
    }
    let newcomers: Vec<usize> = (0..200)
        .map(|i| a.worker_index(&format!("new{i}")).unwrap() as usize)
        .collect();
    let spread = |m: Method| {
        let out = aggregate(&a, m, &HashMap::new(), &Options::default()).unwrap();
        check_invariants(&a, &out);
        let est: Vec<f64> = newcomers.iter().map(|&w| out.worker_accuracy[w]).collect();
        let mean = est.iter().sum::<f64>() / est.len() as f64;
        let error = est.iter().map(|x| (x - 0.9).abs()).sum::<f64>() / est.len() as f64;
        (mean, error)
    };
    let (_, ds_error) = spread(Method::DawidSkene);
    assert!(ds_error > 0.1, "classic DS: mean error {ds_error}");
    for m in [Method::BayesianDawidSkene, Method::OneCoin] {
        let (mean, error) = spread(m);
        assert!(error < 0.05, "{m:?}: mean error {error}");
        assert!((mean - 0.9).abs() < 0.05, "{m:?}: mean {mean}");
    }
}

/// Known accuracies on a dense pool: the one-coin and Bayesian DS recover them and beat majority
/// vote (as classic DS does in `methods.rs`).
#[test]
fn bayesian_and_one_coin_recover_known_accuracies() {
    let mut rng = Rng(7);
    let skill = [0.95, 0.9, 0.85, 0.6, 0.55, 0.5, 0.45];
    let mut a = Answers::new();
    let mut truth = HashMap::new();
    for i in 0..3000 {
        let t = rng.next() % 3;
        for (w, s) in skill.iter().enumerate() {
            let l = if rng.unit() < *s {
                t
            } else {
                (t + 1 + rng.next() % 2) % 3
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
    for m in [Method::BayesianDawidSkene, Method::OneCoin] {
        let (acc, out) = score(&a, &truth, m);
        assert!(acc > mv, "{m:?} {acc} vs MV {mv}");
        for (w, s) in skill.iter().enumerate() {
            let est = out.worker_accuracy[a.worker_index(&format!("w{w}")).unwrap() as usize];
            assert!((est - s).abs() < 0.03, "{m:?} worker {w}: {est} vs {s}");
        }
    }
}

/// `Auto` uses gold when there are at least 20 gold items with answers, and says so.
#[test]
fn auto_uses_gold_only_when_there_is_enough() {
    let mut rng = Rng(3);
    let mut a = Answers::new();
    let mut truth = HashMap::new();
    for i in 0..300 {
        let t = rng.next() % 2;
        for w in 0..4 {
            let l = if rng.unit() < 0.8 { t } else { 1 - t };
            a.push(&format!("i{i}"), &format!("w{w}"), &format!("c{l}"))
                .unwrap();
        }
        truth.insert(
            a.item_index(&format!("i{i}")).unwrap(),
            a.class_index(&format!("c{t}")),
        );
    }
    let gold = |n: u32| -> HashMap<u32, u32> {
        truth
            .iter()
            .filter(|(i, c)| **i < n && c.is_some())
            .map(|(i, c)| (*i, c.unwrap_or(0)))
            .collect()
    };
    let few = aggregate(&a, Method::Auto, &gold(19), &Options::default()).unwrap();
    let choice = few.choice.unwrap();
    assert_eq!(choice.criterion, Criterion::HeldOutLikelihood);
    assert!(choice.reason().contains("held-out"), "{}", choice.reason());
    assert!(few.calibration.is_none());
    let enough = aggregate(&a, Method::Auto, &gold(40), &Options::default()).unwrap();
    let choice = enough.choice.unwrap();
    assert_eq!(choice.criterion, Criterion::GoldAccuracy);
    assert_eq!((choice.evidence, choice.folds), (40, 5));
    assert!(
        choice.reason().contains("40 gold items"),
        "{}",
        choice.reason()
    );
    assert_eq!(enough.calibration.unwrap().gold_items, 40);
    // Deterministic, like every method.
    let again = aggregate(&a, Method::Auto, &gold(40), &Options::default()).unwrap();
    assert_eq!(again.choice.unwrap(), choice);
}
