//! A task's settings as clients send them (`TaskRequest`, `TaskPatch`) and the checks they pass
//! before they are stored. Every message names the field it is about.

use serde::Deserialize;
use serde_json::Value;

use crate::db::tasks::{QualitySettings, TaskSettings};
use crate::domain::resolution_method::ResolutionMethod;
use crate::domain::states::TaskState;
use crate::error::{AppError, Result};
use crate::tasks::codes;

/// The most Markdown a task's instructions may hold.
const MAX_INSTRUCTIONS: usize = 200_000;

/// The resolution methods a task may use: the aggregation engines, by their stored names.
pub fn method_names() -> Vec<&'static str> {
    ResolutionMethod::ENGINES
        .iter()
        .map(|m| m.as_str())
        .collect()
}

/// `POST /api/v1/tasks` (and the new-task form).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskRequest {
    pub name: String,
    /// Markdown.
    #[serde(default)]
    pub instructions: String,
    /// The label schema, e.g. `{"kind": "single_choice", "options": [...]}`.
    #[schema(value_type = Object)]
    pub schema: Value,
    pub overlap: Option<i64>,
    pub max_overlap: Option<i64>,
    pub agreement: Option<f64>,
    pub shard_size: Option<i64>,
    pub lease_minutes: Option<i64>,
    /// `draft` (the default), `active`, `paused` or `archived`.
    pub state: Option<String>,
    pub gold_ratio: Option<f64>,
    pub resolution_method: Option<String>,
    pub qualification_items: Option<i64>,
    pub qualification_pass: Option<f64>,
    pub gold_window: Option<i64>,
    pub gold_min_accuracy: Option<f64>,
}

/// `PATCH /api/v1/tasks/{id}`: every field optional.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    pub name: Option<String>,
    pub instructions: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub schema: Option<Value>,
    pub overlap: Option<i64>,
    pub max_overlap: Option<i64>,
    pub agreement: Option<f64>,
    pub shard_size: Option<i64>,
    pub lease_minutes: Option<i64>,
    pub state: Option<String>,
    pub gold_ratio: Option<f64>,
    pub resolution_method: Option<String>,
    pub qualification_items: Option<i64>,
    pub qualification_pass: Option<f64>,
    pub gold_window: Option<i64>,
    pub gold_min_accuracy: Option<f64>,
}

fn bad(code: &'static str, msg: impl Into<String>) -> AppError {
    AppError::bad_request(code, msg)
}

/// The state a client named, or `default` when it named none.
pub fn parse_state(state: Option<&str>, default: TaskState) -> Result<TaskState> {
    match state {
        None => Ok(default),
        Some(s) => s.parse().map_err(|_| {
            bad(
                codes::INVALID_STATE,
                "state: draft, active, paused or archived",
            )
        }),
    }
}

/// Checks quality settings.
pub fn check_quality(q: &QualitySettings) -> Result<()> {
    if !ResolutionMethod::ENGINES
        .iter()
        .any(|m| m.as_str() == q.resolution_method)
    {
        return Err(bad(
            codes::INVALID_RESOLUTION_METHOD,
            format!("resolution_method: one of {}", method_names().join(", ")),
        ));
    }
    if !(0..=1000).contains(&q.qualification_items) {
        return Err(bad(
            codes::INVALID_QUALIFICATION_ITEMS,
            "qualification_items: 0 to 1000 gold items",
        ));
    }
    if !(0.0..=1.0).contains(&q.qualification_pass) {
        return Err(bad(
            codes::INVALID_QUALIFICATION_PASS,
            "qualification_pass: a share between 0 and 1",
        ));
    }
    if !(1..=1000).contains(&q.gold_window) {
        return Err(bad(
            codes::INVALID_GOLD_WINDOW,
            "gold_window: 1 to 1000 gold answers",
        ));
    }
    if !(0.0..=1.0).contains(&q.gold_min_accuracy) {
        return Err(bad(
            codes::INVALID_GOLD_MIN_ACCURACY,
            "gold_min_accuracy: a share between 0 and 1 (0 turns the check off)",
        ));
    }
    Ok(())
}

/// Quality settings: what the request gives, the rest from `base`.
pub fn quality_from(
    base: &QualitySettings,
    method: &Option<String>,
    q_items: Option<i64>,
    q_pass: Option<f64>,
    window: Option<i64>,
    min_acc: Option<f64>,
) -> QualitySettings {
    QualitySettings {
        resolution_method: method
            .clone()
            .unwrap_or_else(|| base.resolution_method.clone()),
        qualification_items: q_items.unwrap_or(base.qualification_items),
        qualification_pass: q_pass.unwrap_or(base.qualification_pass),
        gold_window: window.unwrap_or(base.gold_window),
        gold_min_accuracy: min_acc.unwrap_or(base.gold_min_accuracy),
    }
}

/// Checks a complete set of settings.
pub fn check_settings(s: &TaskSettings) -> Result<()> {
    let name_len = s.name.trim().chars().count();
    if name_len == 0 || name_len > 200 {
        return Err(bad(codes::INVALID_NAME, "name: 1 to 200 characters"));
    }
    if !(1..=50).contains(&s.overlap) {
        return Err(bad(
            codes::INVALID_OVERLAP,
            "overlap: 1 to 50 raters per item",
        ));
    }
    if s.max_overlap < s.overlap || s.max_overlap > 100 {
        return Err(bad(
            codes::INVALID_MAX_OVERLAP,
            "max_overlap: at least overlap and at most 100",
        ));
    }
    if !(0.5..=1.0).contains(&s.agreement) {
        return Err(bad(
            codes::INVALID_AGREEMENT,
            "agreement: a share between 0.5 and 1.0 that the leading answer must pass",
        ));
    }
    if !(1..=500).contains(&s.shard_size) {
        return Err(bad(codes::INVALID_SHARD_SIZE, "shard_size: 1 to 500 items"));
    }
    if !(1..=24 * 60).contains(&s.lease_minutes) {
        return Err(bad(
            codes::INVALID_LEASE_MINUTES,
            "lease_minutes: 1 to 1440",
        ));
    }
    if !(0.0..=0.5).contains(&s.gold_ratio) {
        return Err(bad(codes::INVALID_GOLD_RATIO, "gold_ratio: 0 to 0.5"));
    }
    Ok(())
}

/// Checks the size of a task's instructions.
pub fn check_instructions(md: &str) -> Result<()> {
    if md.len() > MAX_INSTRUCTIONS {
        return Err(bad(
            codes::INVALID_INSTRUCTIONS,
            "instructions: at most 200 KB of Markdown",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_parsed_with_their_own_error() {
        assert_eq!(
            parse_state(None, TaskState::Draft).unwrap(),
            TaskState::Draft
        );
        assert_eq!(
            parse_state(Some("paused"), TaskState::Draft).unwrap(),
            TaskState::Paused
        );
        let e = parse_state(Some("gone"), TaskState::Draft).unwrap_err();
        assert_eq!(e.code(), codes::INVALID_STATE);
    }
}
