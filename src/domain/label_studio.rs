//! Label Studio's JSON, both ways: a Quorum label value as the `result` list of a Label Studio
//! annotation or prediction, the `result` list back as a Quorum value, and the labeling config
//! (XML) of a project that shows a task of this schema, so teams can move over in either
//! direction.
//!
//! Every result names the config's control (`from_name`, always `label`) and the object it
//! annotates (`to_name`: the item's text or image field; `prompt` for pairwise tasks):
//!
//! | Quorum kind | Label Studio result |
//! |---|---|
//! | single/multi choice | `choices` with `value.choices` |
//! | free text | `textarea` with `value.text` (one entry) |
//! | rating | `rating` with `value.rating` |
//! | pairwise | `choices` with `value.choices` one of `A`, `B`, `tie`, `both_bad` (Label Studio's own `pairwise` tag has no tie) |
//! | spans | one `labels` result per span: `value.start`/`end` (**UTF-16 code units**, as the browser counts; Quorum counts Unicode scalar values, converted here), `text`, `labels` |
//! | boxes | one `rectanglelabels` result per box: `value.x`/`y`/`width`/`height` in **percent** of the image, with `original_width`/`original_height` (a box needs the item's `width`/`height`) |
//!
//! An empty answer (no entities, nothing to box) is an empty `result` list.

use serde_json::{Map, Value, json};

use crate::domain::kinds::boxes::{BoxesSpec, boxes_of};
use crate::domain::kinds::pairwise::choice_of;
use crate::domain::kinds::spans::spans_of;
use crate::domain::schema::LabelSchema;

/// The object (data field) a schema's results point at.
pub fn to_name(schema: &LabelSchema, data: &Map<String, Value>) -> String {
    match schema {
        LabelSchema::Spans(s) => s.field.clone(),
        LabelSchema::Boxes(s) => s.field.clone(),
        LabelSchema::Pairwise(_) => "prompt".into(),
        _ if data.contains_key("text") => "text".into(),
        _ => ["image", "image_url"]
            .into_iter()
            .find(|f| data.contains_key(*f))
            .unwrap_or("text")
            .into(),
    }
}

/// Quorum's offset (Unicode scalar values) in `text` as UTF-16 code units.
fn utf16_of(text: &str, chars: usize) -> usize {
    text.chars().take(chars).map(char::len_utf16).sum()
}

/// A UTF-16 offset in `text` as Unicode scalar values; None inside a surrogate pair or past the end.
fn chars_of(text: &str, utf16: usize) -> Option<usize> {
    let (mut units, mut n) = (0usize, 0usize);
    for c in text.chars() {
        if units == utf16 {
            return Some(n);
        }
        units += c.len_utf16();
        n += 1;
    }
    (units == utf16).then_some(n)
}

fn result(kind: &str, to: &str, value: Value) -> Value {
    json!({"from_name": "label", "to_name": to, "type": kind, "value": value})
}

/// The `result` list of a (checked) Quorum value.
pub fn to_results(schema: &LabelSchema, value: &Value, data: &Map<String, Value>) -> Vec<Value> {
    let to = to_name(schema, data);
    match schema {
        LabelSchema::SingleChoice { .. } => {
            vec![result("choices", &to, json!({"choices": [value]}))]
        }
        LabelSchema::MultiChoice { .. } => vec![result("choices", &to, json!({"choices": value}))],
        LabelSchema::FreeText { .. } => vec![result("textarea", &to, json!({"text": [value]}))],
        LabelSchema::Rating(_) => vec![result("rating", &to, json!({"rating": value}))],
        LabelSchema::Pairwise(_) => match choice_of(value) {
            Some(c) => vec![result("choices", &to, json!({"choices": [c]}))],
            None => Vec::new(),
        },
        LabelSchema::Spans(s) => {
            let text = data.get(&s.field).and_then(Value::as_str).unwrap_or("");
            spans_of(value)
                .unwrap_or_default()
                .into_iter()
                .map(|sp| {
                    let piece: String = text
                        .chars()
                        .skip(sp.start)
                        .take(sp.end.saturating_sub(sp.start))
                        .collect();
                    result(
                        "labels",
                        &to,
                        json!({"start": utf16_of(text, sp.start), "end": utf16_of(text, sp.end),
                            "text": piece, "labels": [sp.label]}),
                    )
                })
                .collect()
        }
        LabelSchema::Questions(s) => s
            .questions
            .iter()
            .flat_map(|q| {
                let part = value.get(&q.name).cloned().unwrap_or(Value::Null);
                to_results(&q.schema, &part, data)
                    .into_iter()
                    .map(|mut r| {
                        r["from_name"] = json!(q.name);
                        r
                    })
                    .collect::<Vec<_>>()
            })
            .collect(),
        LabelSchema::Boxes(_) => {
            let Some((w, h)) = BoxesSpec::size_of(&Value::Object(data.clone())) else {
                return Vec::new();
            };
            boxes_of(value)
                .unwrap_or_default()
                .into_iter()
                .map(|b| {
                    let mut r = result(
                        "rectanglelabels",
                        &to,
                        json!({"x": 100.0 * b.x / w, "y": 100.0 * b.y / h,
                            "width": 100.0 * b.w / w, "height": 100.0 * b.h / h,
                            "rotation": 0, "rectanglelabels": [b.label]}),
                    );
                    r["original_width"] = json!(w);
                    r["original_height"] = json!(h);
                    r["image_rotation"] = json!(0);
                    r
                })
                .collect()
        }
    }
}

/// A `result` list as a Quorum value (checked against the schema by the caller). `Ok(None)`: the
/// list says nothing this schema reads (e.g. an empty list for a choice task).
pub fn from_results(
    schema: &LabelSchema,
    results: &[Value],
    data: &Map<String, Value>,
) -> Result<Option<Value>, String> {
    fn of_type<'a>(results: &'a [Value], t: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        results
            .iter()
            .filter(move |r| r.get("type").and_then(Value::as_str) == Some(t))
            .filter_map(|r| r.get("value"))
    }
    let first_choices = || -> Option<Vec<Value>> {
        of_type(results, "choices")
            .next()
            .and_then(|v| v.get("choices"))
            .and_then(Value::as_array)
            .cloned()
    };
    Ok(match schema {
        // Each question reads the results its control (`from_name`) gave.
        LabelSchema::Questions(s) => {
            let mut out = Map::new();
            for q in &s.questions {
                let mine: Vec<Value> = results
                    .iter()
                    .filter(|r| r.get("from_name").and_then(Value::as_str) == Some(q.name.as_str()))
                    .cloned()
                    .collect();
                if let Some(v) =
                    from_results(&q.schema, &mine, data).map_err(|e| format!("{}: {e}", q.name))?
                {
                    out.insert(q.name.clone(), v);
                }
            }
            Some(Value::Object(out))
        }
        LabelSchema::SingleChoice { .. } | LabelSchema::Pairwise(_) => {
            match first_choices().as_deref() {
                None | Some([]) => None,
                Some([one]) => Some(one.clone()),
                Some(_) => return Err("several choices for a single-choice question".into()),
            }
        }
        LabelSchema::MultiChoice { .. } => first_choices().map(Value::Array),
        LabelSchema::FreeText { .. } => of_type(results, "textarea")
            .next()
            .and_then(|v| v.get("text"))
            .and_then(|t| match t {
                Value::Array(a) => a.first().cloned(),
                other => Some(other.clone()),
            }),
        LabelSchema::Rating(_) => of_type(results, "rating")
            .next()
            .and_then(|v| v.get("rating"))
            .cloned(),
        LabelSchema::Spans(s) => {
            let text = data.get(&s.field).and_then(Value::as_str).unwrap_or("");
            let mut spans = Vec::new();
            for v in of_type(results, "labels") {
                let offset = |k: &str| -> Result<usize, String> {
                    let u = v
                        .get(k)
                        .and_then(Value::as_u64)
                        .ok_or_else(|| format!("a span's {k} must be a whole number"))?;
                    chars_of(text, u as usize).ok_or_else(|| {
                        format!("a span's {k} ({u}) is past the text or inside a character")
                    })
                };
                let label = v
                    .get("labels")
                    .and_then(Value::as_array)
                    .and_then(|l| l.first())
                    .cloned()
                    .ok_or("a span has no labels")?;
                spans.push(
                    json!({"start": offset("start")?, "end": offset("end")?, "label": label}),
                );
            }
            Some(Value::Array(spans))
        }
        LabelSchema::Boxes(_) => {
            let size = BoxesSpec::size_of(&Value::Object(data.clone()));
            let mut boxes = Vec::new();
            for r in results
                .iter()
                .filter(|r| r.get("type").and_then(Value::as_str) == Some("rectanglelabels"))
            {
                let v = r.get("value").cloned().unwrap_or(Value::Null);
                let dim = |k: &str| r.get(k).and_then(Value::as_f64);
                let (w, h) = match (dim("original_width"), dim("original_height"), size) {
                    (Some(w), Some(h), _) => (w, h),
                    (_, _, Some(s)) => s,
                    _ => return Err("a box needs original_width/original_height".into()),
                };
                let pct = |k: &str| -> Result<f64, String> {
                    v.get(k)
                        .and_then(Value::as_f64)
                        .ok_or_else(|| format!("a box's {k} must be a number"))
                };
                let label = v
                    .get("rectanglelabels")
                    .and_then(Value::as_array)
                    .and_then(|l| l.first())
                    .cloned()
                    .ok_or("a box has no rectanglelabels")?;
                let px = |p: f64, of: f64| (p * of / 100.0 * 1000.0).round() / 1000.0;
                boxes.push(json!({"x": px(pct("x")?, w), "y": px(pct("y")?, h),
                    "w": px(pct("width")?, w), "h": px(pct("height")?, h), "label": label}));
            }
            Some(Value::Array(boxes))
        }
    })
}

fn xml_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The labeling config of a Label Studio project for this schema (data fields as in Quorum).
pub fn labeling_config(schema: &LabelSchema) -> String {
    let choices = |values: Vec<&str>, to: &str, multi: bool| {
        let mut x = format!(
            "  <Choices name=\"label\" toName=\"{}\" choice=\"{}\">\n",
            xml_attr(to),
            if multi { "multiple" } else { "single" }
        );
        for v in values {
            x.push_str(&format!("    <Choice value=\"{}\"/>\n", xml_attr(v)));
        }
        x.push_str("  </Choices>\n");
        x
    };
    let body = match schema {
        // Every question's controls, named by the question; each object shown once.
        LabelSchema::Questions(s) => {
            let mut lines: Vec<String> = Vec::new();
            for q in &s.questions {
                let own = labeling_config(&q.schema).replace(
                    "name=\"label\"",
                    &format!("name=\"{}\"", xml_attr(&q.name)),
                );
                for l in own.lines().filter(|l| *l != "<View>" && *l != "</View>") {
                    let object = l.trim_start().starts_with("<Text ") || l.trim_start().starts_with("<Image ");
                    if !(object && lines.iter().any(|x| x == l)) {
                        lines.push(l.to_string());
                    }
                }
            }
            lines.join("\n") + "\n"
        }
        LabelSchema::SingleChoice { options } | LabelSchema::MultiChoice { options } => {
            let multi = matches!(schema, LabelSchema::MultiChoice { .. });
            format!(
                "  <Text name=\"text\" value=\"$text\"/>\n{}",
                choices(options.iter().map(|o| o.value.as_str()).collect(), "text", multi)
            )
        }
        LabelSchema::FreeText { .. } => "  <Text name=\"text\" value=\"$text\"/>\n  <TextArea name=\"label\" toName=\"text\" maxSubmissions=\"1\"/>\n".into(),
        LabelSchema::Rating(r) => format!(
            "  <Text name=\"text\" value=\"$text\"/>\n  <Rating name=\"label\" toName=\"text\" maxRating=\"{}\"/>\n",
            r.max
        ),
        LabelSchema::Pairwise(p) => {
            let mut x = String::new();
            let prompt = p.prompt_field.as_deref().unwrap_or(&p.a_field);
            x.push_str(&format!("  <Text name=\"prompt\" value=\"${}\"/>\n", xml_attr(prompt)));
            x.push_str(&format!("  <Text name=\"a\" value=\"${}\"/>\n", xml_attr(&p.a_field)));
            x.push_str(&format!("  <Text name=\"b\" value=\"${}\"/>\n", xml_attr(&p.b_field)));
            x + &choices(vec!["A", "B", "tie", "both_bad"], "prompt", false)
        }
        LabelSchema::Spans(s) => {
            let f = xml_attr(&s.field);
            let mut x = format!("  <Labels name=\"label\" toName=\"{f}\">\n");
            for l in &s.labels {
                x.push_str(&format!("    <Label value=\"{}\"/>\n", xml_attr(&l.value)));
            }
            x + &format!("  </Labels>\n  <Text name=\"{f}\" value=\"${f}\"/>\n")
        }
        LabelSchema::Boxes(s) => {
            let f = xml_attr(&s.field);
            let mut x = format!("  <Image name=\"{f}\" value=\"${f}\"/>\n  <RectangleLabels name=\"label\" toName=\"{f}\">\n");
            for l in &s.labels {
                x.push_str(&format!("    <Label value=\"{}\"/>\n", xml_attr(&l.value)));
            }
            x + "  </RectangleLabels>\n"
        }
    };
    format!("<View>\n{body}</View>\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn spans_count_utf16_in_label_studio_and_scalars_here() {
        let schema = LabelSchema::parse(&json!({"kind": "spans", "field": "text",
            "labels": [{"value": "PER", "label": "Person"}]}))
        .unwrap();
        // "😀 Ada": the emoji is one scalar value and two UTF-16 units.
        let d = data(json!({"text": "😀 Ada"}));
        let value = json!([{"start": 2, "end": 5, "label": "PER"}]);
        let results = to_results(&schema, &value, &d);
        assert_eq!(
            results[0]["value"],
            json!({"start": 3, "end": 6, "text": "Ada", "labels": ["PER"]})
        );
        assert_eq!(from_results(&schema, &results, &d).unwrap(), Some(value));
        // An offset inside the surrogate pair is refused.
        let bad =
            vec![json!({"type": "labels", "value": {"start": 1, "end": 6, "labels": ["PER"]}})];
        assert!(
            from_results(&schema, &bad, &d)
                .unwrap_err()
                .contains("inside a character")
        );
    }

    #[test]
    fn boxes_are_percent_of_the_image() {
        let schema = LabelSchema::parse(&json!({"kind": "boxes", "field": "image",
            "labels": [{"value": "car", "label": "Car"}]}))
        .unwrap();
        let d = data(json!({"image": "https://e.org/1.jpg", "width": 200, "height": 100}));
        let value = json!([{"x": 10.0, "y": 20.0, "w": 100.0, "h": 50.0, "label": "car"}]);
        let r = to_results(&schema, &value, &d);
        assert_eq!(r[0]["value"]["x"], 5.0);
        assert_eq!(r[0]["value"]["height"], 50.0);
        assert_eq!(r[0]["original_width"], 200.0);
        assert_eq!(from_results(&schema, &r, &d).unwrap(), Some(value));
    }

    #[test]
    fn choices_text_rating_and_pairs_round_trip() {
        for (schema, d, value) in [
            (
                json!({"kind": "single_choice", "options": [{"value": "pos", "label": "P"}]}),
                json!({"text": "x"}),
                json!("pos"),
            ),
            (
                json!({"kind": "multi_choice", "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]}),
                json!({"text": "x"}),
                json!(["a", "b"]),
            ),
            (
                json!({"kind": "free_text"}),
                json!({"text": "x"}),
                json!("hello"),
            ),
            (
                json!({"kind": "rating", "min": 1, "max": 5}),
                json!({"text": "x"}),
                json!(4),
            ),
            (
                json!({"kind": "pairwise", "prompt_field": "prompt", "a_field": "a", "b_field": "b"}),
                json!({"prompt": "p", "a": "1", "b": "2"}),
                json!("B"),
            ),
        ] {
            let schema = LabelSchema::parse(&schema).unwrap();
            let d = data(d);
            let r = to_results(&schema, &value, &d);
            assert_eq!(
                from_results(&schema, &r, &d).unwrap(),
                Some(value.clone()),
                "{r:?}"
            );
        }
    }

    #[test]
    fn questions_name_their_controls() {
        let schema = LabelSchema::parse(&json!({"kind": "questions", "questions": [
            {"name": "sentiment", "schema": {"kind": "single_choice", "options": [{"value": "pos", "label": "P"}]}},
            {"name": "stars", "schema": {"kind": "rating", "min": 1, "max": 5}}]}))
        .unwrap();
        let d = data(json!({"text": "x"}));
        let value = json!({"sentiment": "pos", "stars": 4});
        let r = to_results(&schema, &value, &d);
        assert_eq!(
            (r[0]["from_name"].as_str(), r[1]["from_name"].as_str()),
            (Some("sentiment"), Some("stars"))
        );
        assert_eq!(from_results(&schema, &r, &d).unwrap(), Some(value));
        let x = labeling_config(&schema);
        assert_eq!(x.matches("<Text name=\"text\"").count(), 1, "{x}");
        assert!(
            x.contains("<Choices name=\"sentiment\"") && x.contains("<Rating name=\"stars\""),
            "{x}"
        );
    }

    #[test]
    fn the_config_escapes_values() {
        let schema = LabelSchema::parse(&json!({"kind": "single_choice",
            "options": [{"value": "a\"<b>", "label": "A"}]}))
        .unwrap();
        let x = labeling_config(&schema);
        assert!(x.contains("<Choice value=\"a&quot;&lt;b&gt;\"/>"), "{x}");
        assert!(x.starts_with("<View>\n  <Text name=\"text\" value=\"$text\"/>"));
    }
}
