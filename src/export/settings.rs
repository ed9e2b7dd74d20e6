//! What a snapshot is made of: the format and the options, parsed from a request (API, form or
//! command line) into checked [`ExportSettings`].

use serde::{Deserialize, Serialize};

use crate::domain::split::SplitSpec;

/// The file formats a snapshot can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Jsonl,
    Csv,
    Parquet,
    Tfrecord,
    /// Pairwise tasks: JSONL of `{"prompt", "chosen", "rejected"}` (DPO/RLHF trainers' input).
    Preference,
    /// Spans tasks: CoNLL-2003 BIO tags (see `export::conll`).
    Conll,
    /// Spans tasks: spaCy training data, JSON Lines (see `export::conll`).
    Spacy,
    /// Boxes tasks: COCO object-detection JSON (see `export::coco`).
    Coco,
    /// Boxes tasks: the YOLO (Ultralytics) layout in a tar archive (see `export::yolo`).
    Yolo,
    /// Every kind: Label Studio's task JSON (see `export::label_studio`).
    LabelStudio,
}

impl Format {
    pub const ALL: [Format; 10] = [
        Format::Jsonl,
        Format::Csv,
        Format::Parquet,
        Format::Tfrecord,
        Format::Preference,
        Format::Conll,
        Format::Spacy,
        Format::Coco,
        Format::Yolo,
        Format::LabelStudio,
    ];

    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Tfrecord => "tfrecord",
            Format::Preference => "preference",
            Format::Conll => "conll",
            Format::Spacy => "spacy",
            Format::Coco => "coco",
            Format::Yolo => "yolo",
            Format::LabelStudio => "label_studio",
        }
    }

    /// The file extension (also the stored file's).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Preference => "preference.jsonl",
            Format::Conll => "conll",
            Format::Spacy => "spacy.jsonl",
            Format::Coco => "coco.json",
            Format::Yolo => "yolo.tar",
            Format::LabelStudio => "label_studio.json",
            other => other.as_str(),
        }
    }

    /// The format of a stored snapshot: its settings' `format`, else its `format` column (which
    /// held only the container, e.g. `jsonl` for preference pairs, before migration
    /// `20261203090100`).
    pub fn of_export(column: &str, settings_json: &str) -> Option<Format> {
        serde_json::from_str::<serde_json::Value>(settings_json)
            .ok()
            .and_then(|v| {
                v.get("format")
                    .and_then(|f| f.as_str())
                    .and_then(Format::parse)
            })
            .or_else(|| Format::parse(column))
    }

    /// Why this format cannot export a task of `schema` (formats made for one label kind).
    pub fn unfit_for(self, schema: &crate::domain::schema::LabelSchema) -> Option<String> {
        use crate::domain::schema::LabelSchema;
        match (self, schema) {
            (Format::Preference, LabelSchema::Pairwise(_)) => None,
            (Format::Preference, s) => Some(format!(
                "format: preference pairs are made from pairwise tasks; this task is {}",
                s.kind()
            )),
            (Format::Conll | Format::Spacy, LabelSchema::Spans(_)) => None,
            (Format::Coco | Format::Yolo, LabelSchema::Boxes(_)) => None,
            (f @ (Format::Coco | Format::Yolo), s) => Some(format!(
                "format: {} is made from boxes tasks; this task is {}",
                f.as_str(),
                s.kind()
            )),
            (f @ (Format::Conll | Format::Spacy), s) => Some(format!(
                "format: {} is made from spans tasks; this task is {}",
                f.as_str(),
                s.kind()
            )),
            _ => None,
        }
    }

    /// The `Content-Type` a download is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jsonl => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Parquet => "application/vnd.apache.parquet",
            Format::Tfrecord => "application/octet-stream",
            Format::Preference | Format::Spacy => "application/x-ndjson",
            Format::Conll => "text/plain; charset=utf-8",
            Format::Coco => "application/json",
            Format::Yolo => "application/x-tar",
            Format::LabelStudio => "application/json",
        }
    }
}

/// A folder layout for training pipelines (see `export::layout`), written as one tar archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// TFX ExampleGen: `Split-<name>/` gzip TFRecord, TFDV schema and statistics.
    Tfx,
    /// Hugging Face `datasets`: `data/<split>-….parquet|jsonl` and a README mapping the splits.
    Hf,
}

impl Layout {
    pub const ALL: [Layout; 2] = [Layout::Tfx, Layout::Hf];

    /// The layout a stored snapshot was written in (its settings' `layout`), if any.
    pub fn of_export(settings_json: &str) -> Option<Layout> {
        serde_json::from_str::<serde_json::Value>(settings_json)
            .ok()?
            .get("layout")?
            .as_str()
            .and_then(Layout::parse)
    }

    pub fn parse(s: &str) -> Option<Layout> {
        match s {
            "tfx" => Some(Layout::Tfx),
            "hf" => Some(Layout::Hf),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Tfx => "tfx",
            Layout::Hf => "hf",
        }
    }
}

/// `POST /api/v1/tasks/{id}/exports`, as sent.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// `jsonl`, `csv`, `parquet` or `tfrecord`; for one label kind: `preference` (pairwise),
    /// `conll` or `spacy` (spans), `coco` or `yolo` (boxes); `label_studio` (Label Studio tasks).
    pub format: String,
    /// Only items with a final label (default true); false exports every item, labeled or not.
    pub only_resolved: Option<bool>,
    /// Add each rater's vote, under a pseudonymous rater id (default false).
    pub include_votes: Option<bool>,
    /// Keep gold items (default true).
    pub include_gold: Option<bool>,
    /// Leave out final labels less confident than this (0 to 1).
    pub min_confidence: Option<f64>,
    pub splits: Option<SplitsRequest>,
    /// `tfx` (TFX ExampleGen folders, with format `tfrecord`) or `hf` (Hugging Face `datasets`
    /// folders, with `parquet` or `jsonl`): one folder per split in a tar archive.
    pub layout: Option<String>,
}

/// The `splits` object of an export request: fractions summing to 1, a seed, and optionally a
/// data field whose equal values share a split.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitsRequest {
    #[serde(default)]
    pub train: f64,
    #[serde(default)]
    pub validation: f64,
    #[serde(default)]
    pub test: f64,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub group_by: Option<String>,
}

/// Checked export settings; stored with each snapshot as its `settings`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportSettings {
    pub format: Format,
    pub only_resolved: bool,
    pub include_votes: bool,
    pub include_gold: bool,
    pub min_confidence: Option<f64>,
    pub splits: Option<SplitSpec>,
    /// Absent: one file of the format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<Layout>,
}

impl ExportSettings {
    /// The stored file's extension (after its hash).
    pub fn extension(&self) -> String {
        match self.layout {
            Some(l) => format!("{}.{}.tar", l.as_str(), self.format.extension()),
            None => self.format.extension().to_string(),
        }
    }
}

impl ExportRequest {
    /// Checks every option; the message names the field at fault.
    pub fn check(self) -> Result<ExportSettings, String> {
        let format = Format::parse(self.format.trim()).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
            format!(
                "format: {:?} is not one of {}",
                self.format,
                names.join(", ")
            )
        })?;
        let layout = match self.layout.as_deref().map(str::trim) {
            None => None,
            Some(l) => {
                let layout = Layout::parse(l)
                    .ok_or_else(|| format!("layout: {l:?} is not one of tfx, hf"))?;
                match (layout, format) {
                    (Layout::Tfx, Format::Tfrecord)
                    | (Layout::Hf, Format::Parquet | Format::Jsonl) => {}
                    (Layout::Tfx, f) => {
                        return Err(format!(
                            "layout: tfx folders hold TFRecord; use format tfrecord, not {}",
                            f.as_str()
                        ));
                    }
                    (Layout::Hf, f) => {
                        return Err(format!(
                            "layout: hf folders hold parquet or jsonl, not {}",
                            f.as_str()
                        ));
                    }
                }
                Some(layout)
            }
        };
        let only_resolved = self.only_resolved.unwrap_or(true);
        if let Some(c) = self.min_confidence {
            if !c.is_finite() || !(0.0..=1.0).contains(&c) {
                return Err("min_confidence: a number between 0 and 1".into());
            }
            if !only_resolved {
                return Err(
                    "min_confidence applies to final labels: use it with only_resolved=true".into(),
                );
            }
        }
        let splits = match self.splits {
            Some(s) => Some(SplitSpec::new(
                s.train,
                s.validation,
                s.test,
                s.seed,
                s.group_by,
            )?),
            None => None,
        };
        Ok(ExportSettings {
            format,
            only_resolved,
            include_votes: self.include_votes.unwrap_or(false),
            include_gold: self.include_gold.unwrap_or(true),
            min_confidence: self.min_confidence,
            splits,
            layout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(v: serde_json::Value) -> Result<ExportSettings, String> {
        serde_json::from_value::<ExportRequest>(v)
            .map_err(|e| e.to_string())?
            .check()
    }

    #[test]
    fn defaults_and_checks() {
        let s = req(serde_json::json!({"format": "jsonl"})).unwrap();
        assert_eq!(s.format, Format::Jsonl);
        assert!(s.only_resolved && s.include_gold && !s.include_votes);
        assert_eq!(s.splits, None);
        let s = req(serde_json::json!({"format": "parquet", "splits": {"train": 0.8, "validation": 0.1, "test": 0.1, "seed": 42, "group_by": null}})).unwrap();
        assert_eq!(s.splits.unwrap().seed, 42);
        assert!(
            req(serde_json::json!({"format": "xlsx"}))
                .unwrap_err()
                .contains("format")
        );
        assert!(req(serde_json::json!({"format": "csv", "min_confidence": 1.5})).is_err());
        assert!(
            req(
                serde_json::json!({"format": "csv", "min_confidence": 0.5, "only_resolved": false})
            )
            .unwrap_err()
            .contains("only_resolved")
        );
        assert!(req(serde_json::json!({"format": "csv", "splits": {"train": 0.5}})).is_err());
        assert!(req(serde_json::json!({"format": "csv", "bogus": 1})).is_err());
        let s = req(serde_json::json!({"format": "tfrecord", "layout": "tfx"})).unwrap();
        assert_eq!(
            (s.layout, s.extension().as_str()),
            (Some(Layout::Tfx), "tfx.tfrecord.tar")
        );
        assert_eq!(
            req(serde_json::json!({"format": "jsonl"}))
                .unwrap()
                .extension(),
            "jsonl"
        );
        assert!(
            req(serde_json::json!({"format": "csv", "layout": "hf"}))
                .unwrap_err()
                .starts_with("layout: hf")
        );
        assert!(req(serde_json::json!({"format": "jsonl", "layout": "zip"})).is_err());
    }
}
