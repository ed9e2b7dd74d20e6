//! The item import parsers on arbitrary bytes and on near-valid records.

use proptest::prelude::*;
use quorum::domain::import::{Format, LineError, parse};
use quorum::domain::schema::LabelSchema;
use serde_json::json;

use super::{config, json_value};

fn schemas() -> Vec<LabelSchema> {
    [
        json!({"kind": "single_choice", "options": [{"value": "pos", "label": "P"}, {"value": "neg", "label": "N"}]}),
        json!({"kind": "multi_choice", "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]}),
        json!({"kind": "free_text", "max_length": 20}),
    ]
    .iter()
    .map(|v| LabelSchema::parse(v).unwrap())
    .collect()
}

/// Parses `input` in every format against every schema kind; checks each answer's shape.
fn parse_all(input: &[u8]) {
    let lines = input.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    for schema in schemas() {
        for format in [Format::Jsonl, Format::Csv, Format::JsonArray] {
            let mut records = 0u64;
            let result = parse(format, input, &schema, |r| {
                assert!(
                    r.line >= 1 && r.line <= lines,
                    "record line {} of {lines}",
                    r.line
                );
                if let Some(g) = &r.gold {
                    assert!(schema.check_value(g).is_ok(), "gold is checked");
                }
                records += 1;
                Ok(())
            });
            match result {
                Ok(n) => assert_eq!(n, records, "{format:?} counts what it emitted"),
                Err(LineError { line, message }) => {
                    assert!(!message.trim().is_empty(), "{format:?}: a refusal says why");
                    assert!(
                        line >= 1 && line <= lines + 1,
                        "{format:?}: line {line} of {lines}"
                    );
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes(input in prop::collection::vec(any::<u8>(), 0..2048)) {
        parse_all(&input);
    }

    #[test]
    fn arbitrary_text(input in "(?s).{0,512}") {
        parse_all(input.as_bytes());
    }

    #[test]
    fn jsonl_of_json_values(values in prop::collection::vec(json_value(), 0..12)) {
        let text: String = values.iter().map(|v| format!("{v}\n")).collect();
        parse_all(text.as_bytes());
        let array = serde_json::to_string(&values).unwrap();
        parse_all(array.as_bytes());
    }

    #[test]
    fn csv_of_cells(rows in prop::collection::vec(prop::collection::vec("[a-z0-9\",\n\r ]{0,8}", 1..5), 0..10)) {
        let mut text = String::from("external_id,text,gold\n");
        for row in rows {
            text.push_str(&row.join(","));
            text.push('\n');
        }
        parse_all(text.as_bytes());
    }
}
