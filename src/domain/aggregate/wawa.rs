//! Wawa (Worker Agreement With Aggregate), as defined by crowd-kit: a worker's skill is the share
//! of their answers that agree with the majority vote; the answer is then the skill-weighted vote.
//!
//! A one-pass, non-iterative improvement on majority vote: it down-weights raters who often
//! disagree with everyone else, without fitting a model.

use super::majority::{agreement_with_consensus, shares};
use super::{Fit, Prepared, RaterModel};

/// Wawa. Gold answers, where given, replace the majority vote when skills are measured.
pub(super) fn fit(prep: &Prepared) -> Fit {
    let k = prep.n_classes;
    let majority = shares(prep);
    let skill = agreement_with_consensus(prep, &majority);
    let mut posterior = vec![0.0; prep.n_items * k];
    for i in 0..prep.n_items {
        let row = &mut posterior[i * k..(i + 1) * k];
        for v in prep.votes_of(i) {
            row[v.class as usize] += skill[v.worker as usize];
        }
        let total: f64 = row.iter().sum();
        if total > 0.0 {
            row.iter_mut().for_each(|p| *p /= total);
        } else {
            // Every voter has skill 0 (they never agreed with anyone): weights carry no
            // information, so fall back to the plain vote rather than a meaningless 0/0.
            row.copy_from_slice(&majority[i * k..(i + 1) * k]);
        }
    }
    Fit {
        posterior,
        worker_accuracy: skill,
        class_prior: Vec::new(),
        iterations: 0,
        converged: true,
        rater_model: RaterModel::None,
    }
}
