//! The error codes the tasks feature answers with (the `code` of an API error). Clients match on
//! them, so the strings never change.

pub const INVALID_NAME: &str = "invalid_name";
pub const INVALID_SCHEMA: &str = "invalid_schema";
pub const INVALID_OVERLAP: &str = "invalid_overlap";
pub const INVALID_MAX_OVERLAP: &str = "invalid_max_overlap";
pub const INVALID_AGREEMENT: &str = "invalid_agreement";
pub const INVALID_SHARD_SIZE: &str = "invalid_shard_size";
pub const INVALID_LEASE_MINUTES: &str = "invalid_lease_minutes";
pub const INVALID_STATE: &str = "invalid_state";
pub const INVALID_GOLD_RATIO: &str = "invalid_gold_ratio";
pub const INVALID_INSTRUCTIONS: &str = "invalid_instructions";
pub const INVALID_RESOLUTION_METHOD: &str = "invalid_resolution_method";
pub const INVALID_QUALIFICATION_ITEMS: &str = "invalid_qualification_items";
pub const INVALID_QUALIFICATION_PASS: &str = "invalid_qualification_pass";
pub const INVALID_GOLD_WINDOW: &str = "invalid_gold_window";
pub const INVALID_GOLD_MIN_ACCURACY: &str = "invalid_gold_min_accuracy";
/// A form field that should be a number is not one.
pub const INVALID_INPUT: &str = "invalid_input";
/// The schema cannot change once labels exist.
pub const SCHEMA_FROZEN: &str = "schema_frozen";
/// An acknowledgement of instructions that are no longer the current version.
pub const STALE_INSTRUCTIONS: &str = "stale_instructions";
/// A compressed upload (imports take the file as it is).
pub const UNSUPPORTED_ENCODING: &str = "unsupported_encoding";
/// An import whose format cannot be told or is not one of jsonl, csv, json.
pub const UNKNOWN_FORMAT: &str = "unknown_format";
