//! The label kinds beyond choices and free text (`rating`, `pairwise`, `spans`, `boxes`, and
//! `questions`, several of them per item): each kind's
//! pure rules in its own file, and the few dispatch functions the rest of Quorum calls so that
//! every kind goes through the same loop (submission check, online resolution, agreement,
//! quality figures, exports).

pub mod boxes;
pub mod pairwise;
pub mod questions;
pub mod rating;
pub mod spans;

use serde_json::{Map, Value};

use crate::domain::resolve::{self, Decision};
use crate::domain::schema::LabelSchema;

/// Decides an item's fate from its labels, the way its kind resolves: choices and free text by
/// majority ([`resolve::decide`]), ratings by the median, preferences by majority of the choice
/// (the reason is not counted; ties between choices stay open).
pub fn decide(
    schema: &LabelSchema,
    values: &[Value],
    agreement: f64,
    target: i64,
    max_overlap: i64,
) -> Decision {
    match schema {
        LabelSchema::Rating(s) => rating::decide(s, values, agreement, target, max_overlap),
        LabelSchema::Spans(s) => spans::decide(s, values, agreement, target, max_overlap),
        LabelSchema::Boxes(_) => boxes::decide(values, agreement, target, max_overlap),
        LabelSchema::Questions(s) => s.decide(values, agreement, target, max_overlap),
        LabelSchema::Pairwise(_) => {
            let choices: Vec<Value> = values
                .iter()
                .filter_map(pairwise::choice_of)
                .map(|c| Value::String(c.to_string()))
                .collect();
            resolve::decide(&choices, agreement, target, max_overlap)
        }
        _ => resolve::decide(values, agreement, target, max_overlap),
    }
}

/// The class a stored answer counts as in agreement figures and vote counts, as JSON text, when
/// it differs from the stored text: a preference counts by its choice alone.
pub fn class_json(schema: &LabelSchema, value_json: &str) -> Option<String> {
    match schema {
        LabelSchema::Pairwise(_) if value_json.starts_with('{') => {
            let v: Value = serde_json::from_str(value_json).ok()?;
            pairwise::choice_of(&v).map(|c| Value::String(c.to_string()).to_string())
        }
        _ => None,
    }
}

/// The item fields a kind needs, checked at import: `Some(Err(why))` names the missing field;
/// `None` when the kind uses the default layout (a `text` or an image).
pub fn check_item(schema: &LabelSchema, data: &Map<String, Value>) -> Option<Result<(), String>> {
    match schema {
        LabelSchema::Pairwise(s) => Some(s.check_item(data)),
        LabelSchema::Spans(s) => Some(s.check_item(data)),
        LabelSchema::Boxes(s) => Some(s.check_item(data)),
        LabelSchema::Questions(s) => s.check_item(data),
        _ => None,
    }
}

/// Whether a value must also be checked against the item's data (span offsets against its text).
pub fn needs_item(schema: &LabelSchema) -> bool {
    match schema {
        LabelSchema::Spans(_) | LabelSchema::Boxes(_) => true,
        LabelSchema::Questions(s) => s.needs_item(),
        _ => false,
    }
}

/// Checks a (schema-checked) value against the item's data: every span within the text.
pub fn check_against_item(schema: &LabelSchema, value: &Value, data: &Value) -> Result<(), String> {
    match schema {
        LabelSchema::Spans(s) => s.check_text(value, data),
        LabelSchema::Boxes(s) => s.check_image(value, data),
        LabelSchema::Questions(s) => s.check_against_item(value, data),
        _ => Ok(()),
    }
}

/// Whether the kind resolves only by its own rule (no Dawid-Skene and the like).
pub fn own_resolution(schema: &LabelSchema) -> bool {
    matches!(
        schema,
        LabelSchema::Rating(_)
            | LabelSchema::Pairwise(_)
            | LabelSchema::Spans(_)
            | LabelSchema::Boxes(_)
            | LabelSchema::Questions(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn preferences_vote_by_choice_and_ties_stay_open() {
        let s = LabelSchema::parse(&json!({"kind": "pairwise"})).unwrap();
        let v = [
            json!("A"),
            json!({"choice": "A", "reason": "longer"}),
            json!("B"),
        ];
        match decide(&s, &v, 0.5, 3, 5) {
            Decision::Resolved { value, method, .. } => {
                assert_eq!(value, json!("A"));
                assert_eq!(method, "majority");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            decide(&s, &[json!("A"), json!("B")], 0.5, 2, 3),
            Decision::MoreLabels { .. }
        ));
        assert!(matches!(
            decide(
                &s,
                &[json!("A"), json!({"choice": "B", "reason": "x"})],
                0.5,
                3,
                3
            ),
            Decision::Adjudicate { .. }
        ));
        assert_eq!(
            class_json(&s, r#"{"choice":"tie","reason":"same"}"#).as_deref(),
            Some("\"tie\"")
        );
        assert_eq!(class_json(&s, "\"A\""), None);
    }
}
