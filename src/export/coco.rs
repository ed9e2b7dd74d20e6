//! Boxes tasks as COCO object-detection JSON: one document
//! `{"info", "categories", "images", "annotations"}`. Every item with a final label is an image
//! (`id` the item id, `file_name` and `coco_url` its image URL, `width`/`height` when the item
//! gives them, and its `external_id`); every final box an annotation with `bbox` `[x, y, w, h]`
//! in pixels from the top-left corner, `area` `w·h`, `iscrowd` 0 and `category_id` the label's
//! place in the schema, from 1. An image whose final answer is "nothing to box" has no
//! annotations. Images are streamed; annotations are held until the end (about 100 bytes a box).

use std::io::{self, Write};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::domain::kinds::boxes::{BoxesSpec, boxes_of};
use crate::domain::schema::LabelSchema;
use crate::export::Encoder;
use crate::export::row::{Row, Shape};
use crate::export::store::Sink;

pub struct Coco {
    out: Sink,
    spec: Option<BoxesSpec>,
    images: u64,
    annotations: Vec<u8>,
    next_annotation: u64,
    started: bool,
}

impl Coco {
    pub fn new(out: Sink, shape: Arc<Shape>) -> Coco {
        let spec = match &shape.schema {
            Some(LabelSchema::Boxes(s)) => Some(s.clone()),
            _ => None,
        };
        Coco {
            out,
            spec,
            images: 0,
            annotations: Vec::new(),
            next_annotation: 1,
            started: false,
        }
    }

    fn start(&mut self) -> io::Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        let categories: Vec<Value> = self
            .spec
            .iter()
            .flat_map(|s| s.labels.iter())
            .enumerate()
            .map(|(i, l)| json!({"id": i + 1, "name": l.value, "supercategory": ""}))
            .collect();
        let head = json!({"description": "Quorum export: final boxes", "version": "1.0"});
        write!(
            self.out,
            "{{\"info\":{head},\"categories\":{},\"images\":[",
            Value::Array(categories)
        )
    }
}

impl Encoder for Coco {
    fn write(&mut self, row: &Row) -> io::Result<()> {
        self.start()?;
        let Some(spec) = &self.spec else {
            return Ok(());
        };
        let Some(label) = row
            .label
            .as_ref()
            .and_then(|l| serde_json::from_str::<Value>(&l.json).ok())
            .and_then(|v| boxes_of(&v))
        else {
            return Ok(());
        };
        let data: Value = serde_json::from_str(&row.data_json).unwrap_or(Value::Null);
        let url = data.get(&spec.field).cloned().unwrap_or(Value::Null);
        let mut image = json!({"id": row.item_id, "file_name": url, "coco_url": url, "external_id": row.external_id});
        if let Some((w, h)) = BoxesSpec::size_of(&data) {
            image["width"] = json!(w);
            image["height"] = json!(h);
        }
        if self.images > 0 {
            self.out.write_all(b",")?;
        }
        serde_json::to_writer(&mut self.out, &image).map_err(io::Error::other)?;
        self.images += 1;
        for b in label {
            let category = spec
                .labels
                .iter()
                .position(|l| l.value == b.label)
                .map_or(0, |i| i + 1);
            let a = json!({"id": self.next_annotation, "image_id": row.item_id, "category_id": category,
                "bbox": [b.x, b.y, b.w, b.h], "area": b.area(), "iscrowd": 0});
            if self.next_annotation > 1 {
                self.annotations.push(b',');
            }
            serde_json::to_writer(&mut self.annotations, &a).map_err(io::Error::other)?;
            self.next_annotation += 1;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> io::Result<Sink> {
        self.start()?;
        self.out.write_all(b"],\"annotations\":[")?;
        let annotations = std::mem::take(&mut self.annotations);
        self.out.write_all(&annotations)?;
        self.out.write_all(b"]}\n")?;
        Ok(self.out)
    }
}

/// The schema JSON of a COCO snapshot.
pub fn describe() -> Value {
    json!({
        "format": "coco",
        "label_kind": "boxes",
        "layout": "one JSON document {info, categories, images, annotations} (COCO object detection)",
        "images": "one per item with a final label: id (the item id), file_name and coco_url (the image URL), width/height when the item gives them, external_id",
        "annotations": "one per final box: bbox [x, y, w, h] in pixels from the top-left corner, area w*h, iscrowd 0, category_id the label's place in the schema from 1",
    })
}
