//! Drift between two imports' statistics: L∞ distance for categorical values, Jensen–Shannon
//! divergence for numbers and text lengths (formulas and worked examples in the module above).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::schema::FieldType;
use super::stats::{FieldStats, ImportStats};

/// Equal-width bins the two samples share for the Jensen–Shannon divergence.
pub const BINS: usize = 10;

/// A task's drift thresholds: an import drifts when a figure is above its threshold.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Thresholds {
    /// For the L∞ distance of categorical values (0 to 1).
    pub categorical: f64,
    /// For the Jensen–Shannon divergence of numbers and text lengths (0 to 1, base 2).
    pub numeric: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            categorical: 0.1,
            numeric: 0.1,
        }
    }
}

/// One field's figure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldDrift {
    pub field: String,
    /// `linf` (categorical values) or `jsd` (numbers, text lengths).
    pub measure: String,
    /// `values`, `numbers` or `length`.
    pub of: String,
    pub value: f64,
    pub threshold: f64,
    pub drifting: bool,
}

/// Drift of one import against the one before.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Drift {
    /// The import compared with (the task's previous stored import).
    pub against_import: i64,
    /// The largest figure (0 when no field could be compared).
    pub score: f64,
    /// Whether any figure is above its threshold.
    pub drifting: bool,
    pub fields: Vec<FieldDrift>,
}

/// L∞ distance between two frequency tables, each normalised to relative frequencies.
pub fn linf(a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>) -> f64 {
    let (na, nb) = (
        a.values().sum::<u64>() as f64,
        b.values().sum::<u64>() as f64,
    );
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    a.keys()
        .chain(b.keys())
        .map(|k| {
            let p = a.get(k).copied().unwrap_or(0) as f64 / na;
            let q = b.get(k).copied().unwrap_or(0) as f64 / nb;
            (p - q).abs()
        })
        .fold(0.0, f64::max)
}

/// Jensen–Shannon divergence (base 2) of two histograms given as counts.
pub fn jsd(p: &[f64], q: &[f64]) -> f64 {
    let (sp, sq) = (p.iter().sum::<f64>(), q.iter().sum::<f64>());
    if sp <= 0.0 || sq <= 0.0 || p.len() != q.len() {
        return 0.0;
    }
    let kl = |x: &[f64], sx: f64| -> f64 {
        x.iter()
            .zip(p.iter().zip(q))
            .map(|(xi, (pi, qi))| {
                let xi = xi / sx;
                let mi = 0.5 * (pi / sp + qi / sq);
                if xi > 0.0 { xi * (xi / mi).log2() } else { 0.0 }
            })
            .sum()
    };
    (0.5 * kl(p, sp) + 0.5 * kl(q, sq)).clamp(0.0, 1.0)
}

/// Counts of `xs` in `bins` equal-width bins from `lo` to `hi` (the last bin holds `hi`; one
/// bin when the range is empty).
pub fn bin(xs: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<u64> {
    let bins = bins.max(1);
    let mut out = vec![0u64; bins];
    let width = hi - lo;
    for &x in xs {
        let i = if width > 0.0 {
            (((x - lo) / width) * bins as f64)
                .floor()
                .clamp(0.0, (bins - 1) as f64) as usize
        } else {
            0
        };
        out[i] += 1;
    }
    out
}

fn jsd_of_samples(a: &[f64], b: &[f64]) -> f64 {
    let lo = a.iter().chain(b).copied().fold(f64::INFINITY, f64::min);
    let hi = a.iter().chain(b).copied().fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return 0.0;
    }
    let f = |xs: &[f64]| -> Vec<f64> {
        bin(xs, lo, hi, BINS)
            .into_iter()
            .map(|c| c as f64)
            .collect()
    };
    jsd(&f(a), &f(b))
}

fn figure(field: &str, measure: &str, of: &str, value: f64, threshold: f64) -> FieldDrift {
    // Rounded so that stored and shown figures agree and reruns compare equal.
    let value = (value * 1e6).round() / 1e6;
    FieldDrift {
        field: field.to_string(),
        measure: measure.into(),
        of: of.into(),
        value,
        threshold,
        drifting: value > threshold,
    }
}

fn compare_field(a: &FieldStats, b: &FieldStats, t: &Thresholds, out: &mut Vec<FieldDrift>) {
    if let (Some(va), Some(vb)) = (&a.values, &b.values)
        && (a.is_categorical() || b.is_categorical())
    {
        out.push(figure(
            &a.name,
            "linf",
            "values",
            linf(va, vb),
            t.categorical,
        ));
    }
    if let (Some(na), Some(nb)) = (&a.numbers, &b.numbers) {
        out.push(figure(
            &a.name,
            "jsd",
            "numbers",
            jsd_of_samples(&na.sample, &nb.sample),
            t.numeric,
        ));
    }
    let is_url = |f: &FieldStats| f.main_type() == Some(FieldType::Url);
    if let (Some(la), Some(lb)) = (&a.lengths, &b.lengths)
        && !is_url(a)
        && !is_url(b)
    {
        out.push(figure(
            &a.name,
            "jsd",
            "length",
            jsd_of_samples(&la.sample, &lb.sample),
            t.numeric,
        ));
    }
}

/// Drift of `current` against `previous` (the import with id `against`), field by field for
/// the fields both have.
pub fn compare(
    previous: &ImportStats,
    current: &ImportStats,
    against: i64,
    t: &Thresholds,
) -> Drift {
    let mut fields = Vec::new();
    for b in &current.fields {
        if let Some(a) = previous.field(&b.name) {
            compare_field(a, b, t, &mut fields);
        }
    }
    let score = fields.iter().map(|f| f.value).fold(0.0, f64::max);
    Drift {
        against_import: against,
        score,
        drifting: fields.iter().any(|f| f.drifting),
        fields,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::validation::StatsBuilder;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-5, "{a} != {b}");
    }

    #[test]
    fn linf_worked_example() {
        let p: BTreeMap<String, u64> = [("a".into(), 2), ("b".into(), 2)].into();
        let q: BTreeMap<String, u64> = [("a".into(), 1), ("b".into(), 2), ("c".into(), 1)].into();
        close(linf(&p, &q), 0.25);
        close(linf(&p, &p), 0.0);
    }

    #[test]
    fn jsd_worked_example_and_bounds() {
        // P = (0.5, 0.5), Q = (1, 0): M = (0.75, 0.25), KL(P‖M) = 0.20752, KL(Q‖M) = 0.41504.
        close(jsd(&[1.0, 1.0], &[4.0, 0.0]), 0.311278);
        close(jsd(&[3.0, 5.0], &[3.0, 5.0]), 0.0);
        close(jsd(&[1.0, 0.0], &[0.0, 1.0]), 1.0);
        close(jsd(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn binning_puts_the_top_in_the_last_bin() {
        assert_eq!(bin(&[0.0, 4.9, 5.0, 10.0], 0.0, 10.0, 2), [2, 2]);
        assert_eq!(
            bin(&[3.0, 3.0], 3.0, 3.0, 10),
            [2, 0, 0, 0, 0, 0, 0, 0, 0, 0]
        );
    }

    fn stats(items: impl Iterator<Item = Value>) -> ImportStats {
        let mut b = StatsBuilder::new(false);
        for i in items {
            b.observe(i.as_object().unwrap());
        }
        b.finish()
    }

    #[test]
    fn shifted_numbers_and_new_categories_drift_the_same_data_does_not() {
        let before = stats((0..100).map(|i| {
            let lang = ["en", "de"][i % 2];
            json!({"lang": lang, "score": i % 10, "text": "abc"})
        }));
        let same = compare(&before, &before, 1, &Thresholds::default());
        assert!(!same.drifting);
        assert_eq!(same.score, 0.0);
        let after = stats((0..100).map(|i| {
            let lang = ["en", "de", "fr", "fr"][i % 4];
            json!({"lang": lang, "score": 10 + i % 10, "text": "abc"})
        }));
        let d = compare(&before, &after, 7, &Thresholds::default());
        assert_eq!(d.against_import, 7);
        assert!(d.drifting);
        let f = |of: &str| {
            d.fields
                .iter()
                .find(|x| x.field != "text" && x.of == of)
                .unwrap()
        };
        // en 0.5 → 0.25, de 0.5 → 0.25, fr 0 → 0.5.
        close(f("values").value, 0.5);
        assert_eq!(f("values").measure, "linf");
        // 0..9 against 10..19: disjoint bins, the largest divergence.
        close(f("numbers").value, 1.0);
        let text = d
            .fields
            .iter()
            .find(|x| x.field == "text" && x.of == "length")
            .unwrap();
        assert_eq!(
            (text.of.as_str(), text.value, text.drifting),
            ("length", 0.0, false)
        );
    }
}
