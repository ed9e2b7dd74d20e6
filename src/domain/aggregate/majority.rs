//! Majority vote: every vote counts once, the posterior is the vote share.
//!
//! Also owns "agreement with the consensus", the worker-accuracy measure that majority vote reports
//! and that Wawa uses as its worker weight.

use super::{Fit, Prepared, RaterModel, TIE_EPSILON, row_max};

/// Vote shares per item, row-major `n_items × n_classes`. An item without votes (not produced by
/// `Answers`, but cheap to guard) gets a uniform row so every row still sums to 1.
pub(super) fn shares(prep: &Prepared) -> Vec<f64> {
    let k = prep.n_classes;
    let mut post = vec![0.0; prep.n_items * k];
    for i in 0..prep.n_items {
        let row = &mut post[i * k..(i + 1) * k];
        let votes = prep.votes_of(i);
        if votes.is_empty() {
            row.fill(1.0 / k as f64);
            continue;
        }
        for v in votes {
            row[v.class as usize] += 1.0;
        }
        let n = votes.len() as f64;
        row.iter_mut().for_each(|p| *p /= n);
    }
    post
}

/// Majority vote. Ties are left to `finish` (class `None`), since vote shares tie exactly.
pub(super) fn fit(prep: &Prepared) -> Fit {
    let posterior = shares(prep);
    let worker_accuracy = agreement_with_consensus(prep, &posterior);
    Fit {
        posterior,
        worker_accuracy,
        class_prior: Vec::new(),
        iterations: 0,
        converged: true,
        rater_model: RaterModel::None,
    }
}

/// Share of each worker's votes that agree with the consensus `posterior` (gold where known).
///
/// On an item whose top classes tie, a vote for one of the `t` tied classes earns `1/t`: the
/// expected agreement under an unbiased tie break, so no arbitrary rule (like label order) leaks
/// into the skill estimates. A worker without votes gets 0.
pub(super) fn agreement_with_consensus(prep: &Prepared, posterior: &[f64]) -> Vec<f64> {
    let k = prep.n_classes;
    let mut agree = vec![0.0f64; prep.n_workers];
    let mut total = vec![0u64; prep.n_workers];
    let mut top = Vec::with_capacity(k);
    for i in 0..prep.n_items {
        top.clear();
        if let Some(g) = prep.gold[i] {
            top.push(g);
        } else {
            let row = &posterior[i * k..(i + 1) * k];
            if let Some(max) = row_max(row) {
                top.extend((0..k as u32).filter(|&c| row[c as usize] >= max - TIE_EPSILON));
            }
        }
        let credit = if top.is_empty() {
            0.0
        } else {
            1.0 / top.len() as f64
        };
        for v in prep.votes_of(i) {
            total[v.worker as usize] += 1;
            if top.contains(&v.class) {
                agree[v.worker as usize] += credit;
            }
        }
    }
    agree
        .iter()
        .zip(&total)
        .map(|(&a, &n)| {
            if n == 0 {
                0.0
            } else {
                (a / n as f64).clamp(0.0, 1.0)
            }
        })
        .collect()
}
