//! Calibrated confidence: temperature scaling fitted on gold.
//!
//! The posteriors of Dawid-Skene and its kin are overconfident: with ten answers per item an item
//! is "0.9999" sure even when it is wrong one time in twenty. Where the task has gold, `select`
//! computes **out-of-fold** posteriors for the gold items (each fold's gold hidden from the fit
//! that scores it), and this module fits one temperature `T` that minimises their Brier score:
//! every posterior row `p` becomes `p^(1/T)`, renormalised. The Brier score rather than the
//! log-loss because both are proper scoring rules but only the Brier score is bounded: on `dog`,
//! a few items the model is sure of and wrong about (posterior of the truth ~1e-12) made the
//! log-loss fit T ≈ 11, flattening every right answer and raising the calibration error from
//! 0.134 to 0.180; the Brier fit lowers it. One parameter cannot
//! overfit a few dozen gold items the way isotonic regression can, and a monotone map keeps the
//! ranking of classes, so the resolved class never changes (ties stay ties).
//!
//! The expected calibration error (ECE, ten equal-width bins on the top confidence) is reported
//! before and after, on the same out-of-fold gold posteriors.

use super::row_max;

/// Fewer gold items (with answers) than this: no calibration (and `Auto` does not use gold).
pub(super) const MIN_GOLD: usize = 20;
/// Bounds of the fitted temperature.
const MIN_T: f64 = 0.05;
const MAX_T: f64 = 50.0;
/// Probabilities are floored here before taking logs, so that a confidently wrong posterior costs
/// a large but finite amount.
const FLOOR: f64 = 1e-12;

/// How confidences were calibrated.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// The fitted temperature (1 = unchanged; above 1 softens overconfident posteriors).
    pub temperature: f64,
    /// Gold items (with answers) it was fitted on.
    pub gold_items: usize,
    /// ECE of the out-of-fold gold posteriors as the method gave them.
    pub ece_before: f64,
    /// ECE of the same posteriors after scaling.
    pub ece_after: f64,
}

impl Calibration {
    /// Fits the temperature to out-of-fold posterior rows and their gold classes. `None` when
    /// there are fewer than [`MIN_GOLD`] rows.
    pub(super) fn fit(rows: &[(Vec<f64>, u32)]) -> Option<Calibration> {
        if rows.len() < MIN_GOLD {
            return None;
        }
        let nll = |t: f64| -> f64 {
            let mut scaled = Vec::new();
            rows.iter()
                .map(|(row, g)| {
                    scaled.clear();
                    scaled.extend_from_slice(row);
                    scale(&mut scaled, t);
                    scaled
                        .iter()
                        .enumerate()
                        .map(|(c, q)| {
                            let y = if c == *g as usize { 1.0 } else { 0.0 };
                            (q - y) * (q - y)
                        })
                        .sum::<f64>()
                })
                .sum()
        };
        // Golden-section search on ln T (the Brier score is unimodal in T in practice; the
        // comparison with T = 1 below guards the rest).
        let (mut lo, mut hi) = (MIN_T.ln(), MAX_T.ln());
        let ratio = (5f64.sqrt() - 1.0) / 2.0;
        let mut a = hi - ratio * (hi - lo);
        let mut b = lo + ratio * (hi - lo);
        let (mut fa, mut fb) = (nll(a.exp()), nll(b.exp()));
        for _ in 0..60 {
            if fa <= fb {
                hi = b;
                b = a;
                fb = fa;
                a = hi - ratio * (hi - lo);
                fa = nll(a.exp());
            } else {
                lo = a;
                a = b;
                fa = fb;
                b = lo + ratio * (hi - lo);
                fb = nll(b.exp());
            }
            if hi - lo < 1e-4 {
                break;
            }
        }
        let mut temperature = ((lo + hi) / 2.0).exp();
        // No worse than leaving the posteriors alone.
        if nll(1.0) <= nll(temperature) {
            temperature = 1.0;
        }
        let ece = |t: f64| {
            let pairs: Vec<(f64, f64)> = rows
                .iter()
                .map(|(row, g)| {
                    let mut r = row.clone();
                    scale(&mut r, t);
                    top_and_credit(&r, *g)
                })
                .collect();
            expected_calibration_error(&pairs).unwrap_or(0.0)
        };
        Some(Calibration {
            temperature,
            gold_items: rows.len(),
            ece_before: ece(1.0),
            ece_after: ece(temperature),
        })
    }

    /// Scales one posterior row in place.
    pub(super) fn apply(&self, row: &mut [f64]) {
        scale(row, self.temperature);
    }
}

/// `p ← p^(1/t)`, renormalised (computed in log space, shifted by the row maximum).
fn scale(row: &mut [f64], t: f64) {
    if (t - 1.0).abs() < 1e-12 || row.is_empty() {
        return;
    }
    let inv = 1.0 / t;
    let max = row_max(row).unwrap_or(0.0).max(FLOOR).ln();
    let mut sum = 0.0;
    for p in row.iter_mut() {
        *p = if *p > 0.0 {
            ((p.ln() - max) * inv).exp()
        } else {
            0.0
        };
        sum += *p;
    }
    if sum > 0.0 && sum.is_finite() {
        row.iter_mut().for_each(|p| *p /= sum);
    }
}

/// The top confidence of a row and how right it is for truth `g`: 1 when `g` is the single top
/// class, `1/t` when `g` is one of `t` tied top classes, else 0.
pub(super) fn top_and_credit(row: &[f64], g: u32) -> (f64, f64) {
    let Some(max) = row_max(row) else {
        return (0.0, 0.0);
    };
    let tied: Vec<usize> = (0..row.len())
        .filter(|&c| row[c] >= max - super::TIE_EPSILON)
        .collect();
    let credit = if tied.contains(&(g as usize)) {
        1.0 / tied.len() as f64
    } else {
        0.0
    };
    (max, credit)
}

/// Expected calibration error of `(confidence, correctness)` pairs (correctness in [0, 1]): ten
/// equal-width confidence bins, `Σ_b |Σ correct − Σ confidence| / N`. `None` for no pairs.
pub fn expected_calibration_error(pairs: &[(f64, f64)]) -> Option<f64> {
    if pairs.is_empty() {
        return None;
    }
    let mut gap = [0.0f64; 10];
    for &(conf, correct) in pairs {
        let bin = ((conf * 10.0).floor().max(0.0) as usize).min(9);
        gap[bin] += correct - conf;
    }
    Some(gap.iter().map(|g| g.abs()).sum::<f64>() / pairs.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ece_of_hand_worked_pairs() {
        // Bin 0.9: two answers at 0.95, one right: |1 − 1.9| = 0.9. Bin 0.6: one at 0.6, right:
        // |1 − 0.6| = 0.4. ECE = 1.3 / 3.
        let e = expected_calibration_error(&[(0.95, 1.0), (0.95, 0.0), (0.6, 1.0)]).unwrap();
        assert!((e - 1.3 / 3.0).abs() < 1e-12, "{e}");
        assert_eq!(expected_calibration_error(&[]), None);
        assert_eq!(expected_calibration_error(&[(1.0, 1.0)]), Some(0.0));
    }

    #[test]
    fn overconfident_posteriors_get_a_temperature_above_one() {
        // 40 items all at 0.99 for the top class, right 30 times: calibrated confidence ≈ 0.75.
        let rows: Vec<(Vec<f64>, u32)> = (0..40)
            .map(|i| (vec![0.99, 0.01], if i % 4 == 0 { 1 } else { 0 }))
            .collect();
        let cal = Calibration::fit(&rows).unwrap();
        assert!(cal.temperature > 1.0, "{cal:?}");
        let mut row = vec![0.99, 0.01];
        cal.apply(&mut row);
        assert!((row[0] - 0.75).abs() < 0.01, "{row:?}");
        assert!(cal.ece_after < cal.ece_before, "{cal:?}");
        // A tie stays a tie; a zero stays zero.
        let mut tie = vec![0.5, 0.5, 0.0];
        cal.apply(&mut tie);
        assert_eq!(tie, vec![0.5, 0.5, 0.0]);
        // Too little gold: nothing fitted.
        assert_eq!(Calibration::fit(&rows[..MIN_GOLD - 1]), None);
    }

    #[test]
    fn well_calibrated_posteriors_keep_temperature_one() {
        // 0.8 confident, right 4 times in 5.
        let rows: Vec<(Vec<f64>, u32)> = (0..50)
            .map(|i| (vec![0.8, 0.2], if i % 5 == 0 { 1 } else { 0 }))
            .collect();
        let cal = Calibration::fit(&rows).unwrap();
        assert!((cal.temperature - 1.0).abs() < 0.01, "{cal:?}");
    }
}
