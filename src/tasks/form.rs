//! The new/edit task form: its fields as typed (so a refused form comes back as it was) and
//! their translation into the [`TaskRequest`] the service checks.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::tasks::Task;
use crate::error::{AppError, Result};
use crate::tasks::{TaskRequest, codes};

/// The task form's fields, as typed (so a refused form comes back as it was).
#[derive(Clone, Debug, Deserialize)]
pub struct TaskForm {
    pub name: String,
    #[serde(default)]
    pub instructions: String,
    pub kind: String,
    #[serde(default)]
    pub options: String,
    #[serde(default)]
    pub max_length: String,
    /// The schema of the kinds the form has no fields for (rating, pairwise, spans), as JSON.
    #[serde(default)]
    pub schema_json: String,
    pub state: String,
    pub overlap: String,
    pub max_overlap: String,
    pub agreement: String,
    pub shard_size: String,
    pub lease_minutes: String,
    #[serde(default = "zero")]
    pub gold_ratio: String,
    #[serde(default = "majority")]
    pub resolution_method: String,
    #[serde(default = "zero")]
    pub qualification_items: String,
    #[serde(default = "pass")]
    pub qualification_pass: String,
    #[serde(default = "window")]
    pub gold_window: String,
    #[serde(default = "zero")]
    pub gold_min_accuracy: String,
}

fn zero() -> String {
    "0".into()
}
fn majority() -> String {
    // Re-resolution's default: the method chosen by evidence.
    "auto".into()
}
fn pass() -> String {
    "0.8".into()
}
fn window() -> String {
    "10".into()
}

impl TaskForm {
    /// A new task's form, with the usual defaults.
    pub fn blank() -> Self {
        TaskForm {
            name: String::new(),
            instructions: String::new(),
            kind: "single_choice".into(),
            options: "pos, Positive, 1, #2e9e5b\nneg, Negative, 2, #c2372c".into(),
            max_length: "1000".into(),
            schema_json: String::new(),
            state: "draft".into(),
            overlap: "3".into(),
            max_overlap: "5".into(),
            agreement: "0.5".into(),
            shard_size: "20".into(),
            lease_minutes: "30".into(),
            gold_ratio: zero(),
            resolution_method: majority(),
            qualification_items: zero(),
            qualification_pass: pass(),
            gold_window: window(),
            gold_min_accuracy: zero(),
        }
    }

    /// The form of an existing task.
    pub fn of(t: &Task, instructions: String) -> Self {
        let options = t
            .schema
            .options()
            .iter()
            .map(|o| {
                let mut parts = vec![o.value.clone(), o.label.clone()];
                if o.hotkey.is_some() || o.color.is_some() {
                    parts.push(o.hotkey.clone().unwrap_or_default());
                }
                if let Some(c) = &o.color {
                    parts.push(c.clone());
                }
                if o.retired {
                    parts.push("retired".into());
                }
                parts.join(", ")
            })
            .collect::<Vec<_>>()
            .join("\n");
        let max_length = match &t.schema {
            crate::domain::schema::LabelSchema::FreeText { max_length } => max_length.to_string(),
            _ => "1000".into(),
        };
        TaskForm {
            name: t.name.clone(),
            instructions,
            kind: t.schema.kind().into(),
            options,
            max_length,
            schema_json: if matches!(
                t.schema.kind(),
                "single_choice" | "multi_choice" | "free_text"
            ) {
                String::new()
            } else {
                serde_json::to_string_pretty(&t.schema).unwrap_or_default()
            },
            state: t.state.to_string(),
            overlap: t.overlap.to_string(),
            max_overlap: t.max_overlap.to_string(),
            agreement: t.agreement.to_string(),
            shard_size: t.shard_size.to_string(),
            lease_minutes: t.lease_minutes.to_string(),
            gold_ratio: t.gold_ratio.to_string(),
            resolution_method: t.quality.resolution_method.clone(),
            qualification_items: t.quality.qualification_items.to_string(),
            qualification_pass: t.quality.qualification_pass.to_string(),
            gold_window: t.quality.gold_window.to_string(),
            gold_min_accuracy: t.quality.gold_min_accuracy.to_string(),
        }
    }

    /// The label schema the form describes, as JSON for [`crate::domain::schema::LabelSchema::parse`].
    fn schema(&self) -> Result<Value> {
        if matches!(
            self.kind.as_str(),
            "rating" | "pairwise" | "spans" | "boxes"
        ) {
            let mut v: Value = serde_json::from_str(self.schema_json.trim()).map_err(|e| {
                AppError::bad_request(
                    codes::INVALID_SCHEMA,
                    format!("schema (JSON): {e}; see docs/label-kinds.md"),
                )
            })?;
            if let Some(o) = v.as_object_mut() {
                o.insert("kind".into(), Value::String(self.kind.clone()));
            }
            return Ok(v);
        }
        if self.kind == "free_text" {
            let n: u64 = self.max_length.trim().parse().map_err(|_| {
                AppError::bad_request(codes::INVALID_SCHEMA, "max length must be a number")
            })?;
            return Ok(json!({"kind": "free_text", "max_length": n}));
        }
        let mut options = Vec::new();
        for (i, line) in self
            .options
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let mut parts: Vec<&str> = line.split(',').map(str::trim).collect();
            // A last part `retired` keeps the option for existing labels but stops offering it.
            let retired = parts.len() > 1
                && parts
                    .last()
                    .is_some_and(|p| p.eq_ignore_ascii_case("retired"));
            if retired {
                parts.pop();
            }
            let value = parts[0];
            let mut o = json!({"value": value, "label": parts.get(1).filter(|s| !s.is_empty()).copied().unwrap_or(value)});
            if let Some(k) = parts.get(2).filter(|s| !s.is_empty()) {
                o["hotkey"] = (*k).into();
            }
            if let Some(c) = parts.get(3).filter(|s| !s.is_empty()) {
                o["color"] = (*c).into();
            }
            if parts.len() > 4 {
                return Err(AppError::bad_request(
                    codes::INVALID_SCHEMA,
                    format!(
                        "options line {}: at most 4 parts (value, label, hotkey, colour), then optionally `retired`",
                        i + 1
                    ),
                ));
            }
            if retired {
                o["retired"] = true.into();
            }
            options.push(o);
        }
        Ok(json!({"kind": self.kind, "options": options}))
    }

    fn number<T: std::str::FromStr>(s: &str, what: &str) -> Result<T> {
        s.trim().parse().map_err(|_| {
            AppError::bad_request(codes::INVALID_INPUT, format!("{what} must be a number"))
        })
    }

    /// The form as the request the service takes.
    pub fn request(&self) -> Result<TaskRequest> {
        Ok(TaskRequest {
            name: self.name.clone(),
            instructions: self.instructions.clone(),
            schema: self.schema()?,
            overlap: Some(Self::number(&self.overlap, "overlap")?),
            max_overlap: Some(Self::number(&self.max_overlap, "max overlap")?),
            agreement: Some(Self::number(&self.agreement, "agreement")?),
            shard_size: Some(Self::number(&self.shard_size, "shard size")?),
            lease_minutes: Some(Self::number(&self.lease_minutes, "lease")?),
            state: Some(self.state.clone()),
            gold_ratio: Some(Self::number(&self.gold_ratio, "gold ratio")?),
            resolution_method: Some(self.resolution_method.clone()),
            qualification_items: Some(Self::number(
                &self.qualification_items,
                "qualification items",
            )?),
            qualification_pass: Some(Self::number(
                &self.qualification_pass,
                "qualification pass mark",
            )?),
            gold_window: Some(Self::number(&self.gold_window, "gold window")?),
            gold_min_accuracy: Some(Self::number(
                &self.gold_min_accuracy,
                "minimum gold accuracy",
            )?),
        })
    }
}
