//! GLAD (Whitehill, Ruvolo, Wu, Bergsma, Movellan, NIPS 2009), multi-class as in crowd-kit.
//!
//! Model: worker `w` has ability `α_w ∈ ℝ`, item `i` has inverse difficulty `β_i = exp(b_i) > 0`.
//! The worker answers the true class with probability `σ(α_w β_i)` and each of the `K − 1` other
//! classes with probability `(1 − σ(α_w β_i)) / (K − 1)`. Gaussian priors `α ~ N(1, 1)` and
//! `b ~ N(1, 1)` (as in the original code and crowd-kit) keep items or workers with few labels from
//! running off to infinity.
//!
//! EM: the E-step computes each item's posterior over its true class (gold items clamped); the
//! M-step raises the expected complete-data log-likelihood by gradient ascent over all `α` and `b`
//! — each step diagonally preconditioned by the Fisher information and accepted by a backtracking
//! (Armijo) line search, so it cannot make the objective worse.
//!
//! The class prior stays uniform, as in Whitehill's code and crowd-kit. Re-estimating it (as
//! Dawid-Skene does) was tried and hurts: on `d_product` (3 answers per item, classes 80/20)
//! accuracy fell from 0.928 to 0.899 — presumably because with few answers per item a skewed prior
//! and low item difficulties explain the same disagreements, and EM settles on the wrong trade-off.
//!
//! Everything is O(labels) per pass over flat arrays; `ln σ − ln((1 − σ)/(K − 1)) = x + ln(K − 1)`
//! lets the E-step get away with one `softplus` per vote, and the softplus sums are taken as logs
//! of products (`LogSum`), so a pass over the votes costs one `exp` per vote.

use super::{Fit, Options, Prepared, RaterModel};

/// Parameter bounds. The priors keep estimates far inside these; the bounds only guarantee that
/// `exp(b)` and `α·β` stay finite whatever a line-search trial proposes.
const ALPHA_BOUND: f64 = 30.0;
const B_BOUND: f64 = 10.0;
/// Prior means of `α` and `b` (unit variance).
const ALPHA_MEAN: f64 = 1.0;
const B_MEAN: f64 = 1.0;

/// A sum of many terms `linear + ln(factor)` with `factor ≥ 1`, taken as `Σ linear + ln Π factor`:
/// one `ln` per few hundred terms instead of one each (the passes over every vote are GLAD's hot
/// loops). The product is flushed into the sum long before it could overflow.
struct LogSum {
    linear: f64,
    product: f64,
}

impl Default for LogSum {
    fn default() -> Self {
        LogSum {
            linear: 0.0,
            product: 1.0,
        }
    }
}

impl LogSum {
    /// Adds `ln(factor)` (`factor` ≥ 1, finite).
    #[inline(always)]
    fn add_ln(&mut self, factor: f64) {
        self.product *= factor;
        if self.product > 1e250 {
            self.linear += self.product.ln();
            self.product = 1.0;
        }
    }

    /// Adds `softplus(x) + extra`, where `softplus(x) = ln(1 + e^x) = max(x, 0) + ln(1 + e^−|x|)`
    /// (no overflow), given `e = e^−|x|`.
    #[inline(always)]
    fn add_softplus(&mut self, x: f64, e: f64, extra: f64) {
        self.linear += x.max(0.0) + extra;
        self.add_ln(1.0 + e);
    }

    fn total(&self) -> f64 {
        self.linear + self.product.ln()
    }
}

/// The logistic function, stable for large `|x|`.
fn sigmoid(x: f64) -> f64 {
    sigmoid_given(x, (-x.abs()).exp())
}

/// [`sigmoid`] of `x` given `e = e^−|x|`.
#[inline(always)]
fn sigmoid_given(x: f64, e: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + e)
    } else {
        e / (1.0 + e)
    }
}

/// Fits GLAD; worker accuracy is the model's `σ(α_w β_i)` averaged over the worker's items.
pub(super) fn fit(prep: &Prepared, opts: &Options) -> Fit {
    let (n, k, w) = (prep.n_items, prep.n_classes, prep.n_workers);
    if k <= 1 {
        // Zero or one class: nothing to infer, every answer is "correct".
        return Fit {
            posterior: vec![1.0; n * k],
            worker_accuracy: vec![if k == 1 { 1.0 } else { 0.0 }; w],
            class_prior: vec![1.0; k],
            iterations: 0,
            converged: true,
            rater_model: RaterModel::None,
        };
    }
    let mut g = Glad {
        ln_others: ((k - 1) as f64).ln(),
        alpha: vec![ALPHA_MEAN; w],
        b: vec![B_MEAN; n],
        log_prior: vec![-(k as f64).ln(); k],
    };
    let mut posterior = vec![0.0; n * k];
    let mut scratch = Scratch::new(prep);
    let per_label = prep.votes.len().max(1) as f64;
    let (mut iterations, mut converged) = (0, false);
    let mut previous = f64::NEG_INFINITY;
    loop {
        // E-step last, so the returned posterior always matches the returned parameters.
        let objective =
            (g.e_step(prep, &mut posterior, &mut scratch) + g.param_log_prior()) / per_label;
        if (objective - previous).abs() < opts.tolerance {
            converged = true;
            break;
        }
        if iterations >= opts.max_iterations {
            break;
        }
        previous = objective;
        g.m_step(prep, &posterior, &mut scratch, opts);
        iterations += 1;
    }

    let mut correct = vec![0.0; w];
    let mut count = vec![0usize; w];
    for i in 0..n {
        let beta = g.b[i].exp();
        for v in prep.votes_of(i) {
            correct[v.worker as usize] += sigmoid(g.alpha[v.worker as usize] * beta);
            count[v.worker as usize] += 1;
        }
    }
    let worker_accuracy = correct
        .iter()
        .zip(&count)
        .map(|(&c, &m)| {
            if m == 0 {
                0.0
            } else {
                (c / m as f64).clamp(0.0, 1.0)
            }
        })
        .collect();
    // An empty prior makes `finish` report the mean posterior: more informative than the fixed
    // uniform.
    Fit {
        posterior,
        worker_accuracy,
        class_prior: Vec::new(),
        iterations,
        converged,
        rater_model: RaterModel::Glad {
            alpha: g.alpha,
            b: g.b,
        },
    }
}

/// GLAD's parameters.
struct Glad {
    /// `ln(K − 1)`.
    ln_others: f64,
    alpha: Vec<f64>,
    b: Vec<f64>,
    /// Fixed uniform class prior (see the module comment).
    log_prior: Vec<f64>,
}

/// M-step work arrays, allocated once per fit.
struct Scratch {
    /// Posterior probability that each vote (in `prep.votes` order) is the true class.
    p_vote: Vec<f64>,
    grad_alpha: Vec<f64>,
    grad_b: Vec<f64>,
    curv_alpha: Vec<f64>,
    curv_b: Vec<f64>,
    trial_alpha: Vec<f64>,
    trial_b: Vec<f64>,
    /// `exp(b)` of the current and of the trial `b`, per item.
    beta: Vec<f64>,
    trial_beta: Vec<f64>,
    /// `exp(−|α_w β_i|)` of every vote under the current and the trial parameters: the one
    /// transcendental that the E-step's softplus, `Q`'s softplus and the gradient's sigmoid all
    /// need, computed once per parameter value instead of once per use.
    e_vote: Vec<f64>,
    trial_e_vote: Vec<f64>,
    /// Whether `beta` and `e_vote` hold the current `α` and `b` (set by the first pass that
    /// computes them; the M-step swaps in trial arrays together with the trial parameters).
    cached: bool,
}

impl Scratch {
    fn new(prep: &Prepared) -> Scratch {
        let (n, w) = (prep.n_items, prep.n_workers);
        Scratch {
            p_vote: vec![0.0; prep.votes.len()],
            grad_alpha: vec![0.0; w],
            grad_b: vec![0.0; n],
            curv_alpha: vec![0.0; w],
            curv_b: vec![0.0; n],
            trial_alpha: vec![0.0; w],
            trial_b: vec![0.0; n],
            beta: vec![0.0; n],
            trial_beta: vec![0.0; n],
            e_vote: vec![0.0; prep.votes.len()],
            trial_e_vote: vec![0.0; prep.votes.len()],
            cached: false,
        }
    }
}

impl Glad {
    /// Log density of the Gaussian parameter priors, constants dropped.
    fn param_log_prior(&self) -> f64 {
        -0.5 * self
            .alpha
            .iter()
            .map(|a| (a - ALPHA_MEAN).powi(2))
            .sum::<f64>()
            - 0.5 * self.b.iter().map(|b| (b - B_MEAN).powi(2)).sum::<f64>()
    }

    /// E-step; returns the marginal log-likelihood of the answers (gold classes observed).
    fn e_step(&self, prep: &Prepared, posterior: &mut [f64], s: &mut Scratch) -> f64 {
        let k = self.log_prior.len();
        if !s.cached {
            self.transcendentals(prep, &self.alpha, &self.b, &mut s.beta, &mut s.e_vote);
            s.cached = true;
        }
        // Every vote is first scored as "wrong" for all classes, then its own class gets the
        // difference ln σ(x) − ln((1 − σ(x))/(K − 1)) = x + ln(K − 1). The "wrong" part is the
        // same for every class of an item, so it cancels from the posterior: it is only summed
        // into the log-likelihood, through `LogSum` (one `ln` per few hundred votes).
        let mut wrong = LogSum::default();
        let mut norm = LogSum::default();
        let mut log_likelihood = 0.0;
        for i in 0..prep.n_items {
            let beta = s.beta[i];
            let range = prep.start[i]..prep.start[i + 1];
            let row = &mut posterior[i * k..(i + 1) * k];
            row.copy_from_slice(&self.log_prior);
            for (v, &e) in prep.votes[range.clone()].iter().zip(&s.e_vote[range]) {
                let x = self.alpha[v.worker as usize] * beta;
                wrong.add_softplus(x, e, self.ln_others);
                row[v.class as usize] += x + self.ln_others;
            }
            if let Some(g) = prep.gold[i] {
                log_likelihood += row[g as usize];
                row.fill(0.0);
                row[g as usize] = 1.0;
                continue;
            }
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for r in row.iter_mut() {
                *r = (*r - max).exp();
                sum += *r;
            }
            row.iter_mut().for_each(|r| *r /= sum);
            log_likelihood += max;
            norm.add_ln(sum);
        }
        log_likelihood + norm.total() - wrong.total()
    }

    /// `β_i = exp(b_i)` per item and `exp(−|α_w β_i|)` per vote, for parameters `alpha`, `b`.
    fn transcendentals(
        &self,
        prep: &Prepared,
        alpha: &[f64],
        b: &[f64],
        beta: &mut [f64],
        e_vote: &mut [f64],
    ) {
        for (i, (&bi, beta_i)) in b.iter().zip(beta.iter_mut()).enumerate().take(prep.n_items) {
            *beta_i = bi.exp();
            let range = prep.start[i]..prep.start[i + 1];
            for (v, e) in prep.votes[range.clone()].iter().zip(&mut e_vote[range]) {
                *e = (-(alpha[v.worker as usize] * *beta_i).abs()).exp();
            }
        }
    }

    /// Expected complete-data log-likelihood `Q(α, b)` plus the parameter log-prior, given the
    /// parameters' [`Glad::transcendentals`].
    fn q(
        &self,
        prep: &Prepared,
        p_vote: &[f64],
        (alpha, b): (&[f64], &[f64]),
        (beta, e_vote): (&[f64], &[f64]),
    ) -> f64 {
        let mut minus_q = LogSum::default();
        for (i, &beta_i) in beta.iter().enumerate().take(prep.n_items) {
            let range = prep.start[i]..prep.start[i + 1];
            let votes = prep.votes[range.clone()].iter();
            for ((v, &p), &e) in votes.zip(&p_vote[range.clone()]).zip(&e_vote[range]) {
                let x = alpha[v.worker as usize] * beta_i;
                // p·ln σ(x) + (1 − p)·(ln(1 − σ(x)) − ln(K − 1)), using −ln σ(x) = softplus(−x) and
                // −ln(1 − σ(x)) = softplus(x) = x + softplus(−x).
                minus_q.add_softplus(-x, e, (1.0 - p) * (x + self.ln_others));
            }
        }
        -minus_q.total()
            - 0.5 * alpha.iter().map(|a| (a - ALPHA_MEAN).powi(2)).sum::<f64>()
            - 0.5 * b.iter().map(|x| (x - B_MEAN).powi(2)).sum::<f64>()
    }

    /// M-step: up to `opts.m_step_iterations` preconditioned gradient-ascent steps on `Q`.
    fn m_step(&mut self, prep: &Prepared, posterior: &[f64], s: &mut Scratch, opts: &Options) {
        let k = self.log_prior.len();
        for i in 0..prep.n_items {
            for j in prep.start[i]..prep.start[i + 1] {
                s.p_vote[j] = posterior[i * k + prep.votes[j].class as usize];
            }
        }
        let per_label = prep.votes.len().max(1) as f64;
        if !s.cached {
            self.transcendentals(prep, &self.alpha, &self.b, &mut s.beta, &mut s.e_vote);
            s.cached = true;
        }
        let mut q_now = self.q(
            prep,
            &s.p_vote,
            (&self.alpha, &self.b),
            (&s.beta, &s.e_vote),
        );
        for _ in 0..opts.m_step_iterations {
            // Gradient and a positive diagonal curvature (Fisher information + prior precision).
            // dQ/dx = p − σ(x) per vote, with x = α·β, ∂x/∂α = β, ∂x/∂b = α·β.
            for (ga, &a) in s.grad_alpha.iter_mut().zip(&self.alpha) {
                *ga = -(a - ALPHA_MEAN);
            }
            s.curv_alpha.fill(1.0);
            for i in 0..prep.n_items {
                let beta = s.beta[i];
                let (mut gb, mut hb) = (-(self.b[i] - B_MEAN), 1.0);
                for j in prep.start[i]..prep.start[i + 1] {
                    let wk = prep.votes[j].worker as usize;
                    let ab = self.alpha[wk] * beta;
                    let sig = sigmoid_given(ab, s.e_vote[j]);
                    let resid = s.p_vote[j] - sig;
                    let info = sig * (1.0 - sig);
                    s.grad_alpha[wk] += resid * beta;
                    s.curv_alpha[wk] += info * beta * beta;
                    gb += resid * ab;
                    hb += info * ab * ab;
                }
                s.grad_b[i] = gb;
                s.curv_b[i] = hb;
            }
            // Directional derivative along d = g / h (positive unless the gradient is zero).
            let slope: f64 = s
                .grad_alpha
                .iter()
                .zip(&s.curv_alpha)
                .map(|(g, h)| g * g / h)
                .sum::<f64>()
                + s.grad_b
                    .iter()
                    .zip(&s.curv_b)
                    .map(|(g, h)| g * g / h)
                    .sum::<f64>();
            if !(slope.is_finite() && slope / per_label > opts.tolerance * 1e-3) {
                break;
            }
            let mut t = 1.0;
            let mut accepted = None;
            for _ in 0..30 {
                for ((ta, &a), (g, h)) in s
                    .trial_alpha
                    .iter_mut()
                    .zip(&self.alpha)
                    .zip(s.grad_alpha.iter().zip(&s.curv_alpha))
                {
                    *ta = (a + t * g / h).clamp(-ALPHA_BOUND, ALPHA_BOUND);
                }
                for ((tb, &b), (g, h)) in s
                    .trial_b
                    .iter_mut()
                    .zip(&self.b)
                    .zip(s.grad_b.iter().zip(&s.curv_b))
                {
                    *tb = (b + t * g / h).clamp(-B_BOUND, B_BOUND);
                }
                self.transcendentals(
                    prep,
                    &s.trial_alpha,
                    &s.trial_b,
                    &mut s.trial_beta,
                    &mut s.trial_e_vote,
                );
                let q_trial = self.q(
                    prep,
                    &s.p_vote,
                    (&s.trial_alpha, &s.trial_b),
                    (&s.trial_beta, &s.trial_e_vote),
                );
                if q_trial.is_finite() && q_trial >= q_now + 1e-4 * t * slope {
                    accepted = Some(q_trial);
                    break;
                }
                t *= 0.5;
            }
            let Some(q_new) = accepted else { break };
            std::mem::swap(&mut self.alpha, &mut s.trial_alpha);
            std::mem::swap(&mut self.b, &mut s.trial_b);
            std::mem::swap(&mut s.beta, &mut s.trial_beta);
            std::mem::swap(&mut s.e_vote, &mut s.trial_e_vote);
            let gain = q_new - q_now;
            q_now = q_new;
            if gain / per_label < opts.tolerance {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! GLAD against the update rules of Whitehill et al. (2009): the E-step's posterior
    //! `p(z | l, α, β) ∝ p(z) Π σ(α_w β)^[l = z] ((1 − σ(α_w β)) / (K − 1))^[l ≠ z]`, worked by hand,
    //! and an M-step that never lowers the expected complete-data log-likelihood plus prior.

    use std::collections::HashMap;

    use super::super::{Answers, Options, Prepared};
    use super::*;

    fn prep(rows: &[(&str, &str, &str)]) -> Prepared {
        let mut a = Answers::new();
        for (i, w, l) in rows {
            a.push(i, w, l).unwrap();
        }
        a.add_class("c").unwrap();
        Prepared::new(&a, &HashMap::new()).unwrap()
    }

    #[test]
    fn e_step_matches_the_paper_by_hand() {
        // One item, three classes; w0 (α = 2) says a, w1 (α = 0.5) says b; b_i = 0 so β = 1.
        let p = prep(&[("i", "w0", "a"), ("i", "w1", "b")]);
        let g = Glad {
            ln_others: 2f64.ln(),
            alpha: vec![2.0, 0.5],
            b: vec![0.0],
            log_prior: vec![-(3f64.ln()); 3],
        };
        let mut post = vec![0.0; 3];
        g.e_step(&p, &mut post, &mut Scratch::new(&p));
        let (s0, s1) = (sigmoid(2.0), sigmoid(0.5));
        let a = s0 * (1.0 - s1) / 2.0;
        let b = (1.0 - s0) / 2.0 * s1;
        let c = (1.0 - s0) / 2.0 * (1.0 - s1) / 2.0;
        let z = a + b + c;
        for (got, want) in post.iter().zip([a / z, b / z, c / z]) {
            assert!((got - want).abs() < 1e-12, "{post:?}");
        }
    }

    #[test]
    fn m_step_never_lowers_the_objective() {
        let mut rows = Vec::new();
        let names: Vec<String> = (0..40).map(|i| format!("i{i}")).collect();
        for (i, name) in names.iter().enumerate() {
            rows.push((name.as_str(), "w0", if i % 7 == 0 { "b" } else { "a" }));
            rows.push((name.as_str(), "w1", if i % 3 == 0 { "b" } else { "a" }));
            rows.push((name.as_str(), "w2", if i % 2 == 0 { "b" } else { "a" }));
        }
        let p = prep(&rows);
        let mut g = Glad {
            ln_others: 2f64.ln(),
            alpha: vec![ALPHA_MEAN; 3],
            b: vec![B_MEAN; p.n_items],
            log_prior: vec![-(3f64.ln()); 3],
        };
        let mut post = vec![0.0; p.n_items * 3];
        let mut s = Scratch::new(&p);
        let opts = Options::default();
        for _ in 0..5 {
            g.e_step(&p, &mut post, &mut s);
            for i in 0..p.n_items {
                for j in p.start[i]..p.start[i + 1] {
                    s.p_vote[j] = post[i * 3 + p.votes[j].class as usize];
                }
            }
            let q = |g: &Glad, p_vote: &[f64]| {
                let (mut beta, mut e) = (vec![0.0; p.n_items], vec![0.0; p.votes.len()]);
                g.transcendentals(&p, &g.alpha, &g.b, &mut beta, &mut e);
                g.q(&p, p_vote, (&g.alpha, &g.b), (&beta, &e))
            };
            let before = q(&g, &s.p_vote);
            g.m_step(&p, &post, &mut s, &opts);
            let after = q(&g, &s.p_vote);
            assert!(after >= before - 1e-9, "{before} -> {after}");
        }
        // The most reliable rater (w0 agrees with the majority most) ends with the top ability.
        assert!(g.alpha[0] > g.alpha[2], "{:?}", g.alpha);
    }
}
