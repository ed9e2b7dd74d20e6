//! Error codes of the layout feature.

/// A layout that does not fit the task (the message names the entry and the field).
pub const INVALID_LAYOUT: &str = "invalid_layout";
