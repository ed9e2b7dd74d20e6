//! Label schemas from any JSON: refused with a message, or round-tripping through their JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quorum::domain::schema::LabelSchema;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    match LabelSchema::parse(&value) {
        Ok(schema) => {
            let again = LabelSchema::parse(&serde_json::to_value(&schema).unwrap());
            assert_eq!(again, Ok(schema));
        }
        Err(message) => assert!(!message.is_empty()),
    }
});
