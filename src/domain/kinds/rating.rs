//! `rating`: a 1..N scale (Likert, stars) with optional anchor words.
//!
//! Owns the scale's validation, the value check, resolution by the median (with the spread as
//! confidence) and Krippendorff's alpha for interval and ordinal data. Formulas and a worked
//! example are in `docs/label-kinds.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::resolve::{Decision, count_votes};

/// At most this many points on a scale (0..10 is the widest: a net-promoter scale).
pub const MAX_POINTS: i64 = 11;
const MAX_ANCHOR: usize = 200;

/// A rating scale: whole numbers from `min` to `max`, some of them with anchor words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingSpec {
    pub min: i64,
    pub max: i64,
    /// Words for some points of the scale, keyed by the point (`{"1": "bad", "5": "great"}`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub anchors: BTreeMap<String, String>,
}

impl RatingSpec {
    pub fn check(&self) -> Result<(), String> {
        if self.min > self.max
            || self.max - self.min + 1 < 2
            || self.max - self.min + 1 > MAX_POINTS
        {
            return Err(format!(
                "schema: min and max: a scale has 2 to {MAX_POINTS} points, min below max (got {}..{})",
                self.min, self.max
            ));
        }
        if self.min < -1000 || self.max > 1000 {
            return Err("schema: min and max lie within -1000..1000".into());
        }
        for (k, text) in &self.anchors {
            let point: i64 = k
                .parse()
                .map_err(|_| format!("schema: anchors: {k:?} is not a point of the scale"))?;
            if point < self.min || point > self.max {
                return Err(format!(
                    "schema: anchors: {point} is outside the scale {}..{}",
                    self.min, self.max
                ));
            }
            if text.trim().is_empty() || text.chars().count() > MAX_ANCHOR {
                return Err(format!(
                    "schema: anchors: the words for {point} have 1 to {MAX_ANCHOR} characters"
                ));
            }
        }
        Ok(())
    }

    /// A whole number on the scale (`4`, `4.0` or `"4"`), returned as a JSON integer.
    pub fn check_value(&self, v: &Value) -> Result<Value, String> {
        let n = match v {
            Value::Number(n) => n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        }
        .ok_or_else(|| {
            format!(
                "value: a rating is a whole number from {} to {}",
                self.min, self.max
            )
        })?;
        if n < self.min || n > self.max {
            return Err(format!(
                "value: {n} is outside the scale {}..{}",
                self.min, self.max
            ));
        }
        Ok(Value::from(n))
    }

    /// A scale may widen and its anchors change once labels exist; it may not narrow.
    pub fn evolve_to(&self, next: &RatingSpec) -> Result<(), String> {
        if next.min > self.min || next.max < self.max {
            return Err(format!(
                "schema: the scale can only widen once labels exist (it is {}..{})",
                self.min, self.max
            ));
        }
        Ok(())
    }

    /// `4 (good)` when the point has an anchor, else the number.
    pub fn display(&self, v: &Value) -> String {
        match v.as_f64() {
            Some(x) => {
                let anchor = if x.fract() == 0.0 {
                    self.anchors.get(&(x as i64).to_string())
                } else {
                    None
                };
                match anchor {
                    Some(a) => format!("{} ({a})", fmt_num(x)),
                    None => fmt_num(x),
                }
            }
            None => v.to_string(),
        }
    }
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// The median of the values (the midpoint of the two middle ones for an even count).
pub fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    Some(if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    })
}

/// Resolution of a rated item: the median; confidence `1 − mean |x − median| / (max − min)`.
/// The item is resolved (`median`) when the confidence passes the agreement threshold (or is 1),
/// otherwise it asks for one more label, and at the maximum overlap goes to a reviewer.
pub fn decide(
    spec: &RatingSpec,
    values: &[Value],
    agreement: f64,
    target: i64,
    max_overlap: i64,
) -> Decision {
    let votes = count_votes(values);
    let mut xs: Vec<f64> = values.iter().filter_map(Value::as_f64).collect();
    xs.sort_by(f64::total_cmp);
    if let Some(m) = median(&xs) {
        let conf = confidence(&xs, m, spec);
        if conf > agreement || conf >= 1.0 {
            let value = if m.fract() == 0.0 {
                Value::from(m as i64)
            } else {
                Value::from(m)
            };
            return Decision::Resolved {
                value,
                method: "median",
                confidence: conf,
                votes,
            };
        }
    }
    if target < max_overlap {
        Decision::MoreLabels { votes }
    } else {
        Decision::Adjudicate { votes }
    }
}

/// `1 − mean |x − m| / (max − min)`: 1 when every rater gave the median, 0 when half the
/// raters sit at each end of the scale.
pub fn confidence(xs: &[f64], m: f64, spec: &RatingSpec) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let range = (spec.max - spec.min).max(1) as f64;
    let mad = xs.iter().map(|x| (x - m).abs()).sum::<f64>() / xs.len() as f64;
    (1.0 - mad / range).clamp(0.0, 1.0)
}

/// The difference function of Krippendorff's alpha.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// `δ²(c, k) = (c − k)²`.
    Interval,
    /// `δ²(c, k) = (Σ_{g=c..k} n_g − (n_c + n_k)/2)²`, with `n_g` how often value `g` was used.
    Ordinal,
}

/// Krippendorff's alpha over units (items), each the list of values its raters gave.
/// Units with fewer than two values are not pairable and are left out. `None` when there is
/// no expected disagreement (one value used throughout, or fewer than two pairable values).
pub fn krippendorff_alpha(units: &[Vec<f64>], metric: Metric) -> Option<f64> {
    let mut values: Vec<f64> = units
        .iter()
        .filter(|u| u.len() >= 2)
        .flatten()
        .copied()
        .collect();
    values.sort_by(f64::total_cmp);
    values.dedup();
    let v = values.len();
    if v < 2 {
        return None;
    }
    let at = |x: f64| {
        values
            .binary_search_by(|p| p.total_cmp(&x))
            .unwrap_or_default()
    };
    // The coincidence matrix o[c][k].
    let mut o = vec![vec![0.0f64; v]; v];
    for u in units.iter().filter(|u| u.len() >= 2) {
        let m = u.len() as f64;
        let mut counts = vec![0.0f64; v];
        for x in u {
            counts[at(*x)] += 1.0;
        }
        for c in 0..v {
            if counts[c] == 0.0 {
                continue;
            }
            for k in 0..v {
                let pairs = if c == k {
                    counts[c] * (counts[c] - 1.0)
                } else {
                    counts[c] * counts[k]
                };
                o[c][k] += pairs / (m - 1.0);
            }
        }
    }
    let n_c: Vec<f64> = o.iter().map(|row| row.iter().sum()).collect();
    let n: f64 = n_c.iter().sum();
    let delta2 = |c: usize, k: usize| -> f64 {
        match metric {
            Metric::Interval => (values[c] - values[k]).powi(2),
            Metric::Ordinal => {
                let (lo, hi) = (c.min(k), c.max(k));
                let s: f64 = n_c[lo..=hi].iter().sum();
                (s - (n_c[c] + n_c[k]) / 2.0).powi(2)
            }
        }
    };
    let (mut observed, mut expected) = (0.0f64, 0.0f64);
    for c in 0..v {
        for k in 0..v {
            if c == k {
                continue;
            }
            let d = delta2(c, k);
            observed += o[c][k] * d;
            expected += n_c[c] * n_c[k] * d;
        }
    }
    if expected < 1e-12 || n < 2.0 {
        return None;
    }
    Some(1.0 - (n - 1.0) * observed / expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scale() -> RatingSpec {
        serde_json::from_value(json!({"min": 1, "max": 5, "anchors": {"1": "bad", "5": "great"}}))
            .unwrap()
    }

    #[test]
    fn scales_and_values_are_checked() {
        scale().check().unwrap();
        for (bad, why) in [
            (json!({"min": 5, "max": 1}), "2 to 11 points"),
            (json!({"min": 1, "max": 1}), "2 to 11 points"),
            (json!({"min": 0, "max": 20}), "2 to 11 points"),
            (
                json!({"min": 1, "max": 5, "anchors": {"7": "x"}}),
                "outside",
            ),
            (
                json!({"min": 1, "max": 5, "anchors": {"one": "x"}}),
                "not a point",
            ),
            (
                json!({"min": 1, "max": 5, "anchors": {"1": " "}}),
                "anchors",
            ),
        ] {
            let s: RatingSpec = serde_json::from_value(bad.clone()).unwrap();
            let e = s.check().unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let s = scale();
        assert_eq!(s.check_value(&json!(4)).unwrap(), json!(4));
        assert_eq!(s.check_value(&json!(4.0)).unwrap(), json!(4));
        assert_eq!(s.check_value(&json!("3")).unwrap(), json!(3));
        assert!(s.check_value(&json!(6)).unwrap_err().contains("outside"));
        assert!(s.check_value(&json!(0)).unwrap_err().contains("outside"));
        assert!(s.check_value(&json!(2.5)).unwrap_err().contains("whole"));
        assert!(s.check_value(&json!(null)).is_err());
        assert!(s.check_value(&json!([4])).is_err());
        assert_eq!(s.display(&json!(5)), "5 (great)");
        assert_eq!(s.display(&json!(3.5)), "3.5");
    }

    /// docs/label-kinds.md, "rating": ratings 2, 4, 5 on 1..5 → median 4, mean distance 1,
    /// confidence 1 − 1/4 = 0.75.
    #[test]
    fn median_with_spread_as_confidence() {
        let s = scale();
        match decide(&s, &[json!(2), json!(4), json!(5)], 0.5, 3, 5) {
            Decision::Resolved {
                value,
                method,
                confidence,
                ..
            } => {
                assert_eq!(value, json!(4));
                assert_eq!(method, "median");
                assert!((confidence - 0.75).abs() < 1e-12);
            }
            other => panic!("{other:?}"),
        }
        // An even count: the midpoint; 4 and 5 → 4.5 with confidence 1 − 0.5/4.
        match decide(&s, &[json!(4), json!(5)], 0.5, 2, 2) {
            Decision::Resolved {
                value, confidence, ..
            } => {
                assert_eq!(value, json!(4.5));
                assert!((confidence - 0.875).abs() < 1e-12);
            }
            other => panic!("{other:?}"),
        }
        // 1 and 5: median 3, mean distance 2, confidence 0.5: not above 0.5.
        assert!(matches!(
            decide(&s, &[json!(1), json!(5)], 0.5, 2, 3),
            Decision::MoreLabels { .. }
        ));
        assert!(matches!(
            decide(&s, &[json!(1), json!(5)], 0.5, 3, 3),
            Decision::Adjudicate { .. }
        ));
        // Unanimous passes even a threshold of 1.
        assert!(matches!(
            decide(&s, &[json!(3), json!(3)], 1.0, 2, 2),
            Decision::Resolved { .. }
        ));
    }

    /// docs/label-kinds.md: units (1,2), (3,3), (4,5): Σ o·δ² = 4, Σ n_c n_k δ² = 120, n = 6,
    /// α_interval = 1 − 5·4/120 = 0.8333.
    #[test]
    fn alpha_interval_by_hand() {
        let units = vec![vec![1.0, 2.0], vec![3.0, 3.0], vec![4.0, 5.0]];
        let a = krippendorff_alpha(&units, Metric::Interval).unwrap();
        assert!((a - (1.0 - 20.0 / 120.0)).abs() < 1e-12, "{a}");
        assert_eq!(
            krippendorff_alpha(&[vec![2.0, 2.0]], Metric::Interval),
            None
        );
        assert_eq!(krippendorff_alpha(&[vec![2.0]], Metric::Ordinal), None);
        let same = vec![vec![1.0, 1.0], vec![4.0, 4.0]];
        assert_eq!(krippendorff_alpha(&same, Metric::Ordinal), Some(1.0));
    }

    /// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 observers, 12 units,
    /// values 1–5 with missing data. Published: interval α = 0.849, ordinal α = 0.815.
    #[test]
    fn alpha_krippendorff_2011() {
        let units: Vec<Vec<f64>> = vec![
            vec![1., 1., 1.],
            vec![2., 2., 3., 2.],
            vec![3., 3., 3., 3.],
            vec![3., 3., 3., 3.],
            vec![2., 2., 2., 2.],
            vec![1., 2., 3., 4.],
            vec![4., 4., 4., 4.],
            vec![1., 1., 2., 1.],
            vec![2., 2., 2., 2.],
            vec![5., 5., 5.],
            vec![1., 1.],
            vec![3.],
        ];
        let i = krippendorff_alpha(&units, Metric::Interval).unwrap();
        assert!((i - 0.849).abs() < 0.0005, "{i}");
        let o = krippendorff_alpha(&units, Metric::Ordinal).unwrap();
        assert!((o - 0.815).abs() < 0.0005, "{o}");
    }
}
