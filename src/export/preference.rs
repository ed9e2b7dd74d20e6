//! Preference pairs for pairwise tasks: one JSON line per item whose final label prefers one
//! candidate, `{"prompt", "chosen", "rejected", "external_id"}`, the input DPO/RLHF trainers
//! load (e.g. TRL's `DPOTrainer`). Items resolved as `tie` or `both_bad`, and items without a
//! final label, say nothing about which answer is better and are left out of the file (the
//! snapshot's row count still counts every item it read).

use std::io::{self, Write};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::domain::kinds::pairwise::{PairwiseSpec, choice_of};
use crate::domain::schema::LabelSchema;
use crate::export::Encoder;
use crate::export::row::{Row, Shape};
use crate::export::store::Sink;

pub struct Preference {
    out: Sink,
    spec: Option<PairwiseSpec>,
    line: Vec<u8>,
}

impl Preference {
    pub fn new(out: Sink, shape: Arc<Shape>) -> Preference {
        let spec = match &shape.schema {
            Some(LabelSchema::Pairwise(s)) => Some(s.clone()),
            _ => None,
        };
        Preference {
            out,
            spec,
            line: Vec::with_capacity(4096),
        }
    }
}

/// The pair of a row, if its final label prefers A or B.
pub fn pair(spec: &PairwiseSpec, row: &Row) -> Option<Value> {
    let label: Value = serde_json::from_str(&row.label.as_ref()?.json).ok()?;
    let data: Value = serde_json::from_str(&row.data_json).ok()?;
    let field = |f: &str| data.get(f).cloned().unwrap_or(Value::Null);
    let (a, b) = (field(&spec.a_field), field(&spec.b_field));
    let (chosen, rejected) = match choice_of(&label)? {
        "A" => (a, b),
        "B" => (b, a),
        _ => return None,
    };
    let prompt = spec
        .prompt_field
        .as_deref()
        .map(field)
        .unwrap_or(Value::Null);
    Some(
        json!({"prompt": prompt, "chosen": chosen, "rejected": rejected, "external_id": row.external_id}),
    )
}

impl Encoder for Preference {
    fn write(&mut self, row: &Row) -> io::Result<()> {
        let Some(spec) = &self.spec else {
            return Ok(());
        };
        let Some(v) = pair(spec, row) else {
            return Ok(());
        };
        self.line.clear();
        serde_json::to_writer(&mut self.line, &v).map_err(io::Error::other)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    fn finish(self: Box<Self>) -> io::Result<Sink> {
        Ok(self.out)
    }
}

/// The schema JSON of a preference snapshot.
pub fn describe(shape: &Shape) -> Value {
    let (prompt, a, b) = match &shape.schema {
        Some(LabelSchema::Pairwise(s)) => {
            (s.prompt_field.clone(), s.a_field.clone(), s.b_field.clone())
        }
        _ => (None, "a".into(), "b".into()),
    };
    json!({
        "format": "preference",
        "label_kind": "pairwise",
        "columns": [
            {"name": "prompt", "type": "any JSON (usually a string)", "nullable": true,
             "description": format!("the item's {:?} field", prompt)},
            {"name": "chosen", "type": "any JSON (usually a string)", "nullable": true,
             "description": format!("the preferred candidate: field {a:?} when the final label is A, {b:?} when it is B")},
            {"name": "rejected", "type": "any JSON (usually a string)", "nullable": true,
             "description": "the other candidate"},
            {"name": "external_id", "type": "string", "nullable": false, "description": "the item's external id"},
        ],
        "left_out": "items whose final label is tie or both_bad, and items without a final label",
    })
}
