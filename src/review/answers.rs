//! A task's labels in the aggregation engine's form, and what the engine says about each rater.
//! Shared by re-resolution, the adjudication queue (whom to trust) and the quality figures.

use std::collections::HashMap;

use serde_json::Value;

use crate::db::{self, tasks::Task};
use crate::domain::aggregate::{self, Answers, Method, Options};
use crate::domain::schema::LabelSchema;
use crate::error::{AppError, Result};
use crate::state::AppState;

/// Every label of a task, and the gold answers, in the engine's form.
pub struct TaskAnswers {
    pub answers: Answers,
    pub gold: HashMap<u32, u32>,
}

/// Builds the engine's input for a single-choice task (or one option of a multi-choice task,
/// with `option` set: the class is then "1" when the answer holds it and "0" when not).
pub async fn load(state: &AppState, task: &Task, option: Option<&str>) -> Result<TaskAnswers> {
    let rows = db::items::labels_of_task(&state.db.pool, task.id).await?;
    let mut answers = Answers::new();
    answers.reserve(rows.len());
    let class_of = |v: &Value| -> Option<String> {
        match option {
            Some(o) => Some(
                if v.as_array().is_some_and(|a| a.iter().any(|x| x == o)) {
                    "1"
                } else {
                    "0"
                }
                .to_string(),
            ),
            None => v.as_str().map(str::to_string),
        }
    };
    let classes: Vec<&str> = match option {
        Some(_) => vec!["0", "1"],
        None => task
            .schema
            .options()
            .iter()
            .map(|o| o.value.as_str())
            .collect(),
    };
    for c in classes {
        answers
            .add_class(c)
            .map_err(|_| AppError::internal("too many classes"))?;
    }
    for r in &rows {
        let v: Value = serde_json::from_str(&r.value_json).unwrap_or(Value::Null);
        if let Some(c) = class_of(&v) {
            answers
                .push(&r.item_id.to_string(), &r.user_id.to_string(), &c)
                .map_err(|_| AppError::internal("too many labels for one resolution run"))?;
        }
    }
    let mut gold = HashMap::new();
    for (item, g) in db::items::gold_of_task(&state.db.pool, task.id).await? {
        let v: Value = serde_json::from_str(&g).unwrap_or(Value::Null);
        let class = class_of(&v).and_then(|c| answers.class_index(&c));
        if let (Some(i), Some(ci)) = (answers.item_index(&item.to_string()), class) {
            gold.insert(i, ci);
        }
    }
    Ok(TaskAnswers { answers, gold })
}

/// Per-rater accuracy (by user id) estimated by Dawid-Skene, for reviewers deciding whom to
/// trust. Empty for tasks that are not single choice.
#[tracing::instrument(skip_all, fields(task = %task.id))]
pub async fn rater_accuracy(state: &AppState, task: &Task) -> Result<HashMap<i64, f64>> {
    if !matches!(task.schema, LabelSchema::SingleChoice { .. }) {
        return Ok(HashMap::new());
    }
    let ta = load(state, task, None).await?;
    if ta.answers.is_empty() {
        return Ok(HashMap::new());
    }
    let out = aggregate::aggregate(
        &ta.answers,
        Method::DawidSkene,
        &ta.gold,
        &Options::default(),
    )
    .map_err(AppError::internal)?;
    let mut acc = HashMap::new();
    for (w, a) in out.worker_accuracy.iter().enumerate() {
        if let Some(id) = ta
            .answers
            .worker_name(w as u32)
            .and_then(|n| n.parse::<i64>().ok())
        {
            acc.insert(id, *a);
        }
    }
    Ok(acc)
}
