//! What changed between two records, for the audit log: `{"field": {"from": old, "to": new}}`
//! for every field whose value differs, so a reader sees before → after instead of a copy of
//! the new settings.

use serde_json::{Map, Value, json};

/// The fields of `after` whose value differs from `before` (a field missing on one side counts
/// as null there), in `after`'s order.
pub fn changes(before: &Value, after: &Value) -> Map<String, Value> {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    for (k, to) in a {
        let from = b.get(k).unwrap_or(&Value::Null);
        if from != to {
            out.insert(k.clone(), json!({"from": from, "to": to}));
        }
    }
    for (k, from) in b {
        if !a.contains_key(k) {
            out.insert(k.clone(), json!({"from": from, "to": Value::Null}));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_fields_with_both_sides() {
        let c = changes(
            &json!({"state": "draft", "overlap": 3, "name": "a", "gone": 1}),
            &json!({"state": "active", "overlap": 3, "name": "a"}),
        );
        assert_eq!(
            Value::Object(c),
            json!({"state": {"from": "draft", "to": "active"}, "gone": {"from": 1, "to": null}})
        );
        assert!(changes(&json!({"a": 1}), &json!({"a": 1})).is_empty());
    }
}
