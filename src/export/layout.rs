//! A snapshot in the folder layout a training pipeline reads directly, one folder per split,
//! as one tar archive (`layout` in the export request):
//!
//! - **`tfx`** (TFX `ImportExampleGen` output, format `tfrecord`):
//!   `Split-train/data_tfrecord-00000-of-00001.gz`, `Split-eval/…` (the validation split),
//!   `Split-test/…`: gzip-compressed TFRecord of `tf.Example` (the features of `export::tfrecord`),
//!   plus `schema/schema.pbtxt`, a TFDV `Schema` in protobuf text format inferred from the
//!   exported rows (each feature's type, presence and value count; the label's string domain
//!   for choice tasks), and `statistics/statistics.pbtxt`, a TFDV `DatasetFeatureStatisticsList`
//!   (per split: number of examples; per feature: how often present, values per example, and
//!   min/mean/max for numbers or distinct and top values for strings).
//! - **`hf`** (Hugging Face `datasets`, format `parquet` or `jsonl`):
//!   `data/train-00000-of-00001.parquet`, `data/validation-…`, `data/test-…`, and a `README.md`
//!   whose YAML header maps each split to its files, so `load_dataset("parquet"|"json",
//!   data_dir=…)` or `load_dataset(path)` on the unpacked folder reads it with its splits.
//!
//! Rows go to their split's encoder as they stream (a temporary file per split); a snapshot
//! without splits is all `train`. Entries have a fixed mtime and gzip a zero header time, so the
//! same rows give the same bytes (snapshots are content-addressed).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::domain::schema::LabelSchema;
use crate::domain::split::Split;
use crate::export::row::{Row, Shape};
use crate::export::settings::{Format, Layout};
use crate::export::store::{Sink, TempFile};
use crate::export::tfrecord::{Example, Kind, TfRecord};
use crate::export::{Encoder, encoder};

enum Inner {
    Tfx(TfRecord),
    Other(Box<dyn Encoder>),
}

struct Part {
    tmp: TempFile,
    inner: Inner,
    rows: u64,
    features: BTreeMap<String, FeatureStats>,
}

pub struct LayoutEncoder {
    layout: Layout,
    format: Format,
    shape: Arc<Shape>,
    data_dir: PathBuf,
    parts: [Option<Part>; 3],
    out: Sink,
}

fn slot(split: Option<Split>) -> usize {
    match split {
        Some(Split::Validation) => 1,
        Some(Split::Test) => 2,
        _ => 0,
    }
}

impl LayoutEncoder {
    pub fn new(
        layout: Layout,
        format: Format,
        out: Sink,
        shape: Arc<Shape>,
        data_dir: &Path,
    ) -> LayoutEncoder {
        LayoutEncoder {
            layout,
            format,
            shape,
            data_dir: data_dir.to_path_buf(),
            parts: [None, None, None],
            out,
        }
    }

    /// The archive path of split `slot`'s data file.
    fn data_path(&self, slot: usize) -> String {
        match self.layout {
            Layout::Tfx => {
                let name = ["train", "eval", "test"][slot];
                format!("Split-{name}/data_tfrecord-00000-of-00001.gz")
            }
            Layout::Hf => {
                let name = ["train", "validation", "test"][slot];
                format!("data/{name}-00000-of-00001.{}", self.format.extension())
            }
        }
    }

    fn part(&mut self, slot: usize) -> io::Result<&mut Part> {
        if self.parts[slot].is_none() {
            let (tmp, file) = TempFile::create(&self.data_dir, "split-part")?;
            let sink = Sink::new(file);
            let inner = match self.layout {
                Layout::Tfx => Inner::Tfx(TfRecord::new(sink, self.shape.clone())),
                Layout::Hf => Inner::Other(encoder(self.format, sink, self.shape.clone())?),
            };
            self.parts[slot] = Some(Part {
                tmp,
                inner,
                rows: 0,
                features: BTreeMap::new(),
            });
        }
        self.parts[slot]
            .as_mut()
            .ok_or_else(|| io::Error::other("split part missing"))
    }
}

impl Encoder for LayoutEncoder {
    fn write(&mut self, row: &Row) -> io::Result<()> {
        let part = self.part(slot(row.split))?;
        part.rows += 1;
        match &mut part.inner {
            Inner::Tfx(t) => {
                let example = t.example(row);
                observe(&mut part.features, &example);
                t.write_example(&example)
            }
            Inner::Other(e) => e.write(row),
        }
    }

    fn finish(mut self: Box<Self>) -> io::Result<Sink> {
        let parts = std::mem::take(&mut self.parts);
        let paths: Vec<String> = (0..3).map(|i| self.data_path(i)).collect();
        let mut tar = tar::Builder::new(self.out);
        let mut done: Vec<(usize, u64, BTreeMap<String, FeatureStats>)> = Vec::new();
        for (i, part) in parts.into_iter().enumerate() {
            let Some(part) = part else { continue };
            let sink = match part.inner {
                Inner::Tfx(t) => t.into_sink(),
                Inner::Other(e) => e.finish()?,
            };
            sink.finish()?;
            match self.layout {
                Layout::Tfx => {
                    // ExampleGen writes its shards gzip-compressed.
                    let (gz_tmp, gz_file) = TempFile::create(&self.data_dir, "split-gz")?;
                    let mut gz = flate2::GzBuilder::new()
                        .mtime(0)
                        .write(BufWriter::new(gz_file), flate2::Compression::default());
                    io::copy(&mut BufReader::new(File::open(part.tmp.path())?), &mut gz)?;
                    gz.finish()?.flush()?;
                    let size = std::fs::metadata(gz_tmp.path())?.len();
                    let file = BufReader::new(File::open(gz_tmp.path())?);
                    append(&mut tar, &paths[i], size, file)?;
                }
                Layout::Hf => {
                    let size = std::fs::metadata(part.tmp.path())?.len();
                    let file = BufReader::new(File::open(part.tmp.path())?);
                    append(&mut tar, &paths[i], size, file)?;
                }
            }
            done.push((i, part.rows, part.features));
        }
        match self.layout {
            Layout::Tfx => {
                let schema = schema_pbtxt(&done, self.shape.schema.as_ref());
                append(
                    &mut tar,
                    "schema/schema.pbtxt",
                    schema.len() as u64,
                    schema.as_bytes(),
                )?;
                let stats = statistics_pbtxt(&done);
                append(
                    &mut tar,
                    "statistics/statistics.pbtxt",
                    stats.len() as u64,
                    stats.as_bytes(),
                )?;
            }
            Layout::Hf => {
                let readme = hf_readme(&done, &paths);
                append(
                    &mut tar,
                    "README.md",
                    readme.len() as u64,
                    readme.as_bytes(),
                )?;
            }
        }
        let mut out = tar.into_inner()?;
        out.flush()?;
        Ok(out)
    }
}

/// Appends one file to a snapshot archive: mode 0644 and mtime 0, so the same content gives the
/// same bytes (snapshots are content-addressed). Shared by the layouts and `export::yolo`.
pub fn append(
    tar: &mut tar::Builder<Sink>,
    path: &str,
    size: u64,
    data: impl io::Read,
) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(size);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    tar.append_data(&mut header, path, data)
}

/// What the rows of one split hold in one feature.
#[derive(Clone, Debug, Default)]
pub struct FeatureStats {
    /// 0 bytes, 1 float, 2 int64: the type first seen.
    kind: u8,
    present: u64,
    min_values: u64,
    max_values: u64,
    total_values: u64,
    num_min: f64,
    num_max: f64,
    num_sum: f64,
    /// Distinct byte values and their counts (up to `MAX_DISTINCT`).
    values: BTreeMap<String, u64>,
    /// Whether more distinct values were seen than are counted.
    overflow: bool,
}

const MAX_DISTINCT: usize = 10_000;

fn observe(features: &mut BTreeMap<String, FeatureStats>, example: &Example) {
    let Some(f) = &example.features else { return };
    for (name, feature) in &f.feature {
        let Some(kind) = &feature.kind else { continue };
        let (code, n) = match kind {
            Kind::BytesList(b) => (0u8, b.value.len()),
            Kind::FloatList(v) => (1, v.value.len()),
            Kind::Int64List(v) => (2, v.value.len()),
        };
        let s = features
            .entry(name.clone())
            .or_insert_with(|| FeatureStats {
                kind: code,
                min_values: u64::MAX,
                num_min: f64::INFINITY,
                num_max: f64::NEG_INFINITY,
                ..FeatureStats::default()
            });
        let n = n as u64;
        s.present += 1;
        s.min_values = s.min_values.min(n);
        s.max_values = s.max_values.max(n);
        s.total_values += n;
        let mut num = |x: f64| {
            s.num_min = s.num_min.min(x);
            s.num_max = s.num_max.max(x);
            s.num_sum += x;
        };
        match kind {
            Kind::FloatList(v) => v.value.iter().for_each(|x| num(f64::from(*x))),
            Kind::Int64List(v) => v.value.iter().for_each(|x| num(*x as f64)),
            Kind::BytesList(b) => {
                for v in &b.value {
                    let text = String::from_utf8_lossy(v);
                    if let Some(c) = s.values.get_mut(text.as_ref()) {
                        *c += 1;
                    } else if s.values.len() < MAX_DISTINCT {
                        s.values.insert(text.into_owned(), 1);
                    } else {
                        s.overflow = true;
                    }
                }
            }
        }
    }
}

/// A protobuf text-format string literal: quotes, backslashes and non-printable bytes escaped
/// (octal, as the text format reads them).
pub fn pbtxt_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for b in s.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push('"');
    out
}

type Done = [(usize, u64, BTreeMap<String, FeatureStats>)];

/// The TFDV schema of the exported examples (all splits together).
pub fn schema_pbtxt(done: &Done, schema: Option<&LabelSchema>) -> String {
    let total: u64 = done.iter().map(|(_, rows, _)| rows).sum();
    let mut merged: BTreeMap<&str, (u8, u64, u64, u64)> = BTreeMap::new();
    for (_, _, features) in done {
        for (name, s) in features {
            let e = merged
                .entry(name.as_str())
                .or_insert((s.kind, 0, u64::MAX, 0));
            e.1 += s.present;
            e.2 = e.2.min(s.min_values);
            e.3 = e.3.max(s.max_values);
        }
    }
    let options: Vec<&str> = schema
        .map(|s| s.options().iter().map(|o| o.value.as_str()).collect())
        .unwrap_or_default();
    let mut out = String::from(
        "# TFDV schema (tensorflow_metadata Schema, protobuf text format) of a Quorum export,\n\
         # inferred from the exported rows.\n",
    );
    for (name, (kind, present, min_values, max_values)) in &merged {
        let ty = ["BYTES", "FLOAT", "INT"][usize::from(*kind).min(2)];
        let _ = writeln!(out, "feature {{\n  name: {}\n  type: {ty}", pbtxt_str(name));
        if *name == "label" && !options.is_empty() {
            out.push_str("  domain: \"label\"\n");
        }
        if present == &total && total > 0 {
            out.push_str("  presence {\n    min_fraction: 1.0\n    min_count: 1\n  }\n");
        } else {
            out.push_str("  presence {\n    min_count: 1\n  }\n");
        }
        let _ = writeln!(
            out,
            "  value_count {{\n    min: {min_values}\n    max: {max_values}\n  }}\n}}"
        );
    }
    if !options.is_empty() {
        out.push_str("string_domain {\n  name: \"label\"\n");
        for o in options {
            let _ = writeln!(out, "  value: {}", pbtxt_str(o));
        }
        out.push_str("}\n");
    }
    out
}

fn split_name(slot: usize, layout_tfx: bool) -> &'static str {
    if layout_tfx {
        ["train", "eval", "test"][slot]
    } else {
        ["train", "validation", "test"][slot]
    }
}

/// TFDV statistics of each split, as a `DatasetFeatureStatisticsList` in text format.
pub fn statistics_pbtxt(done: &Done) -> String {
    let mut out = String::from(
        "# TFDV statistics (tensorflow_metadata DatasetFeatureStatisticsList, protobuf text\n\
         # format) of the exported rows, one dataset per split.\n",
    );
    for (slot, rows, features) in done {
        let _ = writeln!(
            out,
            "datasets {{\n  name: {}\n  num_examples: {rows}",
            pbtxt_str(split_name(*slot, true))
        );
        for (name, s) in features {
            let common = format!(
                "common_stats {{\n      num_non_missing: {}\n      num_missing: {}\n      \
                 min_num_values: {}\n      max_num_values: {}\n      avg_num_values: {}\n      \
                 tot_num_values: {}\n    }}",
                s.present,
                rows - s.present.min(*rows),
                s.min_values,
                s.max_values,
                s.total_values as f64 / s.present.max(1) as f64,
                s.total_values
            );
            let _ = write!(
                out,
                "  features {{\n    path {{\n      step: {}\n    }}\n",
                pbtxt_str(name)
            );
            if s.kind == 0 {
                let mut top: Vec<(&String, &u64)> = s.values.iter().collect();
                top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                let _ = write!(
                    out,
                    "    type: STRING\n    string_stats {{\n    {common}\n      unique: {}\n",
                    s.values.len()
                );
                for (v, c) in top.into_iter().take(10) {
                    let _ = writeln!(
                        out,
                        "      top_values {{\n        value: {}\n        frequency: {c}.0\n      }}",
                        pbtxt_str(v)
                    );
                }
                out.push_str("    }\n  }\n");
            } else {
                let ty = if s.kind == 1 { "FLOAT" } else { "INT" };
                let mean = s.num_sum / s.total_values.max(1) as f64;
                let (min, max) = if s.total_values == 0 {
                    (0.0, 0.0)
                } else {
                    (s.num_min, s.num_max)
                };
                let _ = writeln!(
                    out,
                    "    type: {ty}\n    num_stats {{\n    {common}\n      mean: {mean}\n      \
                     min: {min}\n      max: {max}\n    }}\n  }}"
                );
            }
        }
        out.push_str("}\n");
    }
    out
}

/// The dataset card a Hugging Face loader reads the splits from.
fn hf_readme(done: &Done, paths: &[String]) -> String {
    let mut out = String::from("---\nconfigs:\n- config_name: default\n  data_files:\n");
    for (slot, _, _) in done {
        let _ = writeln!(
            out,
            "  - split: {}\n    path: {}",
            split_name(*slot, false),
            paths[*slot]
        );
    }
    out.push_str("---\n\n# Quorum export\n\n");
    for (slot, rows, _) in done {
        let _ = writeln!(out, "- `{}`: {rows} rows", split_name(*slot, false));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_strings_are_escaped() {
        assert_eq!(pbtxt_str("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(pbtxt_str("é"), "\"\\303\\251\"");
    }

    #[test]
    fn schema_and_statistics_of_two_examples() {
        use crate::export::tfrecord::{BytesList, Feature, Features, Int64List};
        let ex = |label: Option<&str>, id: i64| {
            let mut f = BTreeMap::new();
            f.insert(
                "item_id".to_string(),
                Feature {
                    kind: Some(Kind::Int64List(Int64List { value: vec![id] })),
                },
            );
            if let Some(l) = label {
                f.insert(
                    "label".to_string(),
                    Feature {
                        kind: Some(Kind::BytesList(BytesList {
                            value: vec![l.as_bytes().to_vec()],
                        })),
                    },
                );
            }
            Example {
                features: Some(Features { feature: f }),
            }
        };
        let mut stats = BTreeMap::new();
        observe(&mut stats, &ex(Some("pos"), 1));
        observe(&mut stats, &ex(None, 3));
        let done = vec![(0usize, 2u64, stats)];
        let schema = schema_pbtxt(&done, None);
        assert!(schema.contains(
            "feature {\n  name: \"item_id\"\n  type: INT\n  presence {\n    min_fraction: 1.0"
        ));
        assert!(schema.contains(
            "feature {\n  name: \"label\"\n  type: BYTES\n  presence {\n    min_count: 1\n  }"
        ));
        let s = statistics_pbtxt(&done);
        assert!(s.contains("name: \"train\"\n  num_examples: 2"));
        // item_id 1 and 3: mean 2; label present once, missing once.
        assert!(s.contains("mean: 2\n      min: 1\n      max: 3"), "{s}");
        assert!(
            s.contains("num_non_missing: 1\n      num_missing: 1"),
            "{s}"
        );
        assert!(s.contains("value: \"pos\"\n        frequency: 1.0"), "{s}");
    }
}
