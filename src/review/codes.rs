//! The error codes review answers with (the `code` of an error body). Clients match on these:
//! never change a string.

/// A request body that is not the JSON asked for.
pub const INVALID_JSON: &str = "invalid_json";
/// A re-resolution method that is not one of the engines, or not usable for the task's schema.
pub const INVALID_METHOD: &str = "invalid_method";
/// A reviewer's answer that the task's label schema refuses.
pub const INVALID_VALUE: &str = "invalid_value";
/// Someone else changed the item since the reviewer loaded it.
pub const STALE_VERSION: &str = "stale_version";
/// A label import line that cannot be used (the answer says which line and why).
pub const INVALID_INPUT: &str = "invalid_input";
/// A label import sent as neither CSV nor JSONL.
pub const UNKNOWN_FORMAT: &str = "unknown_format";
/// An outside worker id maps to the username of a real account.
pub const WORKER_NAME_TAKEN: &str = "worker_name_taken";
