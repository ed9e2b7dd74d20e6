//! Apache Parquet through the arrow crates, with proper column types: `item_id` int64,
//! `external_id` and `data` (JSON text) strings, `label` string (list of strings for multi
//! choice), `label_index` int32 (list for multi choice; absent for free text), `confidence`
//! float64, `method` string, `label_source` string, `votes` map<string, int32>, `vote_count` int32, `is_gold` boolean,
//! `split` string, and with votes `rater_votes` list<struct<rater, value, instruction_version>>.
//!
//! Rows are gathered into record batches of [`BATCH`] rows and row groups close at
//! [`ROW_GROUP`] rows, so memory stays bounded whatever the size; columns are Snappy-compressed.

use std::io;
use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, ListBuilder,
    MapBuilder, StringBuilder, StructBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::export::Encoder;
use crate::export::row::{LabelKind, Row, Shape};
use crate::export::store::Sink;

/// Rows per record batch handed to the writer.
pub const BATCH: usize = 8_192;
/// Rows per row group.
pub const ROW_GROUP: usize = 65_536;

fn err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("parquet: {e}"))
}

enum LabelCol {
    One(StringBuilder),
    Many(ListBuilder<StringBuilder>),
}

enum IndexCol {
    None,
    One(Int32Builder),
    Many(ListBuilder<Int32Builder>),
}

struct Builders {
    item_id: Int64Builder,
    external_id: StringBuilder,
    data: StringBuilder,
    label: LabelCol,
    label_index: IndexCol,
    confidence: Float64Builder,
    method: StringBuilder,
    label_source: StringBuilder,
    votes: MapBuilder<StringBuilder, Int32Builder>,
    vote_count: Int32Builder,
    is_gold: BooleanBuilder,
    split: StringBuilder,
    rater_votes: Option<ListBuilder<StructBuilder>>,
}

fn rater_vote_fields() -> Fields {
    Fields::from(vec![
        Field::new("rater", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, false),
        Field::new("instruction_version", DataType::Int32, false),
    ])
}

impl Builders {
    fn new(shape: &Shape) -> Builders {
        let (label, label_index) = match shape.kind {
            LabelKind::Single => (
                LabelCol::One(StringBuilder::new()),
                IndexCol::One(Int32Builder::new()),
            ),
            LabelKind::Multi => (
                LabelCol::Many(ListBuilder::new(StringBuilder::new())),
                IndexCol::Many(ListBuilder::new(Int32Builder::new())),
            ),
            LabelKind::Free => (LabelCol::One(StringBuilder::new()), IndexCol::None),
        };
        let rater_votes = shape.include_votes.then(|| {
            ListBuilder::new(StructBuilder::new(
                rater_vote_fields(),
                vec![
                    Box::new(StringBuilder::new()) as Box<dyn ArrayBuilder>,
                    Box::new(StringBuilder::new()),
                    Box::new(Int32Builder::new()),
                ],
            ))
        });
        Builders {
            item_id: Int64Builder::new(),
            external_id: StringBuilder::new(),
            data: StringBuilder::new(),
            label,
            label_index,
            confidence: Float64Builder::new(),
            method: StringBuilder::new(),
            label_source: StringBuilder::new(),
            votes: MapBuilder::new(None, StringBuilder::new(), Int32Builder::new()),
            vote_count: Int32Builder::new(),
            is_gold: BooleanBuilder::new(),
            split: StringBuilder::new(),
            rater_votes,
        }
    }

    fn len(&self) -> usize {
        self.item_id.len()
    }

    fn push(&mut self, row: &Row) -> io::Result<()> {
        self.item_id.append_value(row.item_id);
        self.external_id.append_value(&row.external_id);
        self.data.append_value(&row.data_json);
        match (&mut self.label, &row.label) {
            (LabelCol::One(b), Some(l)) => b.append_value(&l.text),
            (LabelCol::One(b), None) => b.append_null(),
            (LabelCol::Many(b), Some(l)) => {
                for p in &l.parts {
                    b.values().append_value(p);
                }
                b.append(true);
            }
            (LabelCol::Many(b), None) => b.append(false),
        }
        match (&mut self.label_index, &row.label) {
            (IndexCol::None, _) => {}
            (IndexCol::One(b), l) => b.append_option(
                l.as_ref()
                    .and_then(|l| l.indices.first().copied())
                    .map(to_i32),
            ),
            (IndexCol::Many(b), Some(l)) => {
                for i in &l.indices {
                    b.values().append_value(to_i32(*i));
                }
                b.append(true);
            }
            (IndexCol::Many(b), None) => b.append(false),
        }
        self.confidence.append_option(row.confidence);
        self.method.append_option(row.method.as_deref());
        self.label_source
            .append_option(row.label_source.map(|s| s.as_str()));
        for (answer, n) in &row.votes {
            self.votes.keys().append_value(&answer.text);
            self.votes.values().append_value(to_i32(i64::from(*n)));
        }
        self.votes.append(true).map_err(err)?;
        self.vote_count
            .append_value(to_i32(i64::from(row.vote_count)));
        self.is_gold.append_value(row.is_gold);
        self.split.append_option(row.split.map(|s| s.as_str()));
        if let Some(list) = &mut self.rater_votes {
            let entries = list.values();
            for v in &row.rater_votes {
                entries
                    .field_builder::<StringBuilder>(0)
                    .ok_or_else(|| err("rater column"))?
                    .append_value(&v.rater);
                entries
                    .field_builder::<StringBuilder>(1)
                    .ok_or_else(|| err("value column"))?
                    .append_value(&v.value.text);
                entries
                    .field_builder::<Int32Builder>(2)
                    .ok_or_else(|| err("version column"))?
                    .append_value(to_i32(v.instruction_version));
                entries.append(true);
            }
            list.append(true);
        }
        Ok(())
    }

    /// The columns gathered so far (the builders start over empty).
    fn finish(&mut self) -> Vec<(&'static str, ArrayRef, bool)> {
        let mut cols: Vec<(&'static str, ArrayRef, bool)> = vec![
            ("item_id", Arc::new(self.item_id.finish()), false),
            ("external_id", Arc::new(self.external_id.finish()), false),
            ("data", Arc::new(self.data.finish()), false),
        ];
        cols.push(match &mut self.label {
            LabelCol::One(b) => ("label", Arc::new(b.finish()), true),
            LabelCol::Many(b) => ("label", Arc::new(b.finish()), true),
        });
        match &mut self.label_index {
            IndexCol::None => {}
            IndexCol::One(b) => cols.push(("label_index", Arc::new(b.finish()), true)),
            IndexCol::Many(b) => cols.push(("label_index", Arc::new(b.finish()), true)),
        }
        cols.extend([
            (
                "confidence",
                Arc::new(self.confidence.finish()) as ArrayRef,
                true,
            ),
            ("method", Arc::new(self.method.finish()), true),
            ("label_source", Arc::new(self.label_source.finish()), true),
            ("votes", Arc::new(self.votes.finish()), false),
            ("vote_count", Arc::new(self.vote_count.finish()), false),
            ("is_gold", Arc::new(self.is_gold.finish()), false),
            ("split", Arc::new(self.split.finish()), true),
        ]);
        if let Some(b) = &mut self.rater_votes {
            cols.push(("rater_votes", Arc::new(b.finish()), false));
        }
        cols
    }
}

/// Counts are far below 2^31 (overlap is at most 100, versions are small); saturate regardless.
fn to_i32(x: i64) -> i32 {
    i32::try_from(x).unwrap_or(i32::MAX)
}

fn batch_of(cols: Vec<(&'static str, ArrayRef, bool)>) -> io::Result<RecordBatch> {
    let fields: Vec<Field> = cols
        .iter()
        .map(|(name, a, nullable)| Field::new(*name, a.data_type().clone(), *nullable))
        .collect();
    let arrays: Vec<ArrayRef> = cols.into_iter().map(|c| c.1).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(err)
}

pub struct Parquet {
    writer: ArrowWriter<Sink>,
    builders: Builders,
}

impl Parquet {
    pub fn new(out: Sink, shape: Arc<Shape>) -> io::Result<Parquet> {
        let mut builders = Builders::new(&shape);
        // The schema is that of an empty batch, so it always matches the batches to come.
        let schema = batch_of(builders.finish())?.schema();
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP))
            .build();
        let writer = ArrowWriter::try_new(out, schema, Some(props)).map_err(err)?;
        Ok(Parquet { writer, builders })
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.builders.len() == 0 {
            return Ok(());
        }
        let batch = batch_of(self.builders.finish())?;
        self.writer.write(&batch).map_err(err)
    }
}

impl Encoder for Parquet {
    fn write(&mut self, row: &Row) -> io::Result<()> {
        self.builders.push(row)?;
        if self.builders.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> io::Result<Sink> {
        self.flush()?;
        self.writer.into_inner().map_err(err)
    }
}
