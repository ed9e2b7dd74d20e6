//! Final labels: re-resolving a whole task with the engine of its choice (majority, Wawa,
//! Dawid-Skene, GLAD; gold items clamped), and reviewers' adjudication.
//!
//! Single-choice answers are aggregated as classes. Multi-choice answers are resolved per option
//! (each option a yes/no question, chosen when its posterior passes one half). Free text is
//! resolved by exact-match majority only; the rest goes to a reviewer.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use crate::auth::AuthCtx;
use crate::db::{self, tasks::Task};
use crate::domain::aggregate::{self, Answers, Method, Options};
use crate::domain::ids::TaskId;
use crate::domain::schema::LabelSchema;
use crate::error::{AppError, Result};
use crate::state::AppState;

pub fn method_of(name: &str) -> Option<Method> {
    match name {
        "majority" | "mv" => Some(Method::Majority),
        "wawa" => Some(Method::Wawa),
        "dawid_skene" | "ds" => Some(Method::DawidSkene),
        "glad" => Some(Method::Glad),
        _ => None,
    }
}

/// Every label of a task, and the gold answers, in the engine's form.
pub struct TaskAnswers {
    pub answers: Answers,
    pub gold: HashMap<u32, u32>,
}

/// Builds the engine's input for a single-choice task (or one option of a multi-choice task,
/// with `option` set: the class is then "1" when the answer holds it and "0" when not).
pub async fn load_answers(
    state: &AppState,
    task: &Task,
    option: Option<&str>,
) -> Result<TaskAnswers> {
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
    match option {
        Some(_) => {
            for c in ["0", "1"] {
                answers
                    .add_class(c)
                    .map_err(|_| AppError::internal("too many classes"))?;
            }
        }
        None => {
            for o in task.schema.options() {
                answers
                    .add_class(&o.value)
                    .map_err(|_| AppError::internal("too many classes"))?;
            }
        }
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

/// What a re-resolution did.
#[derive(Debug, serde::Serialize)]
pub struct Summary {
    pub method: String,
    pub resolved: u64,
    pub unresolved: u64,
    pub iterations: usize,
    pub converged: bool,
}

/// Re-resolves every item that has all its labels (and is not gold or adjudicated) with `method`.
pub async fn reresolve(
    state: &AppState,
    ctx: &AuthCtx,
    task: &Task,
    method_name: &str,
) -> Result<Summary> {
    let method = method_of(method_name).ok_or_else(|| {
        AppError::bad_request(
            "invalid_method",
            "method: majority, wawa, dawid_skene or glad",
        )
    })?;
    let opts = Options::default();
    // item id -> (value, confidence)
    let mut decided: HashMap<i64, (Value, f64)> = HashMap::new();
    let (mut iterations, mut converged) = (0, true);
    match &task.schema {
        LabelSchema::SingleChoice { .. } => {
            let ta = load_answers(state, task, None).await?;
            let out = aggregate::aggregate(&ta.answers, method, &ta.gold, &opts)
                .map_err(AppError::internal)?;
            iterations = out.iterations;
            converged = out.converged;
            for r in &out.items {
                let (Some(c), Some(name)) = (r.class, ta.answers.item_name(r.item)) else {
                    continue;
                };
                if let (Ok(id), Some(class)) = (name.parse::<i64>(), ta.answers.class_name(c)) {
                    decided.insert(id, (Value::String(class.to_string()), r.confidence));
                }
            }
        }
        LabelSchema::MultiChoice { options } => {
            // item -> (chosen options in schema order, product of per-option confidences)
            let mut per_item: BTreeMap<i64, (Vec<Value>, f64, bool)> = BTreeMap::new();
            for o in options {
                let ta = load_answers(state, task, Some(&o.value)).await?;
                let out = aggregate::aggregate(&ta.answers, method, &ta.gold, &opts)
                    .map_err(AppError::internal)?;
                iterations = iterations.max(out.iterations);
                converged &= out.converged;
                for r in &out.items {
                    let Some(id) = ta
                        .answers
                        .item_name(r.item)
                        .and_then(|n| n.parse::<i64>().ok())
                    else {
                        continue;
                    };
                    let entry = per_item.entry(id).or_insert((Vec::new(), 1.0, true));
                    match r.class.and_then(|c| ta.answers.class_name(c)) {
                        Some("1") => entry.0.push(Value::String(o.value.clone())),
                        Some(_) => {}
                        None => entry.2 = false,
                    }
                    entry.1 *= r.confidence;
                }
            }
            for (id, (chosen, conf, ok)) in per_item {
                if ok {
                    decided.insert(id, (Value::Array(chosen), conf));
                }
            }
        }
        LabelSchema::FreeText { .. } => {
            if method != Method::Majority {
                return Err(AppError::bad_request(
                    "invalid_method",
                    "free-text tasks resolve by exact-match majority only",
                ));
            }
        }
    }
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let candidates = db::items::resolvable(&mut *tx, task.id).await?;
    let (mut resolved, mut unresolved) = (0u64, 0u64);
    for item in candidates {
        let decision =
            if matches!(task.schema, LabelSchema::FreeText { .. }) || method == Method::Majority {
                // Majority is what settle() computes as labels arrive; run it again for consistency.
                let values: Vec<Value> = db::items::values_of(&mut *tx, item)
                    .await?
                    .iter()
                    .filter_map(|v| serde_json::from_str(v).ok())
                    .collect();
                match crate::domain::resolve::decide(&values, task.agreement, 0, 0) {
                    crate::domain::resolve::Decision::Resolved {
                        value, confidence, ..
                    } => Some((value, confidence)),
                    _ => None,
                }
            } else {
                decided.get(&item).cloned()
            };
        match decision {
            Some((value, confidence)) => {
                db::items::set_resolution(
                    &mut tx,
                    task.id,
                    item,
                    &value.to_string(),
                    method_name,
                    confidence,
                    now,
                )
                .await?;
                resolved += 1;
            }
            None => unresolved += 1,
        }
    }
    let detail = json!({"method": method_name, "resolved": resolved, "unresolved": unresolved});
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "task.resolve",
        &format!("task #{}", task.id),
        &detail,
        "",
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Summary {
        method: method_name.to_string(),
        resolved,
        unresolved,
        iterations,
        converged,
    })
}

/// A reviewer's final answer for an item in the queue (or any item, to overrule).
pub async fn adjudicate(
    state: &AppState,
    ctx: &AuthCtx,
    item_id: i64,
    value: &Value,
    version: Option<i64>,
) -> Result<Value> {
    let item = db::review::item(&state.db.pool, item_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let task = db::tasks::get(&state.db.pool, TaskId(item.task_id))
        .await?
        .ok_or(AppError::NotFound)?;
    let value = task
        .schema
        .check_value(value)
        .map_err(|e| AppError::bad_request("invalid_value", e))?;
    let version = version.unwrap_or(item.version);
    let votes = db::review::votes(&state.db.pool, item_id).await?;
    let counts = crate::domain::resolve::count_votes(
        votes
            .iter()
            .filter_map(|v| serde_json::from_str::<Value>(&v.value_json).ok())
            .collect::<Vec<_>>()
            .iter(),
    );
    let votes_json = serde_json::to_string(&counts).unwrap_or_default();
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let d = db::review::Decision {
        item: item_id,
        task: task.id,
        version,
        value_json: &value.to_string(),
        votes_json: &votes_json,
        by: ctx.user.id,
    };
    if !db::review::adjudicate(&mut tx, &d, now).await? {
        return Err(AppError::conflict(
            "stale_version",
            "someone else changed this item's resolution first; reload to see it",
        ));
    }
    let detail = json!({"item": item_id, "value": value});
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "item.adjudicate",
        &format!("task #{}", task.id),
        &detail,
        "",
        now,
    )
    .await?;
    tx.commit().await?;
    let next = db::review::queue(&state.db.pool, task.id, 1)
        .await?
        .first()
        .map(|i| i.id);
    Ok(
        json!({"item_id": item_id, "value": value, "method": "adjudicated", "resolved_by": ctx.user.username,
        "version": version + 1, "next_item_id": next}),
    )
}

/// Sends an item back to the adjudication queue.
pub async fn reopen(
    state: &AppState,
    ctx: &AuthCtx,
    item_id: i64,
    version: Option<i64>,
) -> Result<Value> {
    let item = db::review::item(&state.db.pool, item_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let version = version.unwrap_or(item.version);
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if !db::review::reopen(&mut tx, item_id, version).await? {
        return Err(AppError::conflict(
            "stale_version",
            "the item changed meanwhile; reload to see it",
        ));
    }
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "item.reopen",
        &format!("task #{}", item.task_id),
        &json!({"item": item_id}),
        "",
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(json!({"item_id": item_id, "state": "adjudication", "version": version + 1}))
}

/// Per-rater accuracy estimated by Dawid-Skene (for reviewers deciding whom to trust).
pub async fn rater_accuracy(state: &AppState, task: &Task) -> Result<HashMap<i64, f64>> {
    if !matches!(task.schema, LabelSchema::SingleChoice { .. }) {
        return Ok(HashMap::new());
    }
    let ta = load_answers(state, task, None).await?;
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

/// Lifts a rater's pause in a task (and waives a failed qualification); returns the username.
/// An unknown task or user is a 404.
pub async fn unpause(
    state: &AppState,
    ctx: &AuthCtx,
    task: &str,
    username: &str,
) -> Result<String> {
    let task: i64 = task.parse().map_err(|_| AppError::NotFound)?;
    let task = db::tasks::get(&state.db.pool, TaskId(task))
        .await?
        .ok_or(AppError::NotFound)?;
    let user = db::users::by_username(&state.db.pool, &username.to_lowercase())
        .await?
        .ok_or(AppError::NotFound)?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    db::quality::set_status(
        &mut *tx,
        task.id,
        user.id,
        false,
        true,
        "unpaused by an admin",
        Some(ctx.user.id),
        now,
    )
    .await?;
    let detail = json!({"user": user.username});
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "rater.unpause",
        &format!("task #{}", task.id),
        &detail,
        "",
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(user.username)
}
