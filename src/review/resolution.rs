//! Final labels: re-resolving a whole task with the engine of its choice (majority, Wawa,
//! Dawid-Skene and its Bayesian and one-coin variants, GLAD, or `auto`, the default, which picks
//! one by evidence and says why; gold items clamped, confidences calibrated on gold), reviewers'
//! adjudication and reopening, and lifting a rater's pause.
//!
//! Single-choice answers are aggregated as classes. Multi-choice answers are resolved per option
//! (each option a yes/no question, chosen when its posterior passes one half). Free text is
//! resolved by exact-match majority only; the rest goes to a reviewer.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::AuthCtx;
use crate::db::{self, tasks::Task};
use crate::domain::aggregate::{self, Method, Options};
use crate::domain::ids::TaskId;
use crate::domain::kinds;
use crate::domain::resolution_method::ResolutionMethod;
use crate::domain::schema::LabelSchema;
use crate::domain::states::ItemState;
use crate::error::{AppError, Result};
use crate::review::{answers, codes};
use crate::state::AppState;

/// What a re-resolution did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ResolveSummary {
    /// The method asked for (or the task's).
    pub method: ResolutionMethod,
    pub resolved: u64,
    pub unresolved: u64,
    pub iterations: usize,
    pub converged: bool,
    /// With `auto`: the method it chose (recorded on the resolutions) and why.
    pub chosen: Option<ChosenMethod>,
    /// How confidences were calibrated on gold, when there was enough gold.
    pub calibration: Option<CalibrationSummary>,
}

/// The method `auto` chose, and the evidence.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ChosenMethod {
    pub method: ResolutionMethod,
    /// `gold_accuracy` (cross-validated on gold) or `held_out_likelihood` (of raters' answers).
    pub criterion: String,
    /// One sentence: what won, by what evidence, every candidate's score.
    pub reason: String,
}

impl ChosenMethod {
    /// From the engine's report.
    pub fn of(choice: &aggregate::Choice) -> ChosenMethod {
        ChosenMethod {
            method: choice.method.into(),
            criterion: match choice.criterion {
                aggregate::Criterion::GoldAccuracy => "gold_accuracy",
                aggregate::Criterion::HeldOutLikelihood => "held_out_likelihood",
            }
            .to_string(),
            reason: choice.reason(),
        }
    }
}

/// Temperature scaling fitted on gold (see `domain::aggregate`).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CalibrationSummary {
    pub temperature: f64,
    pub gold_items: usize,
    /// Expected calibration error of the out-of-fold gold posteriors, before and after.
    pub ece_before: f64,
    pub ece_after: f64,
}

impl CalibrationSummary {
    /// From the engine's report.
    pub fn of(c: &aggregate::Calibration) -> CalibrationSummary {
        CalibrationSummary {
            temperature: c.temperature,
            gold_items: c.gold_items,
            ece_before: c.ece_before,
            ece_after: c.ece_after,
        }
    }
}

/// The engine a re-resolution was asked for: a method name (short names `mv`/`ds` too), or
/// with `None` the task's own method.
fn engine_method(task: &Task, asked: Option<&str>) -> Result<(ResolutionMethod, Method)> {
    let name = asked.unwrap_or(&task.quality.resolution_method);
    ResolutionMethod::parse(name)
        .and_then(|m| m.engine().map(|e| (m, e)))
        .ok_or_else(|| {
            AppError::bad_request(
                codes::INVALID_METHOD,
                "method: auto, majority, wawa, dawid_skene, bayesian_dawid_skene, one_coin or glad",
            )
        })
}

/// Re-resolves every item of the task that has all its labels (and is not gold or
/// adjudicated) with `method` (by name; `None`: the task's method). An unknown task is a 404.
#[tracing::instrument(skip_all, fields(task = %task_id, method = ?method))]
pub async fn reresolve(
    state: &AppState,
    ctx: &AuthCtx,
    task_id: TaskId,
    method: Option<&str>,
) -> Result<ResolveSummary> {
    let task = db::tasks::get(&state.db.pool, task_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (name, asked) = engine_method(&task, method)?;
    // What the resolutions record: the asked method, or the one `auto` chose.
    let mut method = asked;
    let mut chosen = None;
    let mut calibration = None;
    let opts = Options::default();
    // item id -> (value, confidence)
    let mut decided: HashMap<i64, (Value, f64)> = HashMap::new();
    let (mut iterations, mut converged) = (0, true);
    match &task.schema {
        LabelSchema::SingleChoice { .. } => {
            let ta = answers::load(state, &task, None).await?;
            let out = aggregate::aggregate(&ta.answers, asked, &ta.gold, &opts)
                .map_err(AppError::internal)?;
            iterations = out.iterations;
            converged = out.converged;
            method = out.method;
            chosen = out.choice.as_ref().map(ChosenMethod::of);
            calibration = out.calibration.as_ref().map(CalibrationSummary::of);
            for r in &out.items {
                let (Some(c), Some(item)) = (r.class, ta.answers.item_name(r.item)) else {
                    continue;
                };
                if let (Ok(id), Some(class)) = (item.parse::<i64>(), ta.answers.class_name(c)) {
                    decided.insert(id, (Value::String(class.to_string()), r.confidence));
                }
            }
        }
        LabelSchema::MultiChoice { options } => {
            // item -> (chosen options in schema order, product of per-option confidences, all decided)
            let mut per_item: BTreeMap<i64, (Vec<Value>, f64, bool)> = BTreeMap::new();
            // With `auto` every option chooses for itself; the resolutions record the method
            // most options chose (the first such option's reason is reported).
            let mut picks: Vec<(Method, Option<ChosenMethod>)> = Vec::new();
            for o in options {
                let ta = answers::load(state, &task, Some(&o.value)).await?;
                let out = aggregate::aggregate(&ta.answers, asked, &ta.gold, &opts)
                    .map_err(AppError::internal)?;
                iterations = iterations.max(out.iterations);
                converged &= out.converged;
                picks.push((out.method, out.choice.as_ref().map(ChosenMethod::of)));
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
            for (id, (values, conf, ok)) in per_item {
                if ok {
                    decided.insert(id, (Value::Array(values), conf));
                }
            }
            let count = |m: Method| picks.iter().filter(|p| p.0 == m).count();
            if let Some((m, c)) = picks.iter().max_by_key(|p| count(p.0)).cloned() {
                method = m;
                chosen = picks
                    .iter()
                    .find(|p| p.0 == m)
                    .and_then(|p| p.1.clone())
                    .or(c);
            }
        }
        LabelSchema::FreeText { .. } if !matches!(asked, Method::Majority | Method::Auto) => {
            return Err(AppError::bad_request(
                codes::INVALID_METHOD,
                "free-text tasks resolve by exact-match majority only",
            ));
        }
        s if kinds::own_resolution(s) && !matches!(asked, Method::Majority | Method::Auto) => {
            return Err(AppError::bad_request(
                codes::INVALID_METHOD,
                format!(
                    "{} tasks resolve by their own rule only (see docs/label-kinds.md); ask for auto or majority",
                    s.kind()
                ),
            ));
        }
        _ => {}
    }
    let own = kinds::own_resolution(&task.schema);
    if own || matches!(task.schema, LabelSchema::FreeText { .. }) {
        // Free text resolves by exact-match majority, whatever `auto` would say.
        method = Method::Majority;
        chosen = None;
    }
    let recorded = ResolutionMethod::from(method);
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let candidates = db::items::resolvable(&mut *tx, task.id).await?;
    let undecided_before = crate::webhooks::outbox::has_undecided(&mut tx, task.id).await?;
    let (mut resolved, mut unresolved) = (0u64, 0u64);
    for item in candidates {
        let decision = if own
            || matches!(task.schema, LabelSchema::FreeText { .. })
            || method == Method::Majority
        {
            // Majority is what settle() computes as labels arrive; run it again for consistency.
            let values: Vec<Value> = db::items::values_of(&mut *tx, item)
                .await?
                .iter()
                .filter_map(|v| serde_json::from_str(v).ok())
                .collect();
            match kinds::decide(&task.schema, &values, task.agreement, 0, 0) {
                crate::domain::resolve::Decision::Resolved {
                    value,
                    confidence,
                    method,
                    ..
                } => Some((value, confidence, own.then_some(method))),
                _ => None,
            }
        } else {
            decided.get(&item).cloned().map(|(v, c)| (v, c, None))
        };
        match decision {
            Some((value, confidence, own_method)) => {
                db::items::set_resolution(
                    &mut tx,
                    task.id,
                    item,
                    &value.to_string(),
                    own_method.unwrap_or(recorded.as_str()),
                    confidence,
                    now,
                )
                .await?;
                resolved += 1;
            }
            None => unresolved += 1,
        }
    }
    // Where the task compares direct labels, a new consensus that disagrees goes to a reviewer.
    crate::outcomes::service::reapply(&mut tx, &task, now).await?;
    let detail = json!({
        "method": name,
        "chosen": chosen.as_ref().map(|c| c.method),
        "reason": chosen.as_ref().map(|c| c.reason.as_str()),
        "resolved": resolved,
        "unresolved": unresolved,
    });
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
    if undecided_before && resolved > 0 {
        crate::webhooks::item_decided(&mut tx, task.id, &task.name, now).await?;
    }
    tx.commit().await?;
    Ok(ResolveSummary {
        method: name,
        resolved,
        unresolved,
        iterations,
        converged,
        chosen,
        calibration,
    })
}

/// A reviewer's decision, as recorded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Adjudicated {
    pub item_id: i64,
    /// The final label, in the schema's canonical form.
    pub value: Value,
    /// Always `adjudicated`.
    pub method: ResolutionMethod,
    pub resolved_by: String,
    /// The item's version now (send it back to change the decision again).
    pub version: i64,
    /// The next item waiting in the task's queue, if any.
    pub next_item_id: Option<i64>,
}

/// A reviewer's final answer for an item in the queue (or any item, to overrule), made at the
/// item's `version` (default: its current one); a stale version is a 409.
#[tracing::instrument(skip_all, fields(item = item_id, user = %ctx.user.id))]
pub async fn adjudicate(
    state: &AppState,
    ctx: &AuthCtx,
    item_id: i64,
    value: &Value,
    version: Option<i64>,
) -> Result<Adjudicated> {
    let item = db::review::item(&state.db.pool, item_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let task = db::tasks::get(&state.db.pool, item.task_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let value = task
        .schema
        .check_value(value)
        .map_err(|e| AppError::bad_request(codes::INVALID_VALUE, e))?;
    if kinds::needs_item(&task.schema) {
        let data: Value = db::kinds::item_data(&state.db.pool, item_id)
            .await?
            .and_then(|d| serde_json::from_str(&d).ok())
            .unwrap_or(Value::Null);
        kinds::check_against_item(&task.schema, &value, &data)
            .map_err(|e| AppError::bad_request(codes::INVALID_VALUE, e))?;
    }
    let version = version.unwrap_or(item.version);
    let votes = db::review::votes(&state.db.pool, item_id).await?;
    let values: Vec<Value> = votes
        .iter()
        .filter_map(|v| serde_json::from_str::<Value>(&v.value_json).ok())
        .collect();
    let counts = crate::domain::resolve::count_votes(values.iter());
    let votes_json = serde_json::to_string(&counts).map_err(AppError::internal)?;
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
            codes::STALE_VERSION,
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
    if matches!(item.state, ItemState::Open | ItemState::Adjudication) {
        crate::webhooks::item_decided(&mut tx, task.id, &task.name, now).await?;
    }
    tx.commit().await?;
    let next = db::review::queue(&state.db.pool, task.id, None, 1)
        .await?
        .first()
        .map(|i| i.id.0);
    Ok(Adjudicated {
        item_id,
        value,
        method: ResolutionMethod::Adjudicated,
        resolved_by: ctx.user.username.clone(),
        version: version + 1,
        next_item_id: next,
    })
}

/// An item sent back to the queue.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Reopened {
    pub item_id: i64,
    /// Always `adjudication`.
    pub state: String,
    pub version: i64,
}

/// Sends an item back to the adjudication queue, if it is still at `version` (default: its
/// current one); otherwise 409.
#[tracing::instrument(skip_all, fields(item = item_id, user = %ctx.user.id))]
pub async fn reopen(
    state: &AppState,
    ctx: &AuthCtx,
    item_id: i64,
    version: Option<i64>,
) -> Result<Reopened> {
    let item = db::review::item(&state.db.pool, item_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let version = version.unwrap_or(item.version);
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if !db::review::reopen(&mut tx, item_id, version).await? {
        return Err(AppError::conflict(
            codes::STALE_VERSION,
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
    Ok(Reopened {
        item_id,
        state: "adjudication".into(),
        version: version + 1,
    })
}

/// A rater who may work again.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Unpaused {
    pub username: String,
    /// Always false.
    pub paused: bool,
}

/// Lifts a rater's pause in a task (and waives a failed qualification). The task id comes as
/// the path gave it; an unknown task or user is a 404.
#[tracing::instrument(skip_all, fields(task = task, user = %ctx.user.id))]
pub async fn unpause(
    state: &AppState,
    ctx: &AuthCtx,
    task: &str,
    username: &str,
) -> Result<Unpaused> {
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
    Ok(Unpaused {
        username: user.username,
        paused: false,
    })
}
