//! Parsing item files (JSONL, CSV, a JSON array) as a stream, one record at a time, with the line
//! of every problem. Nothing here stores anything: the caller gets each checked [`Record`] through a
//! callback, so memory stays flat however large the input.
//!
//! This file owns what the parsers share: the [`Format`], the checked [`Record`], the
//! [`LineError`], the limits, and the entry point [`parse`]. Each format has its own parser
//! (`jsonl`, `csv`, `json_array`); `record` turns one parsed value into a checked [`Record`].

mod csv;
mod json_array;
mod jsonl;
mod record;

use std::io::BufRead;

use serde_json::{Map, Value};

use crate::domain::layout::ItemLayout;
use crate::domain::schema::LabelSchema;

pub use record::record_from_value;

/// The longest line (JSONL), record (CSV) or element (JSON array) accepted.
pub const MAX_LINE: usize = 1 << 20;
/// The most rows one import may hold.
pub const MAX_ROWS: u64 = 2_000_000;
/// The longest external id.
pub const MAX_EXTERNAL_ID: usize = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
    JsonArray,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::JsonArray => "json",
        }
    }

    /// The format a `Content-Type` names.
    pub fn from_content_type(ct: &str) -> Option<Format> {
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/x-ndjson"
            | "application/jsonl"
            | "application/x-jsonlines"
            | "application/jsonlines" => Some(Format::Jsonl),
            "text/csv" => Some(Format::Csv),
            "application/json" => Some(Format::JsonArray),
            _ => None,
        }
    }

    /// The format a file name suggests.
    pub fn from_filename(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            Some(Format::Jsonl)
        } else if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else if lower.ends_with(".json") {
            Some(Format::JsonArray)
        } else {
            None
        }
    }
}

/// One checked item.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The line the record starts on (1-based).
    pub line: u64,
    pub external_id: String,
    pub data: Map<String, Value>,
    /// The gold answer, already checked against the schema.
    pub gold: Option<Value>,
    /// Model predictions, already checked against the schema.
    pub predictions: Vec<crate::domain::sampling::Prediction>,
    /// The item's priority for `priority` sampling (higher first; 0 when not given).
    pub priority: f64,
}

/// A problem with the input, and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

impl LineError {
    pub(super) fn new(line: u64, message: impl Into<String>) -> Self {
        LineError {
            line,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// What every item of an import must fit: the task's label schema, and its item layout (an item
/// needs something to show: under the default layout a `text` or an image, under a layout one of
/// the fields it shows as text or image).
#[derive(Clone, Copy, Debug)]
pub struct Fit<'a> {
    pub schema: &'a LabelSchema,
    pub layout: &'a ItemLayout,
}

static DEFAULT_LAYOUT: ItemLayout = ItemLayout { fields: Vec::new() };

/// Parses the whole input under the default layout (see [`parse_fit`]).
pub fn parse<R: BufRead>(
    format: Format,
    input: R,
    schema: &LabelSchema,
    emit: impl FnMut(Record) -> Result<(), LineError>,
) -> Result<u64, LineError> {
    let fit = Fit {
        schema,
        layout: &DEFAULT_LAYOUT,
    };
    parse_fit(format, input, fit, emit)
}

/// Parses the whole input, calling `emit` for every record; returns how many there were.
pub fn parse_fit<R: BufRead>(
    format: Format,
    mut input: R,
    fit: Fit<'_>,
    mut emit: impl FnMut(Record) -> Result<(), LineError>,
) -> Result<u64, LineError> {
    check_encoding(&mut input)?;
    match format {
        Format::Jsonl => jsonl::parse_jsonl(input, fit, &mut emit),
        Format::Csv => csv::parse_csv(input, fit, &mut emit),
        Format::JsonArray => json_array::parse_json_array(input, fit, &mut emit),
    }
}

pub(super) fn io_error(line: u64, e: std::io::Error) -> LineError {
    LineError::new(line, format!("could not read the input: {e}"))
}

/// Refuses UTF-16 and UTF-32 files up front and drops a UTF-8 byte-order mark.
fn check_encoding<R: BufRead>(input: &mut R) -> Result<(), LineError> {
    let head = input.fill_buf().map_err(|e| io_error(1, e))?;
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(LineError::new(
            1,
            "the file must be UTF-8 (this one looks like UTF-16)",
        ));
    }
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        input.consume(3);
    }
    Ok(())
}

/// serde_json appends " at line L column C"; we report our own line numbers instead.
pub(super) fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// What the parsers' tests share: a two-option schema and a parse that collects the records.
#[cfg(test)]
mod test_support {
    use serde_json::json;

    use super::{Format, LineError, Record, parse};
    use crate::domain::schema::LabelSchema;

    pub(super) fn schema() -> LabelSchema {
        LabelSchema::parse(&json!({"kind": "single_choice", "options": [
            {"value": "pos", "label": "P"}, {"value": "neg", "label": "N"}]}))
        .unwrap()
    }

    pub(super) fn run(format: Format, input: &[u8]) -> Result<Vec<Record>, LineError> {
        let mut out = Vec::new();
        parse(format, input, &schema(), |r| {
            out.push(r);
            Ok(())
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod layout_tests {
    use serde_json::json;

    use super::test_support::schema;
    use super::{Fit, Format, parse_fit};
    use crate::domain::layout::ItemLayout;

    fn lines(layout: &ItemLayout, input: &str) -> Result<u64, String> {
        let fit = Fit {
            schema: &schema(),
            layout,
        };
        parse_fit(Format::Jsonl, input.as_bytes(), fit, |_| Ok(())).map_err(|e| e.to_string())
    }

    #[test]
    fn a_layout_says_what_an_item_must_show() {
        let item = "{\"external_id\": \"a\", \"title\": \"Hi\", \"body\": \"There\"}\n";
        let default = ItemLayout::default();
        let err = lines(&default, item).unwrap_err();
        assert!(err.contains("missing field \"text\""), "{err}");
        let layout = ItemLayout::parse(
            &json!({"fields": [{"field": "title", "as": "text"}, {"field": "photo", "as": "image"}]}),
            &schema(),
        )
        .unwrap();
        assert_eq!(lines(&layout, item), Ok(1));
        let err = lines(&layout, "{\"external_id\": \"b\", \"body\": \"x\"}\n").unwrap_err();
        assert_eq!(
            err,
            "line 1: missing every field the task's layout shows as text or image (\"title\", \"photo\")"
        );
    }
}
