//! Spans tasks as CoNLL-2003 (BIO tags) and as spaCy training data.
//!
//! **CoNLL** (`conll`): the file starts with `-DOCSTART- -X- -X- O` and a blank line; each item
//! with a final label is one sentence, one token a line in the four CoNLL-2003 columns
//! `token -X- _ TAG` (no part-of-speech or chunk tags: `-X-` and `_`), sentences separated by a
//! blank line. Tokens come from `domain::kinds::spans::tokenize` (maximal runs of alphanumeric
//! characters, or any single other non-space character); a token is inside a span when its first
//! character is, the first such token tagged `B-LABEL` and the rest `I-LABEL`; nested spans keep
//! the one starting first (then the longest).
//!
//! **spaCy** (`spacy`): JSON Lines, one item with a final label a line:
//! `{"text", "entities": [[start, end, label]…], "spans": {"sc": [[start, end, label]…]},
//! "external_id"}`. Offsets are Python string indices (Unicode scalar values, end exclusive), as
//! `Doc.char_span` and `Example.from_dict(doc, {"entities": …})` take them; `entities` leaves out
//! overlapping spans (a NER model cannot nest), `spans["sc"]` keeps every one (for the
//! SpanCategorizer).

use std::io::{self, Write};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::domain::kinds::spans::{self, Span, SpansSpec};
use crate::domain::schema::LabelSchema;
use crate::export::Encoder;
use crate::export::row::{Row, Shape};
use crate::export::store::Sink;

/// Which of the two formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    Conll,
    Spacy,
}

pub struct SpansEncoder {
    out: Sink,
    spec: Option<SpansSpec>,
    flavour: Flavour,
    started: bool,
    buf: Vec<u8>,
}

impl SpansEncoder {
    pub fn new(out: Sink, shape: Arc<Shape>, flavour: Flavour) -> SpansEncoder {
        let spec = match &shape.schema {
            Some(LabelSchema::Spans(s)) => Some(s.clone()),
            _ => None,
        };
        SpansEncoder {
            out,
            spec,
            flavour,
            started: false,
            buf: Vec::with_capacity(4096),
        }
    }
}

/// The text and final spans of a row, if it has both.
pub fn text_and_spans(spec: &SpansSpec, row: &Row) -> Option<(String, Vec<Span>)> {
    let label: Value = serde_json::from_str(&row.label.as_ref()?.json).ok()?;
    let data: Value = serde_json::from_str(&row.data_json).ok()?;
    let text = spec.text_of(&data)?.to_string();
    Some((text, spans::spans_of(&label)?))
}

/// The CoNLL lines of one sentence (without the blank line after it).
pub fn conll_sentence(text: &str, spans: &[Span]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let tokens = spans::tokenize(text);
    let tags = spans::bio(&tokens, spans);
    let mut out = String::new();
    for (t, tag) in tokens.iter().zip(tags) {
        let word: String = chars[t.start..t.end].iter().collect();
        out.push_str(&word);
        out.push_str(" -X- _ ");
        out.push_str(&tag);
        out.push('\n');
    }
    out
}

fn triples(spans: &[Span]) -> Vec<Value> {
    spans
        .iter()
        .map(|s| json!([s.start, s.end, s.label]))
        .collect()
}

impl Encoder for SpansEncoder {
    fn write(&mut self, row: &Row) -> io::Result<()> {
        let Some(spec) = &self.spec else {
            return Ok(());
        };
        let Some((text, spans)) = text_and_spans(spec, row) else {
            return Ok(());
        };
        self.buf.clear();
        match self.flavour {
            Flavour::Conll => {
                if !self.started {
                    self.buf.extend_from_slice(b"-DOCSTART- -X- -X- O\n\n");
                    self.started = true;
                }
                let sentence = conll_sentence(&text, &spans);
                if sentence.is_empty() {
                    return self.out.write_all(&self.buf);
                }
                self.buf.extend_from_slice(sentence.as_bytes());
                self.buf.push(b'\n');
            }
            Flavour::Spacy => {
                let v = json!({
                    "text": text,
                    "entities": triples(&spans::non_overlapping(&spans)),
                    "spans": {"sc": triples(&spans)},
                    "external_id": row.external_id,
                });
                serde_json::to_writer(&mut self.buf, &v).map_err(io::Error::other)?;
                self.buf.push(b'\n');
            }
        }
        self.out.write_all(&self.buf)
    }

    fn finish(self: Box<Self>) -> io::Result<Sink> {
        Ok(self.out)
    }
}

/// The schema JSON of a CoNLL or spaCy snapshot.
pub fn describe(flavour: Flavour) -> Value {
    let tokenizer = "maximal runs of alphanumeric characters (Unicode Alphabetic or Numeric), or any single other character that is not whitespace";
    match flavour {
        Flavour::Conll => json!({
            "format": "conll",
            "label_kind": "spans",
            "layout": "-DOCSTART- -X- -X- O, then one sentence per item with a final label: one token a line as `token -X- _ TAG`, a blank line after each sentence",
            "tags": "BIO (B-LABEL, I-LABEL, O); a token is inside a span when its first character is; nested spans keep the one starting first, then the longest",
            "tokenizer": tokenizer,
        }),
        Flavour::Spacy => json!({
            "format": "spacy",
            "label_kind": "spans",
            "layout": "JSON Lines: {\"text\", \"entities\": [[start, end, label]], \"spans\": {\"sc\": [[start, end, label]]}, \"external_id\"}",
            "offsets": "Unicode scalar values (Python str indices), end exclusive",
            "entities": "without overlaps (the span starting first, then the longest, wins); spans.sc has every span",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conll_sentence() {
        let s = |a, b, l: &str| Span {
            start: a,
            end: b,
            label: l.into(),
        };
        assert_eq!(
            conll_sentence("Zoë met O'Neil.", &[s(0, 3, "PER"), s(8, 14, "PER")]),
            "Zoë -X- _ B-PER\nmet -X- _ O\nO -X- _ B-PER\n' -X- _ I-PER\nNeil -X- _ I-PER\n. -X- _ O\n"
        );
    }
}
