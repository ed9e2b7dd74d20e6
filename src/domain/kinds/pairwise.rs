//! `pairwise`: two candidates (A and B, e.g. two model responses to one prompt) and the rater's
//! preference: `A`, `B`, `tie` or `both_bad`, with an optional reason.
//!
//! Owns the schema's fields, the value check, the projection of a value to its choice (what
//! votes, agreement and resolution count), observed agreement, and Bradley–Terry strengths per
//! candidate source. Formulas and worked examples are in `docs/label-kinds.md`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const MAX_REASON: usize = 2000;
pub const CHOICES: [&str; 4] = ["A", "B", "tie", "both_bad"];

fn prompt() -> Option<String> {
    Some("prompt".into())
}
fn a() -> String {
    "a".into()
}
fn b() -> String {
    "b".into()
}
fn yes() -> bool {
    true
}

/// Which item fields hold the prompt and the two candidates, and which answers are allowed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairwiseSpec {
    /// The field shown above the candidates (`null`: none).
    #[serde(default = "prompt")]
    pub prompt_field: Option<String>,
    #[serde(default = "a")]
    pub a_field: String,
    #[serde(default = "b")]
    pub b_field: String,
    /// Fields naming where each candidate came from (e.g. `model_a`, `model_b`): the quality page
    /// ranks these sources by Bradley–Terry. Without them the sources are the positions A and B.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a_source_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b_source_field: Option<String>,
    #[serde(default = "yes")]
    pub allow_tie: bool,
    #[serde(default = "yes")]
    pub allow_both_bad: bool,
}

fn field_ok(name: &str) -> bool {
    !name.trim().is_empty() && name.chars().count() <= 100 && !name.contains('\0')
}

impl PairwiseSpec {
    pub fn check(&self) -> Result<(), String> {
        let named = [
            ("prompt_field", self.prompt_field.as_deref()),
            ("a_field", Some(self.a_field.as_str())),
            ("b_field", Some(self.b_field.as_str())),
            ("a_source_field", self.a_source_field.as_deref()),
            ("b_source_field", self.b_source_field.as_deref()),
        ];
        for (what, f) in named {
            if let Some(f) = f
                && !field_ok(f)
            {
                return Err(format!(
                    "schema: {what}: a field name has 1 to 100 characters"
                ));
            }
        }
        if self.a_field == self.b_field {
            return Err("schema: a_field and b_field must name different fields".into());
        }
        if self.a_source_field.is_some() != self.b_source_field.is_some() {
            return Err("schema: a_source_field and b_source_field come together".into());
        }
        Ok(())
    }

    /// The choices raters are offered, in order.
    pub fn choices(&self) -> Vec<&'static str> {
        CHOICES
            .iter()
            .copied()
            .filter(|c| {
                (*c != "tie" || self.allow_tie) && (*c != "both_bad" || self.allow_both_bad)
            })
            .collect()
    }

    /// `"A"`, `"B"`, `"tie"`, `"both_bad"`, or `{"choice": …, "reason": "…"}`. The canonical form
    /// is the bare choice when there is no reason (an empty reason counts as none).
    pub fn check_value(&self, v: &Value) -> Result<Value, String> {
        let (choice, reason) = match v {
            Value::String(s) => (s.as_str(), None),
            Value::Object(o) => {
                if let Some(k) = o.keys().find(|k| *k != "choice" && *k != "reason") {
                    return Err(format!(
                        "value: unknown field {k:?} (a preference has choice and reason)"
                    ));
                }
                let c = o
                    .get("choice")
                    .and_then(Value::as_str)
                    .ok_or("value: choice is missing (A, B, tie or both_bad)")?;
                let r = match o.get("reason") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(r)) => Some(r.trim()),
                    Some(_) => return Err("value: reason must be a string".into()),
                };
                (c, r)
            }
            _ => {
                return Err(
                    "value: a preference is \"A\", \"B\", \"tie\", \"both_bad\" or {\"choice\", \"reason\"}"
                        .into(),
                );
            }
        };
        if !self.choices().contains(&choice) {
            return Err(format!(
                "value: choice {choice:?} is not one of {}",
                self.choices().join(", ")
            ));
        }
        match reason.filter(|r| !r.is_empty()) {
            None => Ok(Value::String(choice.into())),
            Some(r) => {
                if r.chars().count() > MAX_REASON {
                    return Err(format!(
                        "value: reason is longer than {MAX_REASON} characters"
                    ));
                }
                if r.contains('\0') {
                    return Err("value: reason contains a NUL character".into());
                }
                let mut o = Map::new();
                o.insert("choice".into(), Value::String(choice.into()));
                o.insert("reason".into(), Value::String(r.into()));
                Ok(Value::Object(o))
            }
        }
    }

    /// What people read: `A is better`, `Tie`, … and the reason.
    pub fn display(&self, v: &Value) -> String {
        let words = |c: &str| match c {
            "A" => "A is better".to_string(),
            "B" => "B is better".to_string(),
            "tie" => "Tie".to_string(),
            "both_bad" => "Both bad".to_string(),
            other => other.to_string(),
        };
        match (choice_of(v), v.get("reason").and_then(Value::as_str)) {
            (Some(c), Some(r)) => format!("{}: {r}", words(c)),
            (Some(c), None) => words(c),
            _ => v.to_string(),
        }
    }

    /// An item of a pairwise task has both candidates (the prompt may be left out).
    pub fn check_item(&self, data: &Map<String, Value>) -> Result<(), String> {
        for f in [&self.a_field, &self.b_field] {
            match data.get(f) {
                None | Some(Value::Null) => {
                    return Err(format!("missing field {f:?} (a candidate of the pair)"));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// The source of each candidate of an item: the source fields' values, or `A` and `B`.
    pub fn sources(&self, data: &Value) -> (String, String) {
        let get = |f: &Option<String>, fallback: &str| {
            f.as_ref()
                .and_then(|f| data.get(f))
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_else(|| fallback.to_string())
        };
        (
            get(&self.a_source_field, "A"),
            get(&self.b_source_field, "B"),
        )
    }
}

/// The choice of a stored preference (`"A"` or `{"choice": "A", …}`).
pub fn choice_of(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s.as_str()),
        Value::Object(o) => o.get("choice").and_then(Value::as_str),
        _ => None,
    }
}

/// Observed agreement: over every pair of raters of the same item, the share that made the
/// same choice, `Σ_u Σ_c n_uc (n_uc − 1) / Σ_u m_u (m_u − 1)`. `None` without any pair.
pub fn observed_agreement<'a>(units: impl IntoIterator<Item = &'a [String]>) -> Option<f64> {
    let (mut same, mut all) = (0u64, 0u64);
    for u in units {
        let m = u.len() as u64;
        if m < 2 {
            continue;
        }
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        for c in u {
            *counts.entry(c.as_str()).or_insert(0) += 1;
        }
        same += counts.values().map(|n| n * (n - 1)).sum::<u64>();
        all += m * (m - 1);
    }
    (all > 0).then(|| same as f64 / all as f64)
}

/// One comparison between two sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    AWins,
    BWins,
    Tie,
}

/// A source's Bradley–Terry figures.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceScore {
    pub source: String,
    /// Strength `p_i`, scaled so the geometric mean over sources is 1: `P(i beats j) = p_i / (p_i + p_j)`.
    pub strength: f64,
    /// `1000 + 400 log10(p_i)`: the Elo-like scale arena leaderboards use.
    pub elo: f64,
    pub wins: u64,
    pub losses: u64,
    pub ties: u64,
}

/// Bradley–Terry strengths from comparisons `(source of A, source of B, outcome)` by the
/// minorisation–maximisation update of Hunter (2004), `p_i ← W_i / Σ_j n_ij / (p_i + p_j)`.
/// A tie is half a win for each side; comparisons of a source with itself are left out. So
/// that a source that never lost (or never won) keeps a finite strength, each pair of sources
/// that met gets one virtual tie. Sorted strongest first.
pub fn bradley_terry(comparisons: &[(String, String, Outcome)]) -> Vec<SourceScore> {
    let mut names: Vec<&str> = comparisons
        .iter()
        .filter(|c| c.0 != c.1)
        .flat_map(|c| [c.0.as_str(), c.1.as_str()])
        .collect();
    names.sort_unstable();
    names.dedup();
    let k = names.len();
    if k == 0 {
        return Vec::new();
    }
    let at = |s: &str| names.binary_search(&s).unwrap_or_default();
    // n[i][j]: comparisons between i and j; w[i]: wins of i (ties count half).
    let mut n = vec![vec![0.0f64; k]; k];
    let mut w = vec![0.0f64; k];
    let mut tally = vec![(0u64, 0u64, 0u64); k];
    for (a, b, o) in comparisons.iter().filter(|c| c.0 != c.1) {
        let (i, j) = (at(a), at(b));
        n[i][j] += 1.0;
        n[j][i] += 1.0;
        match o {
            Outcome::AWins => {
                w[i] += 1.0;
                tally[i].0 += 1;
                tally[j].1 += 1;
            }
            Outcome::BWins => {
                w[j] += 1.0;
                tally[j].0 += 1;
                tally[i].1 += 1;
            }
            Outcome::Tie => {
                w[i] += 0.5;
                w[j] += 0.5;
                tally[i].2 += 1;
                tally[j].2 += 1;
            }
        }
    }
    // The virtual tie per pair that met.
    for i in 0..k {
        for j in (i + 1)..k {
            if n[i][j] > 0.0 {
                n[i][j] += 1.0;
                n[j][i] += 1.0;
                w[i] += 0.5;
                w[j] += 0.5;
            }
        }
    }
    let mut p = vec![1.0f64; k];
    for _ in 0..10_000 {
        let mut next = vec![0.0f64; k];
        for i in 0..k {
            let denom: f64 = (0..k)
                .filter(|&j| j != i && n[i][j] > 0.0)
                .map(|j| n[i][j] / (p[i] + p[j]))
                .sum();
            next[i] = if denom > 0.0 { w[i] / denom } else { p[i] };
        }
        // Scale to a geometric mean of 1 (strengths are defined up to a factor).
        let g = (next.iter().map(|x| x.ln()).sum::<f64>() / k as f64).exp();
        for x in &mut next {
            *x /= g;
        }
        let change = next
            .iter()
            .zip(&p)
            .map(|(a, b)| ((a - b) / b).abs())
            .fold(0.0, f64::max);
        p = next;
        if change < 1e-12 {
            break;
        }
    }
    let mut out: Vec<SourceScore> = names
        .iter()
        .enumerate()
        .map(|(i, s)| SourceScore {
            source: s.to_string(),
            strength: p[i],
            elo: 1000.0 + 400.0 * p[i].log10(),
            wins: tally[i].0,
            losses: tally[i].1,
            ties: tally[i].2,
        })
        .collect();
    out.sort_by(|a, b| {
        b.strength
            .total_cmp(&a.strength)
            .then(a.source.cmp(&b.source))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(v: Value) -> PairwiseSpec {
        let s: PairwiseSpec = serde_json::from_value(v).unwrap();
        s.check().unwrap();
        s
    }

    #[test]
    fn values_are_checked_and_canonical() {
        let s = spec(json!({}));
        assert_eq!(s.check_value(&json!("A")).unwrap(), json!("A"));
        assert_eq!(
            s.check_value(&json!({"choice": "B", "reason": " shorter "}))
                .unwrap(),
            json!({"choice": "B", "reason": "shorter"})
        );
        assert_eq!(
            s.check_value(&json!({"choice": "tie", "reason": ""}))
                .unwrap(),
            json!("tie")
        );
        for (bad, why) in [
            (json!("C"), "not one of"),
            (json!("a"), "not one of"),
            (json!(1), "a preference is"),
            (json!({"reason": "x"}), "choice is missing"),
            (json!({"choice": "A", "why": "x"}), "unknown field"),
            (json!({"choice": "A", "reason": 5}), "reason must be"),
            (json!({"choice": "A", "reason": "x".repeat(2001)}), "longer"),
        ] {
            let e = s.check_value(&bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let strict = spec(json!({"allow_tie": false, "allow_both_bad": false}));
        assert!(strict.check_value(&json!("tie")).is_err());
        assert!(strict.check_value(&json!("both_bad")).is_err());
        assert_eq!(strict.choices(), vec!["A", "B"]);
        let bad: PairwiseSpec =
            serde_json::from_value(json!({"a_field": "x", "b_field": "x"})).unwrap();
        assert!(bad.check().unwrap_err().contains("different"));
        let half: PairwiseSpec = serde_json::from_value(json!({"a_source_field": "m"})).unwrap();
        assert!(half.check().unwrap_err().contains("together"));
        assert_eq!(
            s.display(&json!({"choice": "A", "reason": "r"})),
            "A is better: r"
        );
    }

    #[test]
    fn observed_agreement_counts_agreeing_pairs() {
        // Item 1: A, A, B → 2 of 6 ordered pairs agree; item 2: tie, tie → 2 of 2. (2+2)/(6+2).
        let units = [
            vec!["A".to_string(), "A".into(), "B".into()],
            vec!["tie".into(), "tie".into()],
            vec!["B".into()],
        ];
        let a = observed_agreement(units.iter().map(Vec::as_slice)).unwrap();
        assert!((a - 0.5).abs() < 1e-12);
        assert_eq!(observed_agreement(std::iter::empty()), None);
    }

    /// docs/label-kinds.md: m1 beats m2 three times and loses once. With the virtual tie,
    /// W = 3.5 and 1.5 over 5 comparisons, so p1/p2 = 3.5/1.5 and, scaled to a geometric mean
    /// of 1, p1 = sqrt(7/3).
    #[test]
    fn bradley_terry_two_sources_by_hand() {
        let c = |a: &str, b: &str, o| (a.to_string(), b.to_string(), o);
        let comps = vec![
            c("m1", "m2", Outcome::AWins),
            c("m2", "m1", Outcome::BWins),
            c("m1", "m2", Outcome::AWins),
            c("m1", "m2", Outcome::BWins),
        ];
        let s = bradley_terry(&comps);
        assert_eq!(s[0].source, "m1");
        assert!(
            (s[0].strength - (7.0f64 / 3.0).sqrt()).abs() < 1e-9,
            "{s:?}"
        );
        assert!((s[0].strength / s[1].strength - 7.0 / 3.0).abs() < 1e-9);
        assert_eq!((s[0].wins, s[0].losses, s[0].ties), (3, 1, 0));
        assert!((s[0].elo - (1000.0 + 400.0 * (7.0f64 / 3.0).sqrt().log10())).abs() < 1e-9);
    }

    /// Three sources: at the fixed point every source's expected wins equal its actual wins
    /// (the likelihood equations of the model).
    #[test]
    fn bradley_terry_meets_its_likelihood_equations() {
        let c = |a: &str, b: &str, o| (a.to_string(), b.to_string(), o);
        let comps = vec![
            c("x", "y", Outcome::AWins),
            c("x", "y", Outcome::AWins),
            c("y", "z", Outcome::AWins),
            c("z", "x", Outcome::AWins),
            c("x", "z", Outcome::Tie),
            c("y", "x", Outcome::AWins),
            c("x", "x", Outcome::AWins),
        ];
        let s = bradley_terry(&comps);
        let p: BTreeMap<&str, f64> = s.iter().map(|s| (s.source.as_str(), s.strength)).collect();
        // With the virtual ties: x–y met 3 (+1) times, y–z 1 (+1), x–z 2 (+1).
        let n = |a: &str, b: &str| -> f64 {
            match (a.min(b), a.max(b)) {
                ("x", "y") => 4.0,
                ("y", "z") => 2.0,
                ("x", "z") => 3.0,
                _ => 0.0,
            }
        };
        let wins: BTreeMap<&str, f64> = [
            ("x", 2.0 + 0.5 + 0.5 + 0.5),
            ("y", 1.0 + 1.0 + 0.5 + 0.5),
            ("z", 1.0 + 0.5 + 0.5 + 0.5),
        ]
        .into_iter()
        .collect();
        for i in ["x", "y", "z"] {
            let expected: f64 = ["x", "y", "z"]
                .iter()
                .filter(|j| **j != i)
                .map(|j| n(i, j) * p[i] / (p[i] + p[j]))
                .sum();
            assert!(
                (expected - wins[i]).abs() < 1e-6,
                "{i}: {expected} vs {}",
                wins[i]
            );
        }
        assert!(bradley_terry(&[]).is_empty());
    }
}
