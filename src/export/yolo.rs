//! Boxes tasks in the YOLO (Ultralytics) detection layout, as one tar archive:
//!
//! ```text
//! data.yaml                      names (class index → label value), nc, train/val/test folders
//! labels/<split>/item-<id>.txt   one line per final box: `class x_center y_center width height`,
//!                                normalised to 0..1 by the image's size; empty: nothing to box
//! images.csv                     split, file stem, image URL, width, height: where to fetch each
//!                                image into images/<split>/<stem>.<ext> (Quorum holds URLs only)
//! skipped.csv                    items left out and why (no image size, no final label)
//! ```
//!
//! `<split>` is `train`, `val` or `test` from the snapshot's splits; without splits every item is
//! in `train` (and `data.yaml` points `val` at it too, as Ultralytics needs one). Files are named
//! by item id, never by anything an uploader wrote. Class indices are the labels' places in the
//! schema, from 0. YOLO boxes are relative to the image, so an item whose data gives no
//! `width`/`height` cannot be written and is listed in `skipped.csv`. Entries carry a fixed
//! mtime so the same rows give the same bytes (snapshots are content-addressed).

use std::io::{self, Write};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::domain::kinds::boxes::{Bbox, BoxesSpec, boxes_of};
use crate::domain::schema::LabelSchema;
use crate::domain::split::Split;
use crate::export::Encoder;
use crate::export::row::{Row, Shape};
use crate::export::store::Sink;

/// The label folders by split, as Ultralytics names them.
const FOLDERS: [&str; 3] = ["train", "val", "test"];

pub struct Yolo {
    tar: tar::Builder<Sink>,
    spec: Option<BoxesSpec>,
    has_split: bool,
    images: csv::Writer<Vec<u8>>,
    skipped: csv::Writer<Vec<u8>>,
    splits_seen: [bool; 3],
}

impl Yolo {
    pub fn new(out: Sink, shape: Arc<Shape>) -> Yolo {
        let spec = match &shape.schema {
            Some(LabelSchema::Boxes(s)) => Some(s.clone()),
            _ => None,
        };
        let mut images = csv::Writer::from_writer(Vec::new());
        let mut skipped = csv::Writer::from_writer(Vec::new());
        // Writing a header into a Vec cannot fail; an error would surface again at `finish`.
        let _ = images.write_record(["split", "stem", "url", "width", "height"]);
        let _ = skipped.write_record(["item_id", "external_id", "reason"]);
        Yolo {
            tar: tar::Builder::new(out),
            spec,
            has_split: shape.has_split,
            images,
            skipped,
            splits_seen: [false; 3],
        }
    }

    /// The split's place in `FOLDERS` (everything is `train` without splits).
    fn slot(&self, split: Option<Split>) -> usize {
        match (self.has_split, split) {
            (true, Some(Split::Validation)) => 1,
            (true, Some(Split::Test)) => 2,
            _ => 0,
        }
    }

    fn append(&mut self, path: &str, bytes: &[u8]) -> io::Result<()> {
        crate::export::layout::append(&mut self.tar, path, bytes.len() as u64, bytes)
    }

    fn skip(&mut self, row: &Row, reason: &str) -> io::Result<()> {
        self.skipped
            .write_record([&row.item_id.to_string(), &row.external_id, reason])
            .map_err(io::Error::other)
    }
}

/// One box as a YOLO line: the class, then centre and size divided by the image's size.
pub fn line(class: usize, b: &Bbox, width: f64, height: f64) -> String {
    let cx = (b.x + b.w / 2.0) / width;
    let cy = (b.y + b.h / 2.0) / height;
    format!(
        "{class} {} {} {} {}",
        fmt(cx),
        fmt(cy),
        fmt(b.w / width),
        fmt(b.h / height)
    )
}

/// Six decimals (a tenth of a pixel on a 10,000-pixel image), clamped to 0..1.
fn fmt(v: f64) -> String {
    format!("{:.6}", v.clamp(0.0, 1.0))
}

impl Encoder for Yolo {
    fn write(&mut self, row: &Row) -> io::Result<()> {
        if self.spec.is_none() {
            return Ok(());
        }
        let Some(boxes) = row
            .label
            .as_ref()
            .and_then(|l| serde_json::from_str::<Value>(&l.json).ok())
            .and_then(|v| boxes_of(&v))
        else {
            return self.skip(row, "no final label");
        };
        let data: Value = serde_json::from_str(&row.data_json).unwrap_or(Value::Null);
        let Some((width, height)) = BoxesSpec::size_of(&data).filter(|(w, h)| *w > 0.0 && *h > 0.0)
        else {
            return self.skip(
                row,
                "the item gives no width/height, which YOLO's relative boxes need",
            );
        };
        let (text, url) = {
            let Some(spec) = &self.spec else {
                return Ok(());
            };
            let mut text = String::new();
            for b in &boxes {
                let Some(class) = spec.labels.iter().position(|l| l.value == b.label) else {
                    continue;
                };
                text.push_str(&line(class, b, width, height));
                text.push('\n');
            }
            let url = match data.get(&spec.field) {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            (text, url)
        };
        let slot = self.slot(row.split);
        self.splits_seen[slot] = true;
        let folder = FOLDERS[slot];
        let stem = format!("item-{}", row.item_id);
        self.append(&format!("labels/{folder}/{stem}.txt"), text.as_bytes())?;
        self.images
            .write_record([folder, &stem, &url, &width.to_string(), &height.to_string()])
            .map_err(io::Error::other)
    }

    fn finish(mut self: Box<Self>) -> io::Result<Sink> {
        let names: Vec<String> = self
            .spec
            .iter()
            .flat_map(|s| s.labels.iter())
            .enumerate()
            // JSON strings are valid YAML scalars, so any label value is quoted safely.
            .map(|(i, l)| format!("  {i}: {}", json!(l.value)))
            .collect();
        let val = if self.splits_seen[1] { "val" } else { "train" };
        let mut yaml = format!(
            "# Quorum export: final boxes, YOLO layout. Fetch the images listed in images.csv\n\
             # into images/<split>/<stem>.<ext> before training.\n\
             path: .\ntrain: images/train\nval: images/{val}\n"
        );
        if self.splits_seen[2] {
            yaml.push_str("test: images/test\n");
        }
        yaml.push_str(&format!("nc: {}\nnames:\n", names.len()));
        for n in &names {
            yaml.push_str(n);
            yaml.push('\n');
        }
        self.append("data.yaml", yaml.as_bytes())?;
        let images = std::mem::replace(&mut self.images, csv::Writer::from_writer(Vec::new()))
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.append("images.csv", &images)?;
        let skipped = std::mem::replace(&mut self.skipped, csv::Writer::from_writer(Vec::new()))
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?;
        self.append("skipped.csv", &skipped)?;
        let mut out = self.tar.into_inner()?;
        out.flush()?;
        Ok(out)
    }
}

/// The schema JSON of a YOLO snapshot.
pub fn describe() -> Value {
    json!({
        "format": "yolo",
        "label_kind": "boxes",
        "layout": "a tar archive: data.yaml, labels/<split>/item-<id>.txt, images.csv, skipped.csv (Ultralytics YOLO detection)",
        "labels": "one line per final box: class (the label's place in the schema from 0), x_center, y_center, width, height, each divided by the image's size (0..1, six decimals)",
        "images.csv": "split, stem, url, width, height: the image to fetch for each label file",
        "skipped.csv": "item_id, external_id, reason: items without a final label or without width/height",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_box_is_centred_and_scaled_by_the_image() {
        // A 100×50 box at (10, 20) on a 200×100 image: centre (60, 45) → (0.3, 0.45); size
        // (0.5, 0.5).
        let b = Bbox {
            x: 10.0,
            y: 20.0,
            w: 100.0,
            h: 50.0,
            label: "car".into(),
        };
        assert_eq!(
            line(2, &b, 200.0, 100.0),
            "2 0.300000 0.450000 0.500000 0.500000"
        );
    }

    #[test]
    fn values_stay_within_the_image() {
        let b = Bbox {
            x: 190.0,
            y: 0.0,
            w: 30.0,
            h: 10.0,
            label: "car".into(),
        };
        assert_eq!(
            line(0, &b, 200.0, 100.0),
            "0 1.000000 0.050000 0.150000 0.100000"
        );
    }
}
