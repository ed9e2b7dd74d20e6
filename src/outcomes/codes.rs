//! Error codes of the outcomes feature.

pub const INVALID_OUTCOME: &str = "invalid_outcome";
pub const UNKNOWN_ITEM: &str = "unknown_item";
pub const INVALID_DIRECT_LABELS: &str = "invalid_direct_labels";
