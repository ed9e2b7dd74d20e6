//! TFRecord of `tf.Example`, ready for a TFX pipeline (`tf.data.TFRecordDataset` +
//! `tf.io.parse_example`).
//!
//! **Framing** (one record per row): `length` as a little-endian u64, `masked_crc32c(length)` as
//! a little-endian u32, the serialized `tf.Example`, `masked_crc32c(data)`; the mask is
//! `((crc >> 15) | (crc << 17)) + 0xa282ead8`, CRC-32C (Castagnoli) as in TensorFlow.
//!
//! **Features.** `item_id` int64; `external_id`, `data` (JSON text), `method`, `label_source`
//! (`consensus|adjudicated|gold|direct`), `split` bytes;
//! `label` bytes (the chosen option values, or the text); `label_index` int64 (index of each
//! value in the schema's options; choice schemas only); `confidence` float; `vote_values` bytes
//! with `vote_counts` int64 (parallel lists) and `vote_count` int64; `is_gold` int64 (0/1). Each
//! top-level data field also becomes `data_<name>`: strings as bytes, integers and booleans as
//! int64, other numbers as float, lists of one of those kinds likewise, anything else as its JSON
//! text in bytes. With votes: `rater_ids`, `rater_values` (bytes) and
//! `rater_instruction_versions` (int64), parallel lists. A feature without a value (the label of
//! an unlabeled item, a null field) is left out, which `tf.io` reads as missing.
//!
//! The messages are the `tf.Example` protos (`tensorflow/core/example/{example,feature}.proto`),
//! written with prost; features are kept in a `BTreeMap`, so the bytes are the same every time.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::Arc;

use serde_json::Value;

use crate::export::Encoder;
use crate::export::row::{Row, Shape};
use crate::export::store::Sink;

/// `tensorflow.Example`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Example {
    #[prost(message, optional, tag = "1")]
    pub features: Option<Features>,
}

/// `tensorflow.Features`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Features {
    #[prost(btree_map = "string, message", tag = "1")]
    pub feature: BTreeMap<String, Feature>,
}

/// `tensorflow.Feature`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Feature {
    #[prost(oneof = "Kind", tags = "1, 2, 3")]
    pub kind: Option<Kind>,
}

/// `tensorflow.Feature.kind`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Kind {
    #[prost(message, tag = "1")]
    BytesList(BytesList),
    #[prost(message, tag = "2")]
    FloatList(FloatList),
    #[prost(message, tag = "3")]
    Int64List(Int64List),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BytesList {
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub value: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FloatList {
    #[prost(float, repeated, packed = "true", tag = "1")]
    pub value: Vec<f32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Int64List {
    #[prost(int64, repeated, packed = "true", tag = "1")]
    pub value: Vec<i64>,
}

fn bytes<I: IntoIterator<Item = B>, B: AsRef<[u8]>>(values: I) -> Feature {
    Feature {
        kind: Some(Kind::BytesList(BytesList {
            value: values.into_iter().map(|b| b.as_ref().to_vec()).collect(),
        })),
    }
}

fn int64(values: Vec<i64>) -> Feature {
    Feature {
        kind: Some(Kind::Int64List(Int64List { value: values })),
    }
}

fn float(values: Vec<f32>) -> Feature {
    Feature {
        kind: Some(Kind::FloatList(FloatList { value: values })),
    }
}

/// TensorFlow's masked CRC-32C.
pub fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c::crc32c(data);
    (crc.rotate_right(15)).wrapping_add(0xa282_ead8)
}

/// One data field as a feature (None for null: left out).
fn data_feature(v: &Value) -> Option<Feature> {
    let int = |v: &Value| match v {
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Number(n) => n.as_i64(),
        _ => None,
    };
    let num = |v: &Value| v.as_f64().map(|f| f as f32);
    match v {
        Value::Null => None,
        Value::String(s) => Some(bytes([s])),
        Value::Bool(_) => int(v).map(|i| int64(vec![i])),
        Value::Number(n) if n.is_i64() => int(v).map(|i| int64(vec![i])),
        Value::Number(_) => num(v).map(|f| float(vec![f])),
        Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_string) => {
            Some(bytes(a.iter().filter_map(Value::as_str)))
        }
        Value::Array(a) if !a.is_empty() && a.iter().all(|x| int(x).is_some()) => {
            Some(int64(a.iter().filter_map(int).collect()))
        }
        Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_number) => {
            Some(float(a.iter().filter_map(num).collect()))
        }
        other => Some(bytes([other.to_string()])),
    }
}

pub struct TfRecord {
    out: Sink,
    shape: Arc<Shape>,
    buf: Vec<u8>,
}

impl TfRecord {
    pub fn new(out: Sink, shape: Arc<Shape>) -> TfRecord {
        TfRecord {
            out,
            shape,
            buf: Vec::with_capacity(4096),
        }
    }

    /// The `tf.Example` of a row.
    pub fn example(&self, row: &Row) -> Example {
        let mut f: BTreeMap<String, Feature> = BTreeMap::new();
        f.insert("item_id".into(), int64(vec![row.item_id]));
        f.insert("external_id".into(), bytes([&row.external_id]));
        f.insert("data".into(), bytes([&row.data_json]));
        if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&row.data_json) {
            for (name, v) in &fields {
                if let Some(feature) = data_feature(v) {
                    f.insert(format!("data_{name}"), feature);
                }
            }
        }
        if let Some(l) = &row.label {
            f.insert("label".into(), bytes(&l.parts));
            if self.shape.has_index() {
                f.insert("label_index".into(), int64(l.indices.clone()));
            }
        }
        if let Some(c) = row.confidence {
            f.insert("confidence".into(), float(vec![c as f32]));
        }
        if let Some(s) = row.label_source {
            f.insert("label_source".into(), bytes([s.as_str()]));
        }
        if let Some(m) = &row.method {
            f.insert("method".into(), bytes([m]));
        }
        f.insert(
            "vote_values".into(),
            bytes(row.votes.iter().map(|(a, _)| &a.text)),
        );
        f.insert(
            "vote_counts".into(),
            int64(row.votes.iter().map(|(_, n)| i64::from(*n)).collect()),
        );
        f.insert("vote_count".into(), int64(vec![i64::from(row.vote_count)]));
        f.insert("is_gold".into(), int64(vec![i64::from(row.is_gold)]));
        if let Some(s) = row.split {
            f.insert("split".into(), bytes([s.as_str()]));
        }
        if self.shape.include_votes {
            f.insert(
                "rater_ids".into(),
                bytes(row.rater_votes.iter().map(|v| v.rater.as_bytes())),
            );
            f.insert(
                "rater_values".into(),
                bytes(row.rater_votes.iter().map(|v| &v.value.text)),
            );
            f.insert(
                "rater_instruction_versions".into(),
                int64(
                    row.rater_votes
                        .iter()
                        .map(|v| v.instruction_version)
                        .collect(),
                ),
            );
        }
        Example {
            features: Some(Features { feature: f }),
        }
    }
}

impl TfRecord {
    /// Writes one record (what `write` does with the row's example).
    pub fn write_example(&mut self, example: &Example) -> io::Result<()> {
        self.buf.clear();
        prost::Message::encode(example, &mut self.buf).map_err(io::Error::other)?;
        let len = (self.buf.len() as u64).to_le_bytes();
        self.out.write_all(&len)?;
        self.out.write_all(&masked_crc(&len).to_le_bytes())?;
        self.out.write_all(&self.buf)?;
        self.out.write_all(&masked_crc(&self.buf).to_le_bytes())
    }

    /// The sink, once every record is written.
    pub fn into_sink(self) -> Sink {
        self.out
    }
}

impl Encoder for TfRecord {
    fn write(&mut self, row: &Row) -> io::Result<()> {
        let example = self.example(row);
        self.write_example(&example)
    }

    fn finish(self: Box<Self>) -> io::Result<Sink> {
        Ok(self.into_sink())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    // The mask exactly as TensorFlow's crc32c.h writes it, not as `masked_crc` does.
    #[allow(clippy::manual_rotate)]
    fn crc32c_and_mask_match_tensorflow() {
        // CRC-32C check value (RFC 3720 B.4): "123456789" → 0xe3069283.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        let crc: u32 = 0xe306_9283;
        let masked = ((crc >> 15) | (crc << 17)).wrapping_add(0xa282_ead8);
        assert_eq!(masked_crc(b"123456789"), masked);
    }

    #[test]
    fn example_bytes_by_hand() {
        // Example{features{feature{"a": int64_list{value: [1]}}}}:
        // Example.features (0a 0c) › map entry (0a 0a) › key "a" (0a 01 61) › value Feature
        // (12 05) › int64_list (1a 03) › packed values (0a 01 01).
        let mut f = BTreeMap::new();
        f.insert("a".to_string(), int64(vec![1]));
        let e = Example {
            features: Some(Features { feature: f }),
        };
        let got = prost::Message::encode_to_vec(&e);
        assert_eq!(
            got,
            vec![
                0x0a, 0x0c, 0x0a, 0x0a, 0x0a, 0x01, b'a', 0x12, 0x05, 0x1a, 0x03, 0x0a, 0x01, 0x01
            ]
        );
    }

    #[test]
    fn data_fields_by_kind() {
        let k = |v: Value| data_feature(&v).and_then(|f| f.kind);
        assert!(matches!(
            k(serde_json::json!("x")),
            Some(Kind::BytesList(_))
        ));
        assert!(matches!(k(serde_json::json!(3)), Some(Kind::Int64List(_))));
        assert!(matches!(
            k(serde_json::json!(true)),
            Some(Kind::Int64List(_))
        ));
        assert!(matches!(
            k(serde_json::json!(2.5)),
            Some(Kind::FloatList(_))
        ));
        assert!(matches!(
            k(serde_json::json!([1, 2])),
            Some(Kind::Int64List(_))
        ));
        assert!(matches!(
            k(serde_json::json!([1, 2.5])),
            Some(Kind::FloatList(_))
        ));
        assert!(matches!(
            k(serde_json::json!({"a": 1})),
            Some(Kind::BytesList(_))
        ));
        assert!(k(serde_json::json!(null)).is_none());
    }
}
