//! `boxes`: labeled rectangles on an image field, in the image's pixel coordinates
//! (`x`, `y` the top-left corner, `w`, `h` the size; the origin is the image's top-left).
//!
//! Owns the schema, the value check (also against the image size the item gives), box matching
//! by IoU with the Hungarian algorithm, resolution by fusing matched boxes, and F1 at IoU 0.5
//! with mean IoU between raters. Formulas and worked examples are in `docs/label-kinds.md`.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::domain::kinds::spans::SpanLabel;
use crate::domain::resolve::{Decision, count_votes};

pub const MAX_BOXES: usize = 500;
/// Boxes of raters match when their IoU reaches this.
pub const MATCH_IOU: f64 = 0.5;
/// A coordinate at most this far past the image's edge is clamped to it (a drag that ends a
/// pixel outside); further is refused.
const SLACK: f64 = 1.0;

fn image() -> String {
    "image".into()
}

/// Box labels over one image field of the item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoxesSpec {
    #[serde(default = "image")]
    pub field: String,
    pub labels: Vec<SpanLabel>,
}

/// One box, in image pixels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bbox {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub label: String,
}

impl Bbox {
    pub fn area(&self) -> f64 {
        self.w * self.h
    }
    /// Intersection over union.
    pub fn iou(&self, o: &Bbox) -> f64 {
        let iw = (self.x + self.w).min(o.x + o.w) - self.x.max(o.x);
        let ih = (self.y + self.h).min(o.y + o.h) - self.y.max(o.y);
        if iw <= 0.0 || ih <= 0.0 {
            return 0.0;
        }
        let inter = iw * ih;
        inter / (self.area() + o.area() - inter)
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

impl BoxesSpec {
    pub fn check(&self) -> Result<(), String> {
        if self.field.trim().is_empty() || self.field.chars().count() > 100 {
            return Err("schema: field: a field name has 1 to 100 characters".into());
        }
        // The labels follow the spans kind's rules (values, hotkeys, colours).
        crate::domain::kinds::spans::SpansSpec {
            field: self.field.clone(),
            labels: self.labels.clone(),
            allow_overlap: true,
        }
        .check()
    }

    fn parse(&self, v: &Value) -> Result<Vec<Bbox>, String> {
        let arr = v
            .as_array()
            .ok_or("value: boxes are a list of {\"x\", \"y\", \"w\", \"h\", \"label\"} ([] for nothing to box)")?;
        if arr.len() > MAX_BOXES {
            return Err(format!("value: at most {MAX_BOXES} boxes"));
        }
        let mut out = Vec::with_capacity(arr.len());
        for (i, b) in arr.iter().enumerate() {
            let n = i + 1;
            let o = b
                .as_object()
                .ok_or_else(|| format!("value: box {n}: an object with x, y, w, h and label"))?;
            if let Some(k) = o
                .keys()
                .find(|k| !matches!(k.as_str(), "x" | "y" | "w" | "h" | "label"))
            {
                return Err(format!("value: box {n}: unknown field {k:?}"));
            }
            let num = |f: &str| {
                o.get(f)
                    .and_then(Value::as_f64)
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| format!("value: box {n}: {f} must be a number of pixels"))
            };
            let (x, y, w, h) = (num("x")?, num("y")?, num("w")?, num("h")?);
            if x < -SLACK || y < -SLACK {
                return Err(format!(
                    "value: box {n}: x and y must not be negative (the origin is the image's top-left corner)"
                ));
            }
            if w <= 0.0 || h <= 0.0 {
                return Err(format!(
                    "value: box {n}: w and h must be above 0 (a box has an area; got {w}×{h})"
                ));
            }
            let label = o
                .get("label")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("value: box {n}: label must be a string"))?;
            if !self.labels.iter().any(|l| l.value == label) {
                return Err(format!(
                    "value: box {n}: label {label:?} is not one of the box labels"
                ));
            }
            // Clamp a pixel of slack at the top-left edge.
            let (x0, y0) = (x.max(0.0), y.max(0.0));
            out.push(Bbox {
                x: round2(x0),
                y: round2(y0),
                w: round2(w - (x0 - x)),
                h: round2(h - (y0 - y)),
                label: label.to_string(),
            });
        }
        Ok(out)
    }

    /// The shape of a value; boxes rounded to 1/100 pixel, clamped at the top-left edge.
    pub fn check_value(&self, v: &Value) -> Result<Value, String> {
        Ok(to_value(&self.parse(v)?))
    }

    /// The image size the item gives (`width`, `height`), if any.
    pub fn size_of(data: &Value) -> Option<(f64, f64)> {
        Some((data.get("width")?.as_f64()?, data.get("height")?.as_f64()?))
    }

    /// Every box lies within the image, when the item gives its size (a pixel of slack).
    pub fn check_image(&self, value: &Value, data: &Value) -> Result<(), String> {
        let Some((iw, ih)) = Self::size_of(data) else {
            return Ok(());
        };
        for (i, b) in self.parse(value)?.iter().enumerate() {
            if b.x + b.w > iw + SLACK || b.y + b.h > ih + SLACK {
                return Err(format!(
                    "value: box {}: it reaches past the image ({}×{} pixels)",
                    i + 1,
                    iw,
                    ih
                ));
            }
        }
        Ok(())
    }

    /// An item of a boxes task has its image URL (and, optionally, `width` and `height`).
    pub fn check_item(&self, data: &Map<String, Value>) -> Result<(), String> {
        match data.get(&self.field) {
            Some(Value::String(s)) if s.starts_with("http://") || s.starts_with("https://") => {}
            _ => {
                return Err(format!(
                    "missing field {:?} (the image to box; an http(s) URL)",
                    self.field
                ));
            }
        }
        for f in ["width", "height"] {
            if let Some(v) = data.get(f)
                && !v.as_f64().is_some_and(|x| x > 0.0)
            {
                return Err(format!("field {f:?} must be a number of pixels above 0"));
            }
        }
        Ok(())
    }

    pub fn evolve_to(&self, next: &BoxesSpec) -> Result<(), String> {
        for l in &self.labels {
            if !next.labels.iter().any(|n| n.value == l.value) {
                return Err(format!(
                    "schema: labels: {:?} cannot be removed once labels exist",
                    l.value
                ));
            }
        }
        Ok(())
    }

    pub fn display(&self, v: &Value) -> String {
        match boxes_of(v) {
            Some(b) if b.is_empty() => "(nothing to box)".into(),
            Some(b) => b
                .iter()
                .map(|b| format!("{} {}×{} at {},{}", b.label, b.w, b.h, b.x, b.y))
                .collect::<Vec<_>>()
                .join(", "),
            None => v.to_string(),
        }
    }
}

pub fn boxes_of(v: &Value) -> Option<Vec<Bbox>> {
    serde_json::from_value(v.clone()).ok()
}

fn to_value(b: &[Bbox]) -> Value {
    Value::Array(
        b.iter()
            .map(|b| json!({"x": b.x, "y": b.y, "w": b.w, "h": b.h, "label": b.label}))
            .collect(),
    )
}

/// The Hungarian algorithm (Kuhn–Munkres, O(n²m)) on a rows × cols cost matrix with rows ≤ cols:
/// the column of each row in a matching of least total cost.
pub fn hungarian(cost: &[Vec<f64>]) -> Vec<usize> {
    let n = cost.len();
    if n == 0 {
        return Vec::new();
    }
    let m = cost[0].len();
    // Potentials and the matching, 1-based with a sentinel column 0 (e-maxx formulation).
    let (mut u, mut v) = (vec![0.0f64; n + 1], vec![0.0f64; m + 1]);
    let (mut p, mut way) = (vec![0usize; m + 1], vec![0usize; m + 1]);
    for i in 1..=n {
        p[0] = i;
        let mut j0 = 0;
        let mut minv = vec![f64::INFINITY; m + 1];
        let mut used = vec![false; m + 1];
        loop {
            used[j0] = true;
            let i0 = p[j0];
            let mut delta = f64::INFINITY;
            let mut j1 = 0;
            for j in 1..=m {
                if !used[j] {
                    let cur = cost[i0 - 1][j - 1] - u[i0] - v[j];
                    if cur < minv[j] {
                        minv[j] = cur;
                        way[j] = j0;
                    }
                    if minv[j] < delta {
                        delta = minv[j];
                        j1 = j;
                    }
                }
            }
            for j in 0..=m {
                if used[j] {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
            if p[j0] == 0 {
                break;
            }
        }
        loop {
            let j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
            if j0 == 0 {
                break;
            }
        }
    }
    let mut row_to_col = vec![0usize; n];
    for j in 1..=m {
        if p[j] != 0 {
            row_to_col[p[j] - 1] = j - 1;
        }
    }
    row_to_col
}

/// Pairs of boxes of `a` and `b` matched one to one so the summed IoU is largest (Hungarian on
/// 1 − IoU), keeping pairs of the same label with IoU ≥ [`MATCH_IOU`]: `(i, j, iou)`.
pub fn match_boxes(a: &[Bbox], b: &[Bbox]) -> Vec<(usize, usize, f64)> {
    if a.is_empty() || b.is_empty() {
        return Vec::new();
    }
    let swap = a.len() > b.len();
    let (r, c) = if swap { (b, a) } else { (a, b) };
    let cost: Vec<Vec<f64>> = r
        .iter()
        .map(|x| {
            c.iter()
                .map(|y| {
                    if x.label == y.label {
                        1.0 - x.iou(y)
                    } else {
                        2.0
                    }
                })
                .collect()
        })
        .collect();
    hungarian(&cost)
        .into_iter()
        .enumerate()
        .filter_map(|(i, j)| {
            let (ia, ib) = if swap { (j, i) } else { (i, j) };
            let iou = if a[ia].label == b[ib].label {
                a[ia].iou(&b[ib])
            } else {
                0.0
            };
            (iou >= MATCH_IOU).then_some((ia, ib, iou))
        })
        .collect()
}

/// F1 at IoU 0.5 between raters, micro-averaged over every pair of raters on every item
/// (`2 Σ matched / Σ (|A| + |B|)`), the mean IoU of matched pairs, and every matched IoU.
pub fn agreement<'a>(
    items: impl IntoIterator<Item = &'a [Vec<Bbox>]>,
) -> (Option<f64>, Option<f64>, Vec<f64>) {
    let (mut m, mut total) = (0usize, 0usize);
    let mut ious = Vec::new();
    for answers in items {
        for (i, a) in answers.iter().enumerate() {
            for b in &answers[i + 1..] {
                let pairs = match_boxes(a, b);
                m += pairs.len();
                total += a.len() + b.len();
                ious.extend(pairs.iter().map(|p| p.2));
            }
        }
    }
    let f1 = (total > 0).then(|| 2.0 * m as f64 / total as f64);
    let mean = (!ious.is_empty()).then(|| ious.iter().sum::<f64>() / ious.len() as f64);
    (f1, mean, ious)
}

/// Resolution: each rater's boxes are matched (Hungarian, IoU ≥ 0.5, same label) to the groups
/// formed by the raters before; unmatched boxes start groups. A group marked by at least the
/// agreement threshold of raters is kept, its box the mean of its members' coordinates
/// (weighted box fusion with equal weights); fewer than one minus the threshold: dropped;
/// between: a conflict (one more rater, then a reviewer). Confidence as for spans.
pub fn decide(values: &[Value], agreement: f64, target: i64, max_overlap: i64) -> Decision {
    let votes = count_votes(values);
    let answers: Vec<Vec<Bbox>> = values.iter().filter_map(boxes_of).collect();
    let more = |votes| {
        if target < max_overlap {
            Decision::MoreLabels { votes }
        } else {
            Decision::Adjudicate { votes }
        }
    };
    let n = answers.len();
    if n == 0 {
        return more(votes);
    }
    // Groups: their members, and the fused box they are matched against.
    let mut groups: Vec<(Vec<Bbox>, Bbox)> = Vec::new();
    for a in &answers {
        let fused: Vec<Bbox> = groups.iter().map(|g| g.1.clone()).collect();
        let matched = match_boxes(a, &fused);
        let taken: HashSet<usize> = matched.iter().map(|m| m.0).collect();
        for (i, j, _) in matched {
            groups[j].0.push(a[i].clone());
            groups[j].1 = fuse(&groups[j].0);
        }
        for (i, b) in a.iter().enumerate() {
            if !taken.contains(&i) {
                groups.push((vec![b.clone()], b.clone()));
            }
        }
    }
    let mut kept = Vec::new();
    let mut confidence = 1.0f64;
    for (members, fused) in groups {
        let share = members.len() as f64 / n as f64;
        if share + 1e-12 >= agreement {
            kept.push(fused);
        } else if share + 1e-12 >= 1.0 - agreement {
            return more(votes);
        }
        confidence = confidence.min(share.max(1.0 - share));
    }
    kept.sort_by(|a, b| a.y.total_cmp(&b.y).then(a.x.total_cmp(&b.x)));
    let unanimous = values.windows(2).all(|w| w[0] == w[1]);
    Decision::Resolved {
        value: to_value(&kept),
        method: if unanimous { "unanimous" } else { "majority" },
        confidence,
        votes,
    }
}

/// The mean of the boxes' coordinates (rounded to 1/100 pixel).
pub fn fuse(b: &[Bbox]) -> Bbox {
    let k = b.len().max(1) as f64;
    let mean = |f: fn(&Bbox) -> f64| round2(b.iter().map(f).sum::<f64>() / k);
    Bbox {
        x: mean(|b| b.x),
        y: mean(|b| b.y),
        w: mean(|b| b.w),
        h: mean(|b| b.h),
        label: b.first().map(|b| b.label.clone()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests;
