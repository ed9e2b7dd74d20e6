//! JSON Lines: one JSON object per row, `\n`-terminated, keys in a fixed order. Values are
//! written exactly as stored (no neutralisation: JSON is data, not a spreadsheet).
//!
//! `{"item_id", "external_id", "data", "label", "label_index"?, "confidence", "method",
//! "label_source", "votes",
//! "vote_count", "is_gold", "split", "rater_votes"?}`; `label` is the JSON value (a string, or a
//! list for multi choice), `votes` maps each answer's text to its count.

use std::io::{self, Write};
use std::sync::Arc;

use crate::export::Encoder;
use crate::export::row::{LabelKind, Row, Shape};
use crate::export::store::Sink;

pub struct Jsonl {
    out: Sink,
    shape: Arc<Shape>,
    line: Vec<u8>,
}

impl Jsonl {
    pub fn new(out: Sink, shape: Arc<Shape>) -> Jsonl {
        Jsonl {
            out,
            shape,
            line: Vec::with_capacity(4096),
        }
    }
}

fn string(buf: &mut Vec<u8>, s: &str) -> io::Result<()> {
    serde_json::to_writer(buf, s).map_err(io::Error::other)
}

impl Encoder for Jsonl {
    fn write(&mut self, row: &Row) -> io::Result<()> {
        let b = &mut self.line;
        b.clear();
        write!(b, "{{\"item_id\":{},\"external_id\":", row.item_id)?;
        string(b, &row.external_id)?;
        b.extend_from_slice(b",\"data\":");
        b.extend_from_slice(row.data_json.as_bytes());
        b.extend_from_slice(b",\"label\":");
        match &row.label {
            Some(l) => b.extend_from_slice(l.json.as_bytes()),
            None => b.extend_from_slice(b"null"),
        }
        match (self.shape.kind, &row.label) {
            (LabelKind::Free, _) => {}
            (_, None) => b.extend_from_slice(b",\"label_index\":null"),
            (LabelKind::Single, Some(l)) => match l.indices.first() {
                Some(i) => write!(b, ",\"label_index\":{i}")?,
                None => b.extend_from_slice(b",\"label_index\":null"),
            },
            (LabelKind::Multi, Some(l)) => {
                b.extend_from_slice(b",\"label_index\":");
                serde_json::to_writer(&mut *b, &l.indices).map_err(io::Error::other)?;
            }
        }
        b.extend_from_slice(b",\"confidence\":");
        serde_json::to_writer(&mut *b, &row.confidence).map_err(io::Error::other)?;
        b.extend_from_slice(b",\"method\":");
        serde_json::to_writer(&mut *b, &row.method).map_err(io::Error::other)?;
        b.extend_from_slice(b",\"label_source\":");
        match row.label_source {
            Some(s) => write!(b, "\"{}\"", s.as_str())?,
            None => b.extend_from_slice(b"null"),
        }
        b.extend_from_slice(b",\"votes\":{");
        for (i, (answer, n)) in row.votes.iter().enumerate() {
            if i > 0 {
                b.push(b',');
            }
            string(b, &answer.text)?;
            write!(b, ":{n}")?;
        }
        write!(
            b,
            "}},\"vote_count\":{},\"is_gold\":{},\"split\":",
            row.vote_count, row.is_gold
        )?;
        match row.split {
            Some(s) => write!(b, "\"{}\"", s.as_str())?,
            None => b.extend_from_slice(b"null"),
        }
        if self.shape.include_votes {
            b.extend_from_slice(b",\"rater_votes\":[");
            for (i, v) in row.rater_votes.iter().enumerate() {
                if i > 0 {
                    b.push(b',');
                }
                b.extend_from_slice(b"{\"rater\":");
                string(b, &v.rater)?;
                b.extend_from_slice(b",\"value\":");
                b.extend_from_slice(v.value.json.as_bytes());
                write!(b, ",\"instruction_version\":{}}}", v.instruction_version)?;
            }
            b.push(b']');
        }
        b.extend_from_slice(b"}\n");
        self.out.write_all(b)
    }

    fn finish(self: Box<Self>) -> io::Result<Sink> {
        Ok(self.out)
    }
}
