//! Label Studio JSON: one array of tasks, the file Label Studio imports (and exports), so a
//! team can move a labeled set over. Each row is a task
//! `{"id", "data", "meta", "annotations", "predictions"}`:
//!
//! - `id` the item id; `data` the item's data as imported (Label Studio reads `$text`, `$image`…
//!   from it); `meta` the Quorum side: `external_id`, `final_label`, `confidence`, `method`,
//!   `split`, `is_gold`.
//! - `annotations`: without per-rater votes, one annotation holding the final label; with them
//!   (`include_votes`), one annotation per rater's vote, in the order of `meta.raters` (their
//!   pseudonyms), so Label Studio's own agreement figures can be computed.
//! - `predictions`: empty (model predictions stay in Quorum).
//!
//! Results follow `domain::label_studio` (spans in UTF-16 offsets, boxes in percent); the
//! matching labeling config is in the snapshot's schema (`labeling_config`).

use std::io::{self, Write};
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::domain::label_studio::{labeling_config, to_results};
use crate::domain::schema::LabelSchema;
use crate::export::Encoder;
use crate::export::row::{Row, Shape};
use crate::export::store::Sink;

pub struct LabelStudio {
    out: Sink,
    schema: Option<LabelSchema>,
    rows: u64,
}

impl LabelStudio {
    pub fn new(out: Sink, shape: Arc<Shape>) -> LabelStudio {
        LabelStudio {
            out,
            schema: shape.schema.clone(),
            rows: 0,
        }
    }
}

/// The task of one row.
pub fn task(schema: &LabelSchema, row: &Row) -> Value {
    let data: Map<String, Value> = match serde_json::from_str(&row.data_json) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let value_of = |json: &str| serde_json::from_str::<Value>(json).unwrap_or(Value::Null);
    let annotation = |n: usize, value: &Value| {
        json!({"id": n + 1, "result": to_results(schema, value, &data), "was_cancelled": false,
            "ground_truth": row.is_gold})
    };
    let annotations: Vec<Value> = if row.rater_votes.is_empty() {
        row.label
            .iter()
            .map(|l| annotation(0, &value_of(&l.json)))
            .collect()
    } else {
        row.rater_votes
            .iter()
            .enumerate()
            .map(|(n, v)| annotation(n, &value_of(&v.value.json)))
            .collect()
    };
    let mut meta = json!({"external_id": row.external_id, "is_gold": row.is_gold,
        "final_label": row.label.as_ref().map(|l| value_of(&l.json)),
        "confidence": row.confidence, "method": row.method,
        "label_source": row.label_source.map(|s| s.as_str())});
    if let Some(s) = row.split {
        meta["split"] = json!(s.as_str());
    }
    if !row.rater_votes.is_empty() {
        meta["raters"] = row
            .rater_votes
            .iter()
            .map(|v| Value::String(v.rater.to_string()))
            .collect();
    }
    json!({"id": row.item_id, "data": data, "meta": meta, "annotations": annotations,
        "predictions": []})
}

impl Encoder for LabelStudio {
    fn write(&mut self, row: &Row) -> io::Result<()> {
        let Some(schema) = &self.schema else {
            return Ok(());
        };
        let t = task(schema, row);
        self.out
            .write_all(if self.rows == 0 { b"[\n" } else { b",\n" })?;
        serde_json::to_writer(&mut self.out, &t).map_err(io::Error::other)?;
        self.rows += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> io::Result<Sink> {
        self.out
            .write_all(if self.rows == 0 { b"[]\n" } else { b"\n]\n" })?;
        Ok(self.out)
    }
}

/// The schema JSON of a Label Studio snapshot, with the project's labeling config.
pub fn describe(schema: &LabelSchema) -> Value {
    json!({
        "format": "label_studio",
        "layout": "one JSON array of Label Studio tasks {id, data, meta, annotations, predictions}",
        "annotations": "the final label as one annotation; with per-rater votes, one annotation per vote (meta.raters names them by pseudonym)",
        "meta": "external_id, final_label, confidence, method, label_source, split, is_gold",
        "results": "choices / textarea / rating / labels (UTF-16 offsets) / rectanglelabels (percent of the image), from_name \"label\"",
        "labeling_config": labeling_config(schema),
    })
}
