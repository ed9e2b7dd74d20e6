//! The error codes exports answer with (the `code` of an error body). Clients match on these:
//! never change a string.

/// A request body that is not the JSON asked for.
pub const INVALID_JSON: &str = "invalid_json";
/// Export options that do not make a snapshot (the message names the field).
pub const INVALID_EXPORT: &str = "invalid_export";
/// A drift threshold outside 0..=1.
pub const INVALID_DRIFT_THRESHOLD: &str = "invalid_drift_threshold";
