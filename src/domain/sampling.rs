//! Model predictions on items, how uncertain they are, and the order in which a task hands its
//! items out (its sampling strategy). Pure: no I/O.
//!
//! Uncertainty of one prediction, from its class probabilities `p` (normalised to sum to 1):
//! - least confidence: `1 − max p`;
//! - margin: `1 − (p₁ − p₂)`, the two largest;
//! - entropy: `−Σ p ln p / ln K` (0 to 1, K the number of classes).
//!
//! A prediction with only a `score` is read as the probability of its own value, the rest spread
//! evenly over the other options of the schema (for a yes/no task: `score` and `1 − score`).
//! Higher is more uncertain under all three, and uncertainty sampling hands out the most
//! uncertain items first (items without a prediction come last).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::schema::LabelSchema;

/// The most predictions one item may carry.
pub const MAX_PREDICTIONS: usize = 16;

/// One model's output for an item, checked against the task's schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub model: String,
    pub version: String,
    /// In the task's label schema (canonical form).
    pub value: Value,
    /// The model's confidence in `value`, 0 to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Class probabilities by option value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probabilities: Option<BTreeMap<String, f64>>,
}

/// The three uncertainty measures of one prediction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Uncertainty {
    pub least_confidence: f64,
    pub margin: f64,
    pub entropy: f64,
}

fn name_ok(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= 100 && !s.chars().any(char::is_control)
}

/// Checks one prediction given as JSON (`what` names it in errors, e.g. `predictions[1]`).
pub fn parse_prediction(v: &Value, schema: &LabelSchema, what: &str) -> Result<Prediction, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("{what}: expected an object with model, version and value"))?;
    for k in obj.keys() {
        if !matches!(
            k.as_str(),
            "model" | "version" | "value" | "score" | "probabilities" | "external_id"
        ) {
            return Err(format!("{what}: unknown field {k:?}"));
        }
    }
    let text = |field: &str, required: bool| -> Result<String, String> {
        match obj.get(field) {
            Some(Value::String(s)) if name_ok(s.trim()) => Ok(s.trim().to_string()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            None | Some(Value::Null) if !required => Ok(String::new()),
            _ => Err(format!(
                "{what}.{field}: must be a string of 1 to 100 printable characters"
            )),
        }
    };
    let model = text("model", true)?;
    let version = text("version", false)?;
    let value = obj
        .get("value")
        .ok_or_else(|| format!("{what}.value: missing"))?;
    let value = schema
        .check_value(value)
        .map_err(|e| format!("{what}.value: {e}"))?;
    let score = match obj.get("score") {
        None | Some(Value::Null) => None,
        Some(s) => match s.as_f64() {
            Some(x) if (0.0..=1.0).contains(&x) => Some(x),
            _ => return Err(format!("{what}.score: must be a number from 0 to 1")),
        },
    };
    let probabilities = match obj.get("probabilities") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) => {
            let known: Vec<&str> = schema.options().iter().map(|o| o.value.as_str()).collect();
            let mut out = BTreeMap::new();
            for (k, p) in m {
                if !known.is_empty() && !known.contains(&k.as_str()) {
                    return Err(format!(
                        "{what}.probabilities: {k:?} is not one of the options"
                    ));
                }
                match p.as_f64() {
                    Some(x) if (0.0..=1.0).contains(&x) => {
                        out.insert(k.clone(), x);
                    }
                    _ => {
                        return Err(format!(
                            "{what}.probabilities.{k}: must be a number from 0 to 1"
                        ));
                    }
                }
            }
            let sum: f64 = out.values().sum();
            if out.is_empty() || !(0.99..=1.01).contains(&sum) {
                return Err(format!(
                    "{what}.probabilities: must sum to 1 (they sum to {sum:.3})"
                ));
            }
            Some(out)
        }
        Some(_) => {
            return Err(format!(
                "{what}.probabilities: must be an object of option → probability"
            ));
        }
    };
    Ok(Prediction {
        model,
        version,
        value,
        score,
        probabilities,
    })
}

/// Checks an item's `predictions` array.
pub fn parse_predictions(v: &Value, schema: &LabelSchema) -> Result<Vec<Prediction>, String> {
    let arr = v
        .as_array()
        .ok_or("predictions: must be an array of {model, version, value, score|probabilities}")?;
    if arr.len() > MAX_PREDICTIONS {
        return Err(format!(
            "predictions: at most {MAX_PREDICTIONS} per item ({} given)",
            arr.len()
        ));
    }
    arr.iter()
        .enumerate()
        .map(|(i, p)| parse_prediction(p, schema, &format!("predictions[{i}]")))
        .collect()
}

/// How uncertain a prediction is, or `None` when it says nothing about its confidence.
pub fn uncertainty(p: &Prediction, schema: &LabelSchema) -> Option<Uncertainty> {
    let mut probs: Vec<f64> = match (&p.probabilities, p.score) {
        (Some(m), _) => m.values().copied().collect(),
        (None, Some(score)) => {
            let others = schema.options().len().saturating_sub(1).max(1);
            let mut v = vec![score];
            v.extend(std::iter::repeat_n((1.0 - score) / others as f64, others));
            v
        }
        (None, None) => return None,
    };
    let k = probs.len().max(schema.options().len()).max(2);
    let sum: f64 = probs.iter().sum();
    if sum <= 0.0 {
        return None;
    }
    for x in &mut probs {
        *x /= sum;
    }
    probs.sort_by(|a, b| b.total_cmp(a));
    let p1 = probs.first().copied().unwrap_or(0.0);
    let p2 = probs.get(1).copied().unwrap_or(0.0);
    let entropy = -probs
        .iter()
        .filter(|x| **x > 0.0)
        .map(|x| x * x.ln())
        .sum::<f64>()
        / (k as f64).ln();
    Some(Uncertainty {
        least_confidence: 1.0 - p1,
        margin: 1.0 - (p1 - p2),
        entropy: entropy.clamp(0.0, 1.0),
    })
}

/// The order in which a task hands out its items.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sampling {
    /// Items closest to done first, so finished items accumulate (the default).
    FullestFirst,
    /// In the order they were imported.
    Fifo,
    /// A reproducible shuffle: the same seed gives the same order.
    Random,
    /// Highest `priority` (given at import) first, then import order.
    Priority,
    /// Most uncertain model prediction first (by the task's measure), items without one last.
    Uncertainty,
}

impl Sampling {
    pub fn as_str(self) -> &'static str {
        match self {
            Sampling::FullestFirst => "fullest_first",
            Sampling::Fifo => "fifo",
            Sampling::Random => "random",
            Sampling::Priority => "priority",
            Sampling::Uncertainty => "uncertainty",
        }
    }

    pub fn parse(s: &str) -> Option<Sampling> {
        [
            Sampling::FullestFirst,
            Sampling::Fifo,
            Sampling::Random,
            Sampling::Priority,
            Sampling::Uncertainty,
        ]
        .into_iter()
        .find(|m| m.as_str() == s)
    }
}

/// Which uncertainty measure orders an `uncertainty` task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    LeastConfidence,
    Margin,
    Entropy,
}

impl Measure {
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::LeastConfidence => "least_confidence",
            Measure::Margin => "margin",
            Measure::Entropy => "entropy",
        }
    }

    pub fn parse(s: &str) -> Option<Measure> {
        [Measure::LeastConfidence, Measure::Margin, Measure::Entropy]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// The shuffle key of an item under `seed`: `id × m(seed) mod P`, P a prime just above 2³², so
/// each seed's multiplier gives its own permutation of the ids (a shift would only rotate one).
/// The same in Rust and in the SQL that stores it (`db::sampling::rekey`); exact for ids
/// below 2³² (the product stays below 2⁶³).
pub fn random_key(id: i64, seed: i64) -> i64 {
    id.wrapping_mul(random_multiplier(seed))
        .rem_euclid(RANDOM_MODULUS)
}

/// The multiplier of a seed: 1 to 2³¹ − 1, never 0 mod P.
pub fn random_multiplier(seed: i64) -> i64 {
    1 + (seed.wrapping_mul(2_654_435_761)).rem_euclid(2_147_483_646)
}

pub const RANDOM_MODULUS: i64 = 4_294_967_311;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> LabelSchema {
        LabelSchema::parse(&json!({"kind": "single_choice", "options": [
            {"value": "pos", "label": "P"}, {"value": "neg", "label": "N"}, {"value": "neu", "label": "U"}]}))
        .unwrap()
    }

    #[test]
    fn uncertainty_by_hand() {
        let s = schema();
        let p = parse_prediction(
            &json!({"model": "m", "version": "1", "value": "pos",
                "probabilities": {"pos": 0.5, "neg": 0.3, "neu": 0.2}}),
            &s,
            "p",
        )
        .unwrap();
        let u = uncertainty(&p, &s).unwrap();
        assert!((u.least_confidence - 0.5).abs() < 1e-12);
        assert!((u.margin - 0.8).abs() < 1e-12);
        // −(0.5 ln 0.5 + 0.3 ln 0.3 + 0.2 ln 0.2) / ln 3 = 1.02965 / 1.09861
        assert!((u.entropy - 0.937_231).abs() < 1e-5, "{}", u.entropy);
        // A certain prediction is not uncertain at all.
        let sure = parse_prediction(
            &json!({"model": "m", "value": "neg", "probabilities": {"neg": 1.0}}),
            &s,
            "p",
        )
        .unwrap();
        let u = uncertainty(&sure, &s).unwrap();
        assert_eq!((u.least_confidence, u.margin, u.entropy), (0.0, 0.0, 0.0));
        // A score alone: 0.9 for its value, the rest spread over the other two.
        let scored = parse_prediction(
            &json!({"model": "m", "value": "pos", "score": 0.9}),
            &s,
            "p",
        )
        .unwrap();
        let u = uncertainty(&scored, &s).unwrap();
        assert!((u.least_confidence - 0.1).abs() < 1e-12);
        assert!((u.margin - 0.15).abs() < 1e-12);
        // Nothing about confidence: no uncertainty.
        let bare = parse_prediction(&json!({"model": "m", "value": "pos"}), &s, "p").unwrap();
        assert_eq!(uncertainty(&bare, &s), None);
    }

    #[test]
    fn bad_predictions_name_the_field() {
        let s = schema();
        let cases = [
            (
                json!([{"version": "1", "value": "pos"}]),
                "predictions[0].model",
            ),
            (
                json!([{"model": "m", "value": "maybe"}]),
                "predictions[0].value",
            ),
            (
                json!([{"model": "m", "value": "pos", "score": 1.5}]),
                "predictions[0].score",
            ),
            (
                json!([{"model": "m", "value": "pos", "probabilities": {"pos": 0.2, "neg": 0.2}}]),
                "must sum to 1",
            ),
            (
                json!([{"model": "m", "value": "pos", "probabilities": {"happy": 1.0}}]),
                "not one of the options",
            ),
            (
                json!([{"model": "m", "value": "pos", "colour": 1}]),
                "unknown field",
            ),
            (json!({"model": "m"}), "must be an array"),
        ];
        for (v, needle) in cases {
            let e = parse_predictions(&v, &s).unwrap_err();
            assert!(e.contains(needle), "{v}: {e}");
        }
    }

    #[test]
    fn random_keys_are_a_permutation_that_the_seed_changes() {
        let a: Vec<i64> = (1..=1000).map(|i| random_key(i, 7)).collect();
        let mut sorted = a.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 1000, "no two ids share a key");
        let b: Vec<i64> = (1..=1000).map(|i| random_key(i, 8)).collect();
        let order = |keys: &[i64]| {
            let mut ids: Vec<usize> = (0..keys.len()).collect();
            ids.sort_by_key(|&i| keys[i]);
            ids
        };
        assert_ne!(order(&a), order(&b), "another seed, another order");
        assert_ne!(order(&a[..6]), order(&b[..6]), "even over six items");
        assert_eq!(a, (1..=1000).map(|i| random_key(i, 7)).collect::<Vec<_>>());
        assert!(a.iter().all(|k| (0..RANDOM_MODULUS).contains(k)));
    }

    #[test]
    fn names_round_trip() {
        for s in ["fullest_first", "fifo", "random", "priority", "uncertainty"] {
            assert_eq!(Sampling::parse(s).unwrap().as_str(), s);
        }
        for s in ["least_confidence", "margin", "entropy"] {
            assert_eq!(Measure::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(Sampling::parse("lifo"), None);
    }
}
