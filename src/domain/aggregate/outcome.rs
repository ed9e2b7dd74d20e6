//! What a run produces: the per-item [`Resolved`] labels, the [`Outcome`] with posteriors and
//! worker accuracies, scoring against a truth set ([`accuracy`]), and the top-class and tie rule.

use std::collections::HashMap;

use super::{Answers, Calibration, Choice, Method, TIE_EPSILON};

/// The resolution of one item.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Resolved {
    /// Item index.
    pub item: u32,
    /// The resolved class, or `None` when the top classes tie (send to adjudication).
    pub class: Option<u32>,
    /// Posterior probability of `class`; for a tie, the tied (highest) posterior.
    pub confidence: f64,
}

/// Everything one aggregation run produces.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The method that produced this outcome.
    pub method: Method,
    /// Number of classes, i.e. the width of each posterior row.
    pub classes: usize,
    /// One entry per item, indexed by item index.
    pub items: Vec<Resolved>,
    /// Row-major `items.len() × classes` posterior; use [`Outcome::posterior`]. Flat to keep a
    /// million items to one allocation.
    pub posterior: Vec<f64>,
    /// Estimated probability that each worker answers correctly, by worker index. Majority and
    /// Wawa: share of the worker's answers agreeing with the consensus (a tied item credits `1/t`
    /// for each of its `t` top classes). Dawid-Skene: `Σ_k prior_k · π_w[k][k]`. GLAD: mean of
    /// `σ(α_w β_i)` over the worker's items.
    pub worker_accuracy: Vec<f64>,
    /// Estimated class frequencies (mean posterior; Dawid-Skene's fitted prior).
    pub class_prior: Vec<f64>,
    /// EM iterations run (0 for majority vote and Wawa).
    pub iterations: usize,
    /// Whether EM met the tolerance before the iteration cap (always true for non-iterative
    /// methods).
    pub converged: bool,
    /// With [`Method::Auto`]: which method was chosen, by what evidence, and every candidate's
    /// score (`method` above is the chosen one).
    pub choice: Option<Choice>,
    /// The calibration applied to the confidences, when there was enough gold.
    pub calibration: Option<Calibration>,
    /// Answers left out because their worker answered the same item again later (last one wins).
    pub duplicates: usize,
}

impl Outcome {
    /// The posterior row of `item` (empty for an unknown index).
    pub fn posterior(&self, item: u32) -> &[f64] {
        let start = (item as usize).saturating_mul(self.classes);
        self.posterior
            .get(start..start.saturating_add(self.classes))
            .unwrap_or(&[])
    }

    /// One label per item for scoring against a truth set: the resolved class, or for a tie the
    /// tied class whose name sorts first (the convention of published accuracy tables). Never use
    /// this to resolve items on the platform; ties there go to adjudication.
    pub fn labels_for_scoring(&self, answers: &Answers) -> Vec<Option<u32>> {
        let name = |c: usize| {
            u32::try_from(c)
                .ok()
                .and_then(|c| answers.class_name(c))
                .unwrap_or("")
        };
        self.items
            .iter()
            .map(|r| {
                if r.class.is_some() {
                    return r.class;
                }
                let row = self.posterior(r.item);
                let max = row_max(row)?;
                (0..row.len())
                    .filter(|&c| row[c] >= max - TIE_EPSILON)
                    .min_by(|&a, &b| name(a).cmp(name(b)).then(a.cmp(&b)))
                    .and_then(|c| u32::try_from(c).ok())
            })
            .collect()
    }
}

/// Share of truth items whose predicted label equals the truth (items beyond `predicted` or without
/// a prediction count as wrong). `None` when `truth` is empty.
pub fn accuracy(predicted: &[Option<u32>], truth: &HashMap<u32, u32>) -> Option<f64> {
    if truth.is_empty() {
        return None;
    }
    let correct = truth
        .iter()
        .filter(|&(&item, &class)| predicted.get(item as usize).copied().flatten() == Some(class))
        .count();
    Some(correct as f64 / truth.len() as f64)
}

/// Largest finite-or-infinite value of a row, ignoring NaN; `None` for an empty or all-NaN row.
pub(super) fn row_max(row: &[f64]) -> Option<f64> {
    row.iter().copied().filter(|x| !x.is_nan()).reduce(f64::max)
}

/// The single top class of a posterior row, or `None` when several share the top (within
/// [`TIE_EPSILON`]); the second value is the top posterior.
pub(super) fn top_class(row: &[f64]) -> (Option<u32>, f64) {
    let Some(max) = row_max(row) else {
        return (None, 0.0);
    };
    let mut top = None;
    for (c, &p) in row.iter().enumerate() {
        if p >= max - TIE_EPSILON {
            if top.is_some() {
                return (None, max);
            }
            top = Some(c as u32);
        }
    }
    (top, max)
}
