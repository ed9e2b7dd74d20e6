//! Label schemas and label values of every kind.

use proptest::prelude::*;
use quorum::domain::schema::LabelSchema;
use serde_json::{Value, json};

use super::{config, json_value};

fn kinds() -> Vec<LabelSchema> {
    [
        json!({"kind": "single_choice", "options": [{"value": "pos", "label": "P"}, {"value": "neg", "label": "N"}]}),
        json!({"kind": "multi_choice", "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}, {"value": "c", "label": "C"}]}),
        json!({"kind": "free_text", "max_length": 10}),
        json!({"kind": "free_text"}),
    ]
    .iter()
    .map(|v| LabelSchema::parse(v).unwrap())
    .collect()
}

proptest! {
    #![proptest_config(config())]

    /// A value is refused with a message, or accepted in a canonical form that is accepted again
    /// unchanged.
    #[test]
    fn label_values_of_every_kind(v in json_value()) {
        for schema in kinds() {
            match schema.check_value(&v) {
                Ok(canonical) => prop_assert_eq!(schema.check_value(&canonical), Ok(canonical.clone())),
                Err(message) => prop_assert!(!message.trim().is_empty()),
            }
        }
    }

    #[test]
    fn free_text_values(s in "(?s).{0,40}") {
        for schema in kinds() {
            let _ = schema.check_value(&Value::String(s.clone()));
        }
    }

    #[test]
    fn schemas_from_any_json(v in json_value()) {
        match LabelSchema::parse(&v) {
            Ok(schema) => {
                // A schema that parses round-trips through its JSON form.
                let again = LabelSchema::parse(&serde_json::to_value(&schema).unwrap());
                prop_assert_eq!(again, Ok(schema));
            }
            Err(message) => prop_assert!(!message.trim().is_empty()),
        }
    }

    #[test]
    fn schemas_with_any_options(options in prop::collection::vec(json_value(), 0..6), kind in prop_oneof![Just("single_choice"), Just("multi_choice")]) {
        let v = json!({"kind": kind, "options": options});
        if let Err(message) = LabelSchema::parse(&v) {
            prop_assert!(!message.trim().is_empty());
        }
    }
}
