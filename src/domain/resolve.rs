//! The cheap resolution applied as labels arrive: count the votes; if the leading answer's share
//! passes the task's agreement threshold the item is resolved (`unanimous` or `majority`),
//! otherwise adaptive overlap asks for one more label, up to the maximum, and then a reviewer.
//!
//! Ties are never broken by chance: a tie does not pass any threshold above one half.

use std::collections::BTreeMap;

use serde_json::Value;

/// What to do with an item that reached its target.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Resolved {
        value: Value,
        method: &'static str,
        confidence: f64,
        votes: BTreeMap<String, u32>,
    },
    /// Ask for one more label (the target grows by one).
    MoreLabels { votes: BTreeMap<String, u32> },
    /// No agreement at maximum overlap: a reviewer decides.
    Adjudicate { votes: BTreeMap<String, u32> },
}

/// Counts votes by their canonical JSON text (values are canonical after schema checking).
pub fn count_votes<'a>(values: impl IntoIterator<Item = &'a Value>) -> BTreeMap<String, u32> {
    let mut votes = BTreeMap::new();
    for v in values {
        *votes.entry(v.to_string()).or_insert(0) += 1;
    }
    votes
}

/// Decides an item's fate from its labels.
pub fn decide(values: &[Value], agreement: f64, target: i64, max_overlap: i64) -> Decision {
    let votes = count_votes(values);
    let total: u32 = votes.values().sum();
    let best = votes.values().copied().max().unwrap_or(0);
    let leaders: Vec<&String> = votes
        .iter()
        .filter(|(_, n)| **n == best)
        .map(|(k, _)| k)
        .collect();
    if total > 0 && leaders.len() == 1 {
        let share = f64::from(best) / f64::from(total);
        if share > agreement || (share >= 1.0 && agreement >= 1.0) {
            let value = serde_json::from_str(leaders[0]).unwrap_or(Value::Null);
            let method = if best == total {
                "unanimous"
            } else {
                "majority"
            };
            return Decision::Resolved {
                value,
                method,
                confidence: share,
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unanimous_majority_more_and_adjudicate() {
        let d = decide(&[json!("a"), json!("a"), json!("a")], 0.5, 3, 5);
        assert!(matches!(
            d,
            Decision::Resolved {
                method: "unanimous",
                ..
            }
        ));
        match decide(&[json!("a"), json!("b"), json!("a")], 0.5, 3, 5) {
            Decision::Resolved {
                value,
                method,
                confidence,
                votes,
            } => {
                assert_eq!(value, json!("a"));
                assert_eq!(method, "majority");
                assert!((confidence - 2.0 / 3.0).abs() < 1e-9);
                assert_eq!(votes["\"a\""], 2);
            }
            other => panic!("{other:?}"),
        }
        // A tie is never resolved by chance.
        assert!(matches!(
            decide(&[json!("a"), json!("b")], 0.5, 2, 3),
            Decision::MoreLabels { .. }
        ));
        assert!(matches!(
            decide(&[json!("a"), json!("b")], 0.5, 3, 3),
            Decision::Adjudicate { .. }
        ));
        // A stricter threshold: 2 of 3 is not enough for 0.7.
        assert!(matches!(
            decide(&[json!("a"), json!("b"), json!("a")], 0.7, 3, 3),
            Decision::Adjudicate { .. }
        ));
        // Multi-choice sets vote as whole answers.
        assert!(matches!(
            decide(&[json!(["x", "y"]), json!(["x", "y"])], 0.5, 2, 2),
            Decision::Resolved { .. }
        ));
    }
}
