//! Label values of every schema kind: any JSON is refused with a message or accepted in a
//! canonical form that is accepted again unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quorum::domain::schema::LabelSchema;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for schema in [
        r#"{"kind": "single_choice", "options": [{"value": "pos", "label": "P"}, {"value": "neg", "label": "N"}]}"#,
        r#"{"kind": "multi_choice", "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]}"#,
        r#"{"kind": "free_text", "max_length": 20}"#,
    ] {
        let schema = LabelSchema::parse(&serde_json::from_str(schema).unwrap()).unwrap();
        match schema.check_value(&value) {
            Ok(canonical) => assert_eq!(schema.check_value(&canonical), Ok(canonical.clone())),
            Err(message) => assert!(!message.is_empty()),
        }
    }
});
