//! Dawid-Skene (1979): EM over a full confusion matrix per worker and a class prior.
//!
//! Model: item `i` has a hidden true class `z_i ~ prior`; worker `w` answers `l` with probability
//! `π_w[z_i][l]`. The E-step computes each item's posterior over `z_i`; the M-step re-estimates
//! every `π_w` and the prior from posterior-weighted counts. Initialised from majority-vote shares
//! (the M-step runs first), gold items clamped to their answer in every E-step.
//!
//! Built for millions of labels: votes grouped by item in one flat array, confusion matrices in one
//! flat `W × K × K` array laid out `[worker][observed][true]` so that the `K` numbers a vote needs
//! are contiguous, the E-step in log space, and no allocation or hashing inside the loop.

use super::majority::shares;
use super::{Fit, Options, Prepared, clamp_gold};

/// The number of classes, either known at compile time (the common 2–6) or at run time. The hot
/// loops are generic over it: with a constant `k` the compiler unrolls the per-class loops and
/// drops bounds checks, which roughly halves the time per EM iteration.
trait Width: Copy {
    fn k(self) -> usize;
}

#[derive(Clone, Copy)]
struct Fixed<const N: usize>;

impl<const N: usize> Width for Fixed<N> {
    #[inline(always)]
    fn k(self) -> usize {
        N
    }
}

#[derive(Clone, Copy)]
struct Dynamic(usize);

impl Width for Dynamic {
    #[inline(always)]
    fn k(self) -> usize {
        self.0
    }
}

/// Fits Dawid-Skene and returns posteriors, the fitted prior and `Σ_k prior_k · π_w[k][k]` per
/// worker.
pub(super) fn fit(prep: &Prepared, opts: &Options) -> Fit {
    match prep.n_classes {
        2 => fit_with(prep, opts, Fixed::<2>),
        3 => fit_with(prep, opts, Fixed::<3>),
        4 => fit_with(prep, opts, Fixed::<4>),
        5 => fit_with(prep, opts, Fixed::<5>),
        6 => fit_with(prep, opts, Fixed::<6>),
        k => fit_with(prep, opts, Dynamic(k)),
    }
}

fn fit_with<W: Width>(prep: &Prepared, opts: &Options, width: W) -> Fit {
    let (k, w) = (width.k(), prep.n_workers);
    if k == 0 {
        return Fit {
            posterior: Vec::new(),
            worker_accuracy: vec![0.0; w],
            class_prior: Vec::new(),
            iterations: 0,
            converged: true,
        };
    }
    let mut model = Model {
        width,
        smoothing: opts.smoothing,
        counts: vec![0.0; w * k * k],
        log_pi: vec![0.0; w * k * k],
        prior: vec![0.0; k],
        log_prior: vec![0.0; k],
    };
    let mut posterior = shares(prep);
    clamp_gold(prep, &mut posterior);
    model.m_step(prep, &posterior);

    let per_label = prep.votes.len().max(1) as f64;
    let mut previous = f64::NEG_INFINITY;
    let mut row = vec![0.0; k];
    let (mut iterations, mut converged) = (0, false);
    while iterations < opts.max_iterations {
        let log_likelihood = model.e_step(prep, &mut posterior, &mut row);
        model.m_step(prep, &posterior);
        iterations += 1;
        // EM never decreases the likelihood, so a small change means we reached a fixed point.
        // Per label, so one tolerance fits 100 labels and 3 million alike.
        if ((log_likelihood - previous) / per_label).abs() < opts.tolerance {
            converged = true;
            break;
        }
        previous = log_likelihood;
    }

    let worker_accuracy = (0..w)
        .map(|wk| {
            (0..k)
                .map(|c| model.prior[c] * model.log_pi[(wk * k + c) * k + c].exp())
                .sum::<f64>()
                .clamp(0.0, 1.0)
        })
        .collect();
    Fit {
        posterior,
        worker_accuracy,
        class_prior: model.prior,
        iterations,
        converged,
    }
}

/// The parameters plus the scratch count array (kept to avoid reallocating every iteration).
struct Model<W: Width> {
    width: W,
    smoothing: f64,
    /// Posterior-weighted answer counts, `[worker][observed][true]`.
    counts: Vec<f64>,
    /// `ln π_w[true][observed]`, stored `[worker][observed][true]`.
    log_pi: Vec<f64>,
    prior: Vec<f64>,
    log_prior: Vec<f64>,
}

impl<W: Width> Model<W> {
    /// M-step: smoothed maximum a posteriori confusion matrices and class prior.
    fn m_step(&mut self, prep: &Prepared, posterior: &[f64]) {
        let k = self.width.k();
        let s = self.smoothing;
        self.counts.fill(0.0);
        let mut prior_mass = vec![0.0; k];
        let mut labelled = 0usize;
        for i in 0..prep.n_items {
            let votes = prep.votes_of(i);
            if votes.is_empty() {
                continue; // carries no evidence; don't let it pull the prior towards itself
            }
            labelled += 1;
            let p = &posterior[i * k..(i + 1) * k];
            for (m, &x) in prior_mass.iter_mut().zip(p) {
                *m += x;
            }
            for v in votes {
                let base = (v.worker as usize * k + v.class as usize) * k;
                for (c, &x) in self.counts[base..base + k].iter_mut().zip(p) {
                    *c += x;
                }
            }
        }
        // Normalise each worker's column "true = c" over the observed answers l. The pseudo-count
        // `s` in every cell is a symmetric Dirichlet prior: it keeps rarely seen (worker, class)
        // pairs away from exact 0/1, which would otherwise veto or force classes.
        for block in 0..prep.n_workers {
            let counts = &self.counts[block * k * k..(block + 1) * k * k];
            let log_pi = &mut self.log_pi[block * k * k..(block + 1) * k * k];
            for c in 0..k {
                let denom: f64 = (0..k).map(|l| counts[l * k + c]).sum::<f64>() + k as f64 * s;
                for l in 0..k {
                    log_pi[l * k + c] = ((counts[l * k + c] + s) / denom).ln();
                }
            }
        }
        let denom = labelled as f64 + k as f64 * s;
        for ((p, lp), &m) in self
            .prior
            .iter_mut()
            .zip(self.log_prior.iter_mut())
            .zip(&prior_mass)
        {
            *p = (m + s) / denom;
            *lp = p.ln();
        }
    }

    /// E-step: posterior of every item's true class; returns the log-likelihood of the data (with
    /// gold items' classes observed).
    fn e_step(&self, prep: &Prepared, posterior: &mut [f64], row: &mut [f64]) -> f64 {
        let k = self.width.k();
        let mut log_likelihood = 0.0;
        for i in 0..prep.n_items {
            row.copy_from_slice(&self.log_prior);
            for v in prep.votes_of(i) {
                let base = (v.worker as usize * k + v.class as usize) * k;
                for (r, &lp) in row.iter_mut().zip(&self.log_pi[base..base + k]) {
                    *r += lp;
                }
            }
            let out = &mut posterior[i * k..(i + 1) * k];
            if let Some(g) = prep.gold[i] {
                log_likelihood += row[g as usize];
                out.fill(0.0);
                out[g as usize] = 1.0;
                continue;
            }
            // Shift by the row maximum before exponentiating: products of many probabilities
            // underflow, differences of logs do not.
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for (o, &r) in out.iter_mut().zip(row.iter()) {
                // exp(0) = 1 for the top class: skipping it saves half the exps when k = 2.
                *o = if r == max { 1.0 } else { (r - max).exp() };
                sum += *o;
            }
            out.iter_mut().for_each(|o| *o /= sum);
            log_likelihood += max + sum.ln();
        }
        log_likelihood
    }
}
