//! The priors behind the Bayesian Dawid-Skene variants: every rater's confusion row (or, one-coin,
//! accuracy) is drawn from a Dirichlet (Beta) whose **mean is the pool** of all raters and whose
//! **strength is fitted from the data** by empirical Bayes, instead of a fixed additive constant.
//!
//! Why: a rater with three labels carries almost no evidence about their own confusion matrix.
//! A constant pseudo-count (classic DS's `smoothing`) either lets such raters swing to 0/1
//! probabilities (small constant) or flattens the well-measured raters too (large constant), and
//! which is worse depends on the data set. Shrinking towards the pool by a strength that maximises
//! the Dirichlet-multinomial evidence of the raters' (expected) counts lets sparse raters borrow the
//! pool's behaviour and dense raters keep their own — the hierarchical model of iBCC / hierarchical
//! Dawid-Skene, with the hyper-parameters fitted by Minka's fixed-point iteration.
//!
//! The pool mean itself carries a weak hyper-prior that favours the diagonal ([`DIAGONAL_BONUS`]),
//! so a class almost nobody answered still starts from "raters are mostly right".

/// Hyper-prior pseudo-counts added to the pool's confusion row of each true class: one on the
/// diagonal plus this, and one spread over the whole row. Tiny next to any real pool.
pub(super) const DIAGONAL_BONUS: f64 = 2.0;
/// Bounds of a fitted prior strength (pseudo-labels per rater). Below, the prior would be
/// meaningless; above, every rater would be forced onto the pool.
pub(super) const MIN_STRENGTH: f64 = 0.05;
pub(super) const MAX_STRENGTH: f64 = 1.0e4;
/// Minka fixed-point steps per M-step (warm-started from the previous M-step's strength).
const FIXED_POINT_STEPS: usize = 6;

/// The digamma function ψ(x) for x > 0 (recurrence up to 6, then the asymptotic series); accurate
/// to about 1e-9, which is far below what EM can tell apart.
pub(super) fn digamma(mut x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 || x.is_infinite() {
        return if x == f64::INFINITY {
            f64::INFINITY
        } else {
            f64::NEG_INFINITY
        };
    }
    let mut acc = 0.0;
    while x < 6.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let inv = 1.0 / x;
    let inv2 = inv * inv;
    acc + x.ln()
        - 0.5 * inv
        - inv2 * (1.0 / 12.0 - inv2 * (1.0 / 120.0 - inv2 * (1.0 / 252.0 - inv2 / 240.0)))
}

/// Fits the strength `s` of a Dirichlet with fixed mean `mean` (entries > 0, summing to 1) to
/// groups of (possibly fractional) counts, by Minka's fixed point for the Dirichlet-multinomial
/// evidence: `s ← s · Σ_g Σ_l m_l (ψ(n_gl + s m_l) − ψ(s m_l)) / Σ_g (ψ(n_g + s) − ψ(s))`.
///
/// `groups` yields each group's counts (length `mean.len()`); groups without counts carry no
/// evidence and are skipped. Starts from `s0`, clamps to [`MIN_STRENGTH`, `MAX_STRENGTH`].
pub(super) fn fit_strength<'a>(
    groups: impl Iterator<Item = &'a [f64]> + Clone,
    mean: &[f64],
    s0: f64,
) -> f64 {
    let mut s = s0.clamp(MIN_STRENGTH, MAX_STRENGTH);
    for _ in 0..FIXED_POINT_STEPS {
        let (mut num, mut den) = (0.0, 0.0);
        let psi_s = digamma(s);
        let psi_sm: Vec<f64> = mean.iter().map(|&m| digamma(s * m)).collect();
        for counts in groups.clone() {
            let total: f64 = counts.iter().sum();
            if total <= 1e-12 {
                continue;
            }
            den += digamma(total + s) - psi_s;
            for ((&n, &m), &p) in counts.iter().zip(mean).zip(&psi_sm) {
                if n > 0.0 {
                    num += m * (digamma(n + s * m) - p);
                }
            }
        }
        if den.is_nan() || den <= 0.0 || !num.is_finite() {
            break;
        }
        let next = (s * num / den).clamp(MIN_STRENGTH, MAX_STRENGTH);
        let settled = (next - s).abs() <= 1e-4 * s;
        s = next;
        if settled {
            break;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digamma_matches_known_values() {
        // ψ(1) = −γ, ψ(1/2) = −γ − 2 ln 2, ψ(10) = H_9 − γ.
        let gamma = 0.577_215_664_901_532_9;
        assert!((digamma(1.0) + gamma).abs() < 1e-9);
        assert!((digamma(0.5) + gamma + 2.0 * 2f64.ln()).abs() < 1e-9);
        let h9: f64 = (1..10).map(|k| 1.0 / k as f64).sum();
        assert!((digamma(10.0) - (h9 - gamma)).abs() < 1e-9);
        assert_eq!(digamma(0.0), f64::NEG_INFINITY);
        assert_eq!(digamma(f64::NAN), f64::NEG_INFINITY);
    }

    #[test]
    fn strength_is_large_when_groups_agree_and_small_when_they_differ() {
        let mean = [0.5, 0.5];
        // Every group exactly at the mean: little overdispersion, strong prior.
        // (Warm-started call after call, as EM does.)
        let same: Vec<[f64; 2]> = (0..50).map(|_| [10.0, 10.0]).collect();
        let mut s_same = 1.0;
        for _ in 0..20 {
            s_same = fit_strength(same.iter().map(|g| &g[..]), &mean, s_same);
        }
        // Groups at the extremes: a weak prior (each group is its own thing).
        let apart: Vec<[f64; 2]> = (0..50)
            .map(|i| if i % 2 == 0 { [20.0, 0.0] } else { [0.0, 20.0] })
            .collect();
        let s_apart = fit_strength(apart.iter().map(|g| &g[..]), &mean, 1.0);
        assert!(s_same > 20.0, "{s_same}");
        assert!(s_apart < 1.0, "{s_apart}");
        // No evidence at all: the start value stands.
        let none: Vec<[f64; 2]> = vec![[0.0, 0.0]];
        assert_eq!(fit_strength(none.iter().map(|g| &g[..]), &mean, 3.0), 3.0);
    }
}
