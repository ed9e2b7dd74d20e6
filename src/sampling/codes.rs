//! Error codes of the sampling feature.

pub const INVALID_SAMPLING: &str = "invalid_sampling";
pub const INVALID_PREDICTION: &str = "invalid_prediction";
pub const UNKNOWN_ITEM: &str = "unknown_item";
