//! Error codes of the validation feature (the `code` of an error body). Clients match on these:
//! never change a string. An import refused by the `reject` policy answers `import_rejected`
//! (see `crate::error::AppError::ImportRejected`).

/// An unknown anomaly policy, or a drift threshold outside 0..1.
pub const INVALID_VALIDATION: &str = "invalid_validation";
/// An item schema that does not hold together (the message names the field and why).
pub const INVALID_ITEM_SCHEMA: &str = "invalid_item_schema";
/// A release or discard that names neither ids nor all, or too many ids.
pub const INVALID_QUARANTINE_ACTION: &str = "invalid_quarantine_action";
/// A release or discard naming an id the task does not hold in quarantine.
pub const UNKNOWN_QUARANTINED: &str = "unknown_quarantined";
