//! Property tests over every parser that reads outside input: item imports (JSONL, CSV, JSON
//! array), label schemas and values of every kind, Markdown, `Range` headers and list cursors.
//! For any input: no panic, no hang (inputs are bounded), and a refusal is an error with a
//! message. 256 cases each, so CI stays fast; `fuzz/` has the matching cargo-fuzz targets.

mod import;
mod schema;
mod text;

use proptest::prelude::*;
use serde_json::Value;

/// The bounded number of cases every property runs.
pub fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Any JSON value, a few levels deep.
pub fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![Just("pos"), Just("neg"), Just("a"), Just("b"), Just("")]
            .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("external_id".to_string()),
                        Just("text".to_string()),
                        Just("gold".to_string()),
                        Just("kind".to_string()),
                        Just("options".to_string()),
                        Just("value".to_string()),
                        Just("label".to_string()),
                        ".{0,6}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}
