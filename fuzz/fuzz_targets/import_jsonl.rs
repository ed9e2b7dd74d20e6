//! The jsonl item-import parser on arbitrary bytes, against every schema kind: it returns a count
//! or a line error with a message, and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quorum::domain::import::{Format, parse};
use quorum::domain::schema::LabelSchema;

fuzz_target!(|data: &[u8]| {
    for schema in [
        r#"{"kind": "single_choice", "options": [{"value": "pos", "label": "P"}, {"value": "neg", "label": "N"}]}"#,
        r#"{"kind": "multi_choice", "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]}"#,
        r#"{"kind": "free_text", "max_length": 20}"#,
    ] {
        let Ok(schema) = LabelSchema::parse(&serde_json::from_str(schema).unwrap()) else {
            return;
        };
        if let Err(e) = parse(Format::Jsonl, data, &schema, |_| Ok(())) {
            assert!(!e.message.is_empty() && e.line >= 1);
        }
    }
});
