//! The schema that comes with each snapshot: its columns (name, type in the file's format,
//! whether they can be empty, what they mean) and the label options the indexes point into.

use serde_json::{Value, json};

use crate::export::Format;
use crate::export::row::{LabelKind, Shape};

/// One column: name, type per format (jsonl, csv, parquet, tfrecord), nullable, meaning.
type Col = (&'static str, [&'static str; 4], bool, &'static str);

fn columns(shape: &Shape) -> Vec<Col> {
    let mut cols: Vec<Col> = vec![
        (
            "item_id",
            ["integer", "integer", "int64", "int64_list"],
            false,
            "Quorum's id of the item",
        ),
        (
            "external_id",
            ["string", "string", "utf8", "bytes_list"],
            false,
            "the item's id in your data",
        ),
        (
            "data",
            [
                "object",
                "JSON text",
                "utf8 (JSON text)",
                "bytes_list (JSON text)",
            ],
            false,
            "the item's data as imported; TFRecord also has each top-level field as data_<name>",
        ),
    ];
    match shape.kind {
        LabelKind::Single => {
            cols.push((
                "label",
                ["string", "string", "utf8", "bytes_list"],
                true,
                "the final label: an option value",
            ));
            cols.push((
                "label_index",
                ["integer", "integer", "int32", "int64_list"],
                true,
                "the label's index in label_options",
            ));
        }
        LabelKind::Multi => {
            cols.push((
                "label",
                ["array of strings", "JSON text", "list<utf8>", "bytes_list"],
                true,
                "the final label: the chosen option values",
            ));
            cols.push((
                "label_index",
                [
                    "array of integers",
                    "JSON text",
                    "list<int32>",
                    "int64_list",
                ],
                true,
                "the index of each chosen value in label_options",
            ));
        }
        LabelKind::Free => {
            cols.push((
                "label",
                ["string", "string", "utf8", "bytes_list"],
                true,
                "the final label: the text",
            ));
        }
    }
    cols.extend([
        (
            "confidence",
            ["number", "number", "float64", "float_list"],
            true,
            "the final label's confidence, 0 to 1",
        ),
        (
            "method",
            ["string", "string", "utf8", "bytes_list"],
            true,
            "how the label was decided: unanimous, majority, dawid_skene, adjudicated, gold, direct",
        ),
        (
            "label_source",
            ["string", "string", "utf8", "bytes_list"],
            true,
            "where the label came from: consensus, adjudicated, gold or direct",
        ),
        (
            "votes",
            [
                "object answer → count",
                "JSON text",
                "map<utf8, int32>",
                "vote_values bytes_list + vote_counts int64_list",
            ],
            false,
            "raters' answers and how many gave each",
        ),
        (
            "vote_count",
            ["integer", "integer", "int32", "int64_list"],
            false,
            "number of votes",
        ),
        (
            "is_gold",
            ["boolean", "true/false", "bool", "int64_list (0/1)"],
            false,
            "whether the item is a gold item",
        ),
        (
            "split",
            ["string", "string", "utf8", "bytes_list"],
            true,
            "train, validation or test (empty without splits)",
        ),
    ]);
    if shape.include_votes {
        cols.push((
            "rater_votes",
            [
                "array of {rater, value, instruction_version}",
                "JSON text",
                "list<struct<rater utf8, value utf8, instruction_version int32>>",
                "rater_ids + rater_values bytes_list, rater_instruction_versions int64_list",
            ],
            false,
            "each rater's answer, under a pseudonymous rater id (stable within the task)",
        ));
    }
    cols
}

/// The schema JSON of a snapshot written in `format`.
pub fn describe(shape: &Shape, format: Format) -> Value {
    let at = match format {
        Format::Jsonl => 0,
        Format::Csv => 1,
        Format::Parquet => 2,
        Format::Tfrecord => 3,
        Format::Preference => return crate::export::preference::describe(shape),
        Format::Conll => {
            return crate::export::conll::describe(crate::export::conll::Flavour::Conll);
        }
        Format::Spacy => {
            return crate::export::conll::describe(crate::export::conll::Flavour::Spacy);
        }
        Format::Coco => return crate::export::coco::describe(),
        Format::Yolo => return crate::export::yolo::describe(),
        Format::LabelStudio => {
            return match &shape.schema {
                Some(s) => crate::export::label_studio::describe(s),
                None => json!({"format": "label_studio"}),
            };
        }
    };
    let columns: Vec<Value> = columns(shape)
        .into_iter()
        .map(|(name, types, nullable, meaning)| {
            json!({"name": name, "type": types[at], "nullable": nullable, "description": meaning})
        })
        .collect();
    let options: Vec<Value> = shape
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| json!({"index": i, "value": o.value, "label": o.label}))
        .collect();
    let mut v = json!({
        "format": format.as_str(),
        "label_kind": match (&shape.schema, shape.kind) { (Some(s), _) => s.kind(), (None, LabelKind::Single) => "single_choice", (None, LabelKind::Multi) => "multi_choice", (None, LabelKind::Free) => "free_text" },
        "label_options": options,
        "columns": columns,
    });
    if format == Format::Csv {
        v["csv"] = json!({
            "header": true,
            "formula_neutralisation": "a cell starting with = + - @ tab, carriage return or ' is written with one extra leading '; remove it to get the value",
        });
    }
    if format == Format::Tfrecord {
        v["tfrecord"] = json!({"framing": "u64 length LE, masked crc32c of length, tf.Example bytes, masked crc32c of data"});
    }
    v
}
