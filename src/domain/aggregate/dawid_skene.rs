//! Dawid-Skene (1979) and its Bayesian variants: EM over a confusion matrix per worker and a
//! class prior.
//!
//! Model: item `i` has a hidden true class `z_i ~ prior`; worker `w` answers `l` with probability
//! `π_w[z_i][l]`. The E-step computes each item's posterior over `z_i`; the M-step re-estimates
//! every `π_w` and the prior from posterior-weighted counts. Initialised from majority-vote shares
//! (the M-step runs first), gold items clamped to their answer in every E-step.
//!
//! The three [`Variant`]s share the counts and the E-step and differ only in how counts become
//! `ln π` (see `priors` for the why):
//! - `Classic`: maximum a posteriori with a constant pseudo-count (`Options::smoothing`).
//! - `Bayes`: each rater's row for true class `c` ~ Dirichlet(`s_c · m_c`), `m_c` the pool's row
//!   (with a diagonal-favouring hyper-prior), `s_c` fitted by empirical Bayes every M-step; the
//!   E-step uses the variational `E[ln π]` (as iBCC does), so a rater's uncertainty counts too.
//! - `OneCoin`: one accuracy per rater, Beta-distributed around the pool's with a fitted strength;
//!   a wrong answer is any other class alike. Two numbers per rater: the model for very sparse
//!   pools.
//!
//! Built for millions of labels: votes grouped by item in one flat array, confusion matrices in one
//! flat `W × K × K` array laid out `[worker][observed][true]` so that the `K` numbers a vote needs
//! are contiguous, the E-step in log space, and no allocation or hashing inside the loop.

use super::engine::Vote;
use super::majority::shares;
use super::priors::{DIAGONAL_BONUS, digamma, fit_strength};
use super::{Fit, Options, Prepared, RaterModel, clamp_gold};

/// Which Dawid-Skene.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Variant {
    Classic,
    Bayes,
    OneCoin,
}

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
pub(super) fn fit(prep: &Prepared, opts: &Options, variant: Variant) -> Fit {
    match prep.n_classes {
        2 => fit_with(prep, opts, variant, Fixed::<2>),
        3 => fit_with(prep, opts, variant, Fixed::<3>),
        4 => fit_with(prep, opts, variant, Fixed::<4>),
        5 => fit_with(prep, opts, variant, Fixed::<5>),
        6 => fit_with(prep, opts, variant, Fixed::<6>),
        k => fit_with(prep, opts, variant, Dynamic(k)),
    }
}

fn fit_with<W: Width>(prep: &Prepared, opts: &Options, variant: Variant, width: W) -> Fit {
    let (k, w) = (width.k(), prep.n_workers);
    if k == 0 {
        return Fit {
            posterior: Vec::new(),
            worker_accuracy: vec![0.0; w],
            class_prior: Vec::new(),
            iterations: 0,
            converged: true,
            rater_model: RaterModel::None,
        };
    }
    let mut model = Model {
        width,
        variant,
        smoothing: opts.smoothing,
        strength: vec![1.0; k],
        scratch: Vec::new(),
        pi_mean: Vec::new(),
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
        let log_likelihood = model.em_step(prep, &mut posterior, &mut row);
        iterations += 1;
        // EM never decreases the likelihood, so a small change means we reached a fixed point.
        // Per label, so one tolerance fits 100 labels and 3 million alike.
        if ((log_likelihood - previous) / per_label).abs() < opts.tolerance {
            converged = true;
            break;
        }
        previous = log_likelihood;
    }

    let confusion = model.predictive();
    let worker_accuracy = (0..w)
        .map(|wk| {
            (0..k)
                .map(|c| model.prior[c] * confusion[(wk * k + c) * k + c])
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
        rater_model: RaterModel::Confusion(confusion),
    }
}

/// The parameters plus the scratch count array (kept to avoid reallocating every iteration).
struct Model<W: Width> {
    width: W,
    variant: Variant,
    smoothing: f64,
    /// Fitted prior strengths: one per true class (`Bayes`), or `[0]` alone (`OneCoin`).
    strength: Vec<f64>,
    /// Per-class counts regrouped `[worker][observed]` for the strength fit.
    scratch: Vec<f64>,
    /// Bayesian variants: the posterior mean of `π`, `[worker][observed][true]` (the predictive
    /// distribution of a rater's next answer).
    pi_mean: Vec<f64>,
    /// Posterior-weighted answer counts, `[worker][observed][true]`.
    counts: Vec<f64>,
    /// `ln π_w[true][observed]`, stored `[worker][observed][true]`.
    log_pi: Vec<f64>,
    prior: Vec<f64>,
    log_prior: Vec<f64>,
}

impl<W: Width> Model<W> {
    /// M-step: confusion matrices and class prior from posterior-weighted counts, as the variant
    /// says.
    fn m_step(&mut self, prep: &Prepared, posterior: &[f64]) {
        let k = self.width.k();
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
            count(self.width, &mut self.counts, &mut prior_mass, votes, p);
        }
        self.estimate(prep.n_workers, labelled, &prior_mass);
    }

    /// Turns the counts into parameters, as the variant says.
    fn estimate(&mut self, workers: usize, labelled: usize, prior_mass: &[f64]) {
        match self.variant {
            Variant::Classic => self.classic(workers, labelled, prior_mass),
            Variant::Bayes => self.bayes(workers, labelled, prior_mass),
            Variant::OneCoin => self.one_coin(workers, labelled, prior_mass),
        }
    }

    /// Classic: smoothed maximum a posteriori confusion matrices and class prior.
    fn classic(&mut self, workers: usize, labelled: usize, prior_mass: &[f64]) {
        let k = self.width.k();
        let s = self.smoothing;
        // Normalise each worker's column "true = c" over the observed answers l. The pseudo-count
        // `s` in every cell is a symmetric Dirichlet prior: it keeps rarely seen (worker, class)
        // pairs away from exact 0/1, which would otherwise veto or force classes.
        for block in 0..workers {
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
            .zip(prior_mass)
        {
            *p = (m + s) / denom;
            *lp = p.ln();
        }
    }

    /// Bayes: rows shrunk towards the pool by fitted strengths; variational `E[ln π]`.
    fn bayes(&mut self, workers: usize, labelled: usize, prior_mass: &[f64]) {
        let k = self.width.k();
        self.scratch.resize(workers * k, 0.0);
        self.pi_mean.resize(workers * k * k, 0.0);
        let mut mean = vec![0.0; k];
        for c in 0..k {
            // The pool's row for true class c, with the diagonal-favouring hyper-prior.
            for (l, m) in mean.iter_mut().enumerate() {
                *m = 1.0 / k as f64 + if l == c { DIAGONAL_BONUS } else { 0.0 };
            }
            for wk in 0..workers {
                for (l, m) in mean.iter_mut().enumerate() {
                    let n = self.counts[(wk * k + l) * k + c];
                    self.scratch[wk * k + l] = n;
                    *m += n;
                }
            }
            let total: f64 = mean.iter().sum();
            mean.iter_mut().for_each(|m| *m /= total);
            let s = fit_strength(self.scratch.chunks_exact(k), &mean, self.strength[c]);
            self.strength[c] = s;
            for wk in 0..workers {
                let row = &self.scratch[wk * k..(wk + 1) * k];
                let n: f64 = row.iter().sum();
                let psi_total = digamma(n + s);
                for l in 0..k {
                    let a = row[l] + s * mean[l];
                    self.log_pi[(wk * k + l) * k + c] = digamma(a) - psi_total;
                    self.pi_mean[(wk * k + l) * k + c] = a / (n + s);
                }
            }
        }
        let psi_total = digamma(labelled as f64 + k as f64);
        for ((p, lp), &m) in self
            .prior
            .iter_mut()
            .zip(self.log_prior.iter_mut())
            .zip(prior_mass)
        {
            *p = (m + 1.0) / (labelled as f64 + k as f64);
            *lp = digamma(m + 1.0) - psi_total;
        }
    }

    /// One-coin: one Beta-distributed accuracy per rater, shrunk towards the pool's.
    fn one_coin(&mut self, workers: usize, labelled: usize, prior_mass: &[f64]) {
        let k = self.width.k();
        self.scratch.resize(workers * 2, 0.0);
        self.pi_mean.resize(workers * k * k, 0.0);
        let (mut right, mut all) = (DIAGONAL_BONUS, DIAGONAL_BONUS + 1.0);
        for wk in 0..workers {
            let block = &self.counts[wk * k * k..(wk + 1) * k * k];
            let n: f64 = block.iter().sum();
            let t: f64 = (0..k).map(|c| block[c * k + c]).sum();
            self.scratch[wk * 2] = t;
            self.scratch[wk * 2 + 1] = (n - t).max(0.0);
            right += t;
            all += n;
        }
        let mu = right / all;
        let mean = [mu, 1.0 - mu];
        let s = fit_strength(self.scratch.chunks_exact(2), &mean, self.strength[0]);
        self.strength[0] = s;
        let ln_others = if k > 1 { ((k - 1) as f64).ln() } else { 0.0 };
        for wk in 0..workers {
            let (t, f) = (self.scratch[wk * 2], self.scratch[wk * 2 + 1]);
            let psi_total = digamma(t + f + s);
            let right = digamma(t + s * mean[0]) - psi_total;
            let wrong = digamma(f + s * mean[1]) - psi_total - ln_others;
            let accuracy = (t + s * mean[0]) / (t + f + s);
            let miss = if k > 1 {
                (1.0 - accuracy) / (k - 1) as f64
            } else {
                0.0
            };
            let log_pi = &mut self.log_pi[wk * k * k..(wk + 1) * k * k];
            let pi_mean = &mut self.pi_mean[wk * k * k..(wk + 1) * k * k];
            for l in 0..k {
                for c in 0..k {
                    log_pi[l * k + c] = if l == c { right } else { wrong };
                    pi_mean[l * k + c] = if l == c { accuracy } else { miss };
                }
            }
        }
        let psi_total = digamma(labelled as f64 + k as f64);
        for ((p, lp), &m) in self
            .prior
            .iter_mut()
            .zip(self.log_prior.iter_mut())
            .zip(prior_mass)
        {
            *p = (m + 1.0) / (labelled as f64 + k as f64);
            *lp = digamma(m + 1.0) - psi_total;
        }
    }

    /// The fitted answer probabilities `P(observed | true)`, `[worker][observed][true]`: what a
    /// rater is expected to answer next. Classic: `π` itself; the Bayesian variants: the posterior
    /// mean of `π`. Consumes the buffers (called once, after the last M-step).
    fn predictive(&mut self) -> Vec<f64> {
        match self.variant {
            Variant::Classic => {
                let mut out = std::mem::take(&mut self.counts);
                for (o, lp) in out.iter_mut().zip(&self.log_pi) {
                    *o = lp.exp();
                }
                out
            }
            Variant::Bayes | Variant::OneCoin => std::mem::take(&mut self.pi_mean),
        }
    }

    /// One EM iteration in one pass over the votes: the E-step (posterior of every item's true
    /// class from the current parameters) and, item by item as each posterior is ready, the next
    /// M-step's counts; then the new parameters. Returns the log-likelihood of the data under the
    /// parameters the E-step used (gold items' classes observed).
    ///
    /// Same arithmetic, in the same order, as an E-step followed by [`Model::m_step`], with half
    /// the passes over memory. The log-likelihood's `Σ ln(row sum)` is taken as the log of a
    /// running product (each factor is in `[1, K]`; flushed long before it could overflow): one
    /// `ln` per few hundred items instead of one per item.
    fn em_step(&mut self, prep: &Prepared, posterior: &mut [f64], row: &mut [f64]) -> f64 {
        let k = self.width.k();
        // The E-step reads only `log_pi` and `log_prior`, so the counts can be refilled as we go.
        self.counts.fill(0.0);
        let mut prior_mass = vec![0.0; k];
        let mut labelled = 0usize;
        let mut log_likelihood = 0.0;
        let mut norm_product = 1.0f64;
        for i in 0..prep.n_items {
            let votes = prep.votes_of(i);
            row.copy_from_slice(&self.log_prior);
            for v in votes {
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
            } else {
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
                log_likelihood += max;
                norm_product *= sum;
                if norm_product > 1e250 {
                    log_likelihood += norm_product.ln();
                    norm_product = 1.0;
                }
            }
            if votes.is_empty() {
                continue; // carries no evidence; don't let it pull the prior towards itself
            }
            labelled += 1;
            count(self.width, &mut self.counts, &mut prior_mass, votes, out);
        }
        self.estimate(prep.n_workers, labelled, &prior_mass);
        log_likelihood + norm_product.ln()
    }
}

/// Adds one item's posterior `p` to the prior mass and, for each of its votes, to the voter's
/// counts `[worker][observed][true]`.
#[inline(always)]
fn count<W: Width>(
    width: W,
    counts: &mut [f64],
    prior_mass: &mut [f64],
    votes: &[Vote],
    p: &[f64],
) {
    let k = width.k();
    for (m, &x) in prior_mass.iter_mut().zip(p) {
        *m += x;
    }
    for v in votes {
        let base = (v.worker as usize * k + v.class as usize) * k;
        for (c, &x) in counts[base..base + k].iter_mut().zip(p) {
            *c += x;
        }
    }
}
