//! One item's checks, whatever the file format: the two shapes of a record (`data` beside
//! `external_id` and `gold`, or the data itself), the `text` / image and URL fields, the external id
//! (given or derived from the content) and the gold answer against the schema.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::{Fit, LineError, MAX_EXTERNAL_ID, Record};
use crate::domain::layout::{ItemLayout, Show};
use crate::domain::schema::LabelSchema;

pub(super) fn is_image_field(name: &str) -> bool {
    matches!(name, "image" | "image_url")
}

fn is_url_field(name: &str) -> bool {
    name == "url" || name == "image" || name.ends_with("_url")
}

/// Turns one parsed JSON value into a checked record (design.md: a line without `data` is the data
/// itself, with `external_id` and `gold` lifted out).
pub fn record_from_value(line: u64, value: Value, fit: Fit<'_>) -> Result<Record, LineError> {
    let schema = fit.schema;
    let err = |m: String| LineError::new(line, m);
    let Value::Object(mut obj) = value else {
        return Err(err("expected a JSON object".into()));
    };
    if is_label_studio_task(&obj) {
        let own = from_label_studio(obj, schema).map_err(err)?;
        return record_from_value(line, own, fit);
    }
    let external = obj.remove("external_id");
    let gold = obj.remove("gold");
    let predictions = obj.remove("predictions");
    let priority = obj.remove("priority");
    let data = match obj.remove("data") {
        Some(Value::Object(d)) => {
            if let Some(k) = obj.keys().next() {
                return Err(err(format!(
                    "unknown field {k:?} (next to \"data\" only external_id, gold, predictions and priority are allowed)"
                )));
            }
            d
        }
        Some(_) => return Err(err("field \"data\" must be an object".into())),
        None => obj,
    };
    check_data(&data, fit).map_err(err)?;
    let external_id = match external {
        None | Some(Value::Null) => derived_id(&data),
        Some(Value::String(s)) => {
            let s = s.trim().to_string();
            if s.is_empty()
                || s.chars().count() > MAX_EXTERNAL_ID
                || s.chars().any(char::is_control)
            {
                return Err(err(format!(
                    "external_id must have 1 to {MAX_EXTERNAL_ID} printable characters"
                )));
            }
            s
        }
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
        Some(_) => return Err(err("external_id must be a string or a whole number".into())),
    };
    let gold = match gold {
        None | Some(Value::Null) => None,
        Some(g) => {
            let g = schema
                .check_value(&g)
                .map_err(|e| err(format!("gold: {e}")))?;
            if crate::domain::kinds::needs_item(schema) {
                crate::domain::kinds::check_against_item(schema, &g, &Value::Object(data.clone()))
                    .map_err(|e| err(format!("gold: {e}")))?;
            }
            Some(g)
        }
    };
    let predictions = match predictions {
        None | Some(Value::Null) => Vec::new(),
        Some(p) => crate::domain::sampling::parse_predictions(&p, schema).map_err(err)?,
    };
    let priority = match priority {
        None | Some(Value::Null) => 0.0,
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        // CSV cells arrive as text.
        Some(Value::String(s)) if s.trim().is_empty() => 0.0,
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| err(format!("priority: {s:?} is not a number")))?,
        Some(_) => return Err(err("priority: must be a number".into())),
    };
    if !priority.is_finite() {
        return Err(err("priority: must be a finite number".into()));
    }
    Ok(Record {
        line,
        external_id,
        data,
        gold,
        predictions,
        priority,
    })
}

fn check_data(data: &Map<String, Value>, fit: Fit<'_>) -> Result<(), String> {
    if data.is_empty() {
        return Err("the item has no data".into());
    }
    // Kinds that name their fields (the two candidates of a pair…) check those instead.
    match crate::domain::kinds::check_item(fit.schema, data) {
        Some(r) => r?,
        None if fit.layout.is_default() => check_text(data)?,
        None => check_shown(data, fit.layout)?,
    }
    for (k, v) in data {
        if is_url_field(k) {
            let ok = v.as_str().is_some_and(|s| {
                let l = s.trim_start().to_ascii_lowercase();
                (l.starts_with("http://") || l.starts_with("https://"))
                    && !s.chars().any(char::is_control)
            });
            if !ok {
                return Err(format!("field {k:?} must be an http(s) URL"));
            }
        }
        check_strings(k, v)?;
    }
    Ok(())
}

/// The default layout: a `text` string, or an image.
fn check_text(data: &Map<String, Value>) -> Result<(), String> {
    match data.get("text") {
        Some(Value::String(_)) => Ok(()),
        Some(other) => Err(format!(
            "field \"text\" must be a string, not {}",
            type_name(other)
        )),
        None if data.keys().any(|k| is_image_field(k)) => Ok(()),
        None => Err("missing field \"text\" (or \"image_url\")".into()),
    }
}

/// Under a layout: one of the fields it shows as text or as the image (when it names any).
fn check_shown(data: &Map<String, Value>, layout: &ItemLayout) -> Result<(), String> {
    let shown: Vec<&str> = layout
        .fields
        .iter()
        .filter(|f| matches!(f.show, Show::Text | Show::Image))
        .map(|f| f.field.as_str())
        .collect();
    if shown.is_empty() || shown.iter().any(|f| data.contains_key(*f)) {
        return Ok(());
    }
    let names: Vec<String> = shown.iter().map(|f| format!("{f:?}")).collect();
    Err(format!(
        "missing every field the task's layout shows as text or image ({})",
        names.join(", ")
    ))
}

fn check_strings(field: &str, v: &Value) -> Result<(), String> {
    match v {
        Value::String(s) if s.contains('\0') => {
            Err(format!("field {field:?} contains a NUL character"))
        }
        Value::Array(a) => a.iter().try_for_each(|x| check_strings(field, x)),
        Value::Object(o) => o.values().try_for_each(|x| check_strings(field, x)),
        _ => Ok(()),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An external id made from the content, so re-importing the same data is recognised.
fn derived_id(data: &Map<String, Value>) -> String {
    // serde_json's Map keeps keys sorted, so the serialisation is canonical.
    let bytes = serde_json::to_vec(data).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    format!("sha256:{}", &hex::encode(digest)[..32])
}

/// A Label Studio task (`{"id", "data", "annotations", "predictions", "meta", …}`) rather than one
/// of Quorum's own shapes: it has `data` and an `id`, `annotations` or `meta`, or predictions
/// holding Label Studio `result` lists.
fn is_label_studio_task(obj: &Map<String, Value>) -> bool {
    let ls_predictions = obj
        .get("predictions")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .is_some_and(|p| p.get("result").is_some());
    matches!(obj.get("data"), Some(Value::Object(_)))
        && (obj.contains_key("id")
            || obj.contains_key("annotations")
            || obj.contains_key("meta")
            || ls_predictions)
}

/// A Label Studio task in Quorum's own shape: the external id from `meta.external_id` (what
/// Quorum's Label Studio export writes) or the task's `id`; its predictions (each `result` read
/// by `domain::label_studio`, model `label-studio`, version its `model_version`, the score when
/// it is a probability); a `ground_truth` annotation as the gold answer. Other annotations are
/// labels: the label import reads them from the same file.
fn from_label_studio(mut obj: Map<String, Value>, schema: &LabelSchema) -> Result<Value, String> {
    let data = match obj.remove("data") {
        Some(Value::Object(d)) => d,
        _ => return Err("field \"data\" must be an object".into()),
    };
    let external_id = obj
        .get("meta")
        .and_then(|m| m.get("external_id"))
        .cloned()
        .or_else(|| obj.get("id").cloned())
        .unwrap_or(Value::Null);
    let mut predictions = Vec::new();
    for (i, p) in obj
        .get("predictions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let results = p.get("result").and_then(Value::as_array).ok_or_else(|| {
            format!("predictions[{i}]: a Label Studio prediction needs a \"result\" list")
        })?;
        let value = crate::domain::label_studio::from_results(schema, results, &data)
            .map_err(|e| format!("predictions[{i}]: {e}"))?;
        let Some(value) = value else { continue };
        let version = match p.get("model_version") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => "unknown".into(),
        };
        let mut q =
            serde_json::json!({"model": "label-studio", "version": version, "value": value});
        if let Some(score) = p
            .get("score")
            .and_then(Value::as_f64)
            .filter(|x| (0.0..=1.0).contains(x))
        {
            q["score"] = score.into();
        }
        predictions.push(q);
    }
    let mut gold = Value::Null;
    for (i, a) in obj
        .get("annotations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        if a.get("ground_truth").and_then(Value::as_bool) != Some(true)
            || a.get("was_cancelled").and_then(Value::as_bool) == Some(true)
        {
            continue;
        }
        let results = a.get("result").and_then(Value::as_array).ok_or_else(|| {
            format!("annotations[{i}]: a Label Studio annotation needs a \"result\" list")
        })?;
        if let Some(v) = crate::domain::label_studio::from_results(schema, results, &data)
            .map_err(|e| format!("annotations[{i}]: {e}"))?
        {
            gold = v;
            break;
        }
    }
    let mut own = serde_json::json!({"external_id": external_id, "data": data});
    if !predictions.is_empty() {
        own["predictions"] = Value::Array(predictions);
    }
    if !gold.is_null() {
        own["gold"] = gold;
    }
    Ok(own)
}
