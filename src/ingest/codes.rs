//! The error codes item import answers with (the `code` of an error body). Clients match on
//! these: never change a string.

/// A line of the input that cannot be imported (the answer names the line and why).
pub const INVALID_INPUT: &str = "invalid_input";
/// A format name, content type or file name that names none of JSONL, CSV, JSON array.
pub const UNKNOWN_FORMAT: &str = "unknown_format";
