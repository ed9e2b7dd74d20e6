//! The outcomes feature's rules: the task's `direct_labels` setting, recording outcomes (all or
//! nothing, idempotent by item and source), and what a direct label does to its item.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::codes;
use crate::auth::AuthCtx;
use crate::db::outcomes::{ItemView, NewOutcome};
use crate::db::tasks::Task;
use crate::db::{self, Db, Tx};
use crate::domain::ids::{TaskId, UserId};
use crate::domain::outcome::{self as domain, DirectLabels, Outcome};
use crate::domain::states::ItemState;
use crate::error::{AppError, Result};
use crate::state::AppState;

/// A task's direct-label setting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectLabelSettings {
    /// `standalone`, `gold` or `compare` (the default).
    pub direct_labels: DirectLabels,
}

/// The task's mode (the default when it never set one).
pub async fn mode_of(ex: impl sqlx::AnyExecutor<'_>, task: TaskId) -> Result<DirectLabels> {
    Ok(db::outcomes::mode(ex, task)
        .await?
        .and_then(|m| DirectLabels::parse(&m))
        .unwrap_or_default())
}

/// The task's setting (admins).
pub async fn settings(state: &AppState, ctx: &AuthCtx, id: TaskId) -> Result<DirectLabelSettings> {
    crate::tasks::service::administered(state, ctx, id).await?;
    Ok(DirectLabelSettings {
        direct_labels: mode_of(&state.db.pool, id).await?,
    })
}

/// Changes it (admins) and applies it at once to every item with a direct label, in one
/// transaction: to `standalone`, they are resolved with it; away from it, the items it resolved
/// go back to their human labels (settled on them, or open for more). Audited.
#[tracing::instrument(skip_all, fields(task = %id, admin = %ctx.user.id))]
pub async fn update(
    state: &AppState,
    ctx: &AuthCtx,
    id: TaskId,
    new: DirectLabelSettings,
    ip: &str,
) -> Result<DirectLabelSettings> {
    let task = crate::tasks::service::administered(state, ctx, id).await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let before = mode_of(&mut *tx, id).await?;
    db::outcomes::set_mode(&mut *tx, id, new.direct_labels.as_str(), now).await?;
    let (resolved, to_adjudication) = if before != new.direct_labels {
        reapply(&mut tx, &task, now).await?
    } else {
        (0, 0)
    };
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "task.direct_labels",
        &format!("task #{id}"),
        &json!({"before": before, "after": new.direct_labels,
            "resolved": resolved, "to_adjudication": to_adjudication}),
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(new)
}

/// What a direct label did to its item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Nothing,
    /// Resolved with the direct value (`standalone`).
    Resolved,
    /// Sent to the adjudication queue: the human consensus disagrees (`compare`).
    ToAdjudication,
}

#[derive(Default)]
struct Changes {
    resolved: usize,
    to_adjudication: usize,
}

impl Changes {
    fn add(&mut self, e: Effect) {
        match e {
            Effect::Resolved => self.resolved += 1,
            Effect::ToAdjudication => self.to_adjudication += 1,
            Effect::Nothing => {}
        }
    }
}

/// Brings one item in line with its direct label under `mode`. Gold items keep their gold
/// answer and a reviewer's decision is final; otherwise:
/// - `standalone`: the item is resolved with the direct value (method `direct`), so leases no
///   longer hand it out;
/// - `gold` and `compare`: an item the direct label resolved goes back to its human labels
///   (settled on them), and under `compare` a human consensus that disagrees with the direct
///   label sends the item to adjudication (see [`consensus_disagrees`], which `settle` asks too).
pub async fn apply_mode(
    tx: &mut Tx,
    task: &Task,
    mode: DirectLabels,
    item: i64,
    now: i64,
) -> Result<Effect> {
    let Some(v) = db::outcomes::item(&mut **tx, item).await? else {
        return Ok(Effect::Nothing);
    };
    let Some(direct) = v.direct_json.as_deref() else {
        return Ok(Effect::Nothing);
    };
    if v.is_gold != 0 || v.method.as_deref() == Some("adjudicated") {
        return Ok(Effect::Nothing);
    }
    let by_direct = v.method.as_deref() == Some("direct");
    match mode {
        DirectLabels::Standalone => {
            if by_direct && v.value_json.as_deref() == Some(direct) {
                return Ok(Effect::Nothing);
            }
            db::items::set_resolution(tx, task.id, item, direct, "direct", 1.0, now).await?;
            Ok(Effect::Resolved)
        }
        DirectLabels::Gold | DirectLabels::Compare => {
            if by_direct {
                db::outcomes::reopen(tx, item).await?;
                // Settling runs the comparison too (it may send the item to adjudication).
                let after = crate::labeling::settle::settle(tx, task, item, now).await?;
                return Ok(if after == ItemState::Adjudication {
                    Effect::ToAdjudication
                } else {
                    Effect::Nothing
                });
            }
            if mode == DirectLabels::Compare && disagrees(task, &v, direct) {
                db::browse::send_to_adjudication(tx, crate::domain::ids::ItemId(item)).await?;
                return Ok(Effect::ToAdjudication);
            }
            Ok(Effect::Nothing)
        }
    }
}

/// Whether the item's human consensus (if it has one) says otherwise than its direct label.
fn disagrees(task: &Task, v: &ItemView, direct: &str) -> bool {
    let consensus = matches!(v.state, ItemState::Complete | ItemState::Resolved)
        && !matches!(
            v.method.as_deref(),
            None | Some("gold" | "direct" | "adjudicated")
        );
    match (&v.value_json, consensus) {
        (Some(value), true) => !domain::same_label(&task.schema, value, direct),
        _ => false,
    }
}

/// Asked by `settle` when the raters' answers resolve an item that has a direct label: true
/// when the task compares direct labels and this consensus disagrees (the item then goes to
/// adjudication instead).
pub async fn consensus_disagrees(
    tx: &mut Tx,
    task: &Task,
    direct_json: &str,
    consensus_json: &str,
) -> std::result::Result<bool, sqlx::Error> {
    if domain::same_label(&task.schema, consensus_json, direct_json) {
        return Ok(false);
    }
    let mode = db::outcomes::mode(&mut **tx, task.id)
        .await?
        .and_then(|m| DirectLabels::parse(&m))
        .unwrap_or_default();
    Ok(mode == DirectLabels::Compare)
}

/// What a batch of outcomes did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, ToSchema)]
pub struct OutcomesRecorded {
    /// Entries read.
    pub received: usize,
    /// New (item, source) outcomes.
    pub stored: usize,
    /// Outcomes whose value changed (each audited with before and after).
    pub replaced: usize,
    /// Entries equal to what was recorded already: nothing done.
    pub unchanged: usize,
    /// Items resolved with their direct label (`standalone`).
    pub resolved: usize,
    /// Items sent to adjudication: the human consensus disagrees (`compare`).
    pub to_adjudication: usize,
}

/// The most outcomes one API request may carry (`quorum outcomes` takes a file of any size).
pub const MAX_BATCH: usize = 10_000;

/// `POST /api/v1/tasks/{id}/outcomes` (admins).
#[tracing::instrument(skip_all, fields(task = %id))]
pub async fn add(
    state: &AppState,
    ctx: &AuthCtx,
    id: TaskId,
    entries: &[Value],
    ip: &str,
) -> Result<OutcomesRecorded> {
    let task = crate::tasks::service::administered(state, ctx, id).await?;
    if entries.len() > MAX_BATCH {
        return Err(AppError::bad_request(
            codes::INVALID_OUTCOME,
            format!("at most {MAX_BATCH} outcomes per request (use `quorum outcomes` for more)"),
        ));
    }
    let who = Actor {
        user: Some(ctx.user.id),
        ip,
    };
    record(
        &state.db,
        &task,
        entries,
        &|i| format!("outcomes[{i}]"),
        who,
        state.now(),
        &|_, _| {},
    )
    .await
}

/// Who records a batch (the CLI has no user).
#[derive(Clone, Copy)]
pub struct Actor<'a> {
    pub user: Option<UserId>,
    pub ip: &'a str,
}

/// Records a batch of outcomes for `task`, all or nothing: every entry is checked first (a bad
/// one is refused naming `name(index)` and its field), then one write transaction joins them to
/// items by external id (an unknown one refuses the whole batch) and applies the task's mode.
/// `progress(done, total)` follows the entries. The API and `quorum outcomes` both come here.
pub async fn record(
    db: &Db,
    task: &Task,
    entries: &[Value],
    name: &(dyn Fn(usize) -> String + Sync),
    who: Actor<'_>,
    now: i64,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<OutcomesRecorded> {
    let bad = |m: String| AppError::bad_request(codes::INVALID_OUTCOME, m);
    if entries.is_empty() {
        return Err(bad("no outcomes given".into()));
    }
    let mut parsed: Vec<Outcome> = Vec::with_capacity(entries.len());
    let mut seen: std::collections::HashMap<(String, String), usize> =
        std::collections::HashMap::new();
    for (i, raw) in entries.iter().enumerate() {
        let o = domain::parse(raw, &task.schema, &name(i), now).map_err(bad)?;
        let key = (o.external_id.clone(), o.source.clone());
        if let Some(&j) = seen.get(&key)
            && parsed[j].value != o.value
        {
            return Err(bad(format!(
                "{}: external_id {:?} and source {:?} were given another value by {}",
                name(i),
                o.external_id,
                o.source,
                name(j)
            )));
        }
        seen.insert(key, i);
        parsed.push(o);
    }
    let total = parsed.len() as u64;
    let mut out = OutcomesRecorded {
        received: parsed.len(),
        ..OutcomesRecorded::default()
    };
    let mut tx = db.begin_write().await?;
    let mode = mode_of(&mut *tx, task.id).await?;
    let mut touched: Vec<i64> = Vec::new();
    for (i, o) in parsed.iter().enumerate() {
        let Some(item) =
            db::outcomes::item_by_external_id(&mut *tx, task.id, &o.external_id).await?
        else {
            return Err(AppError::bad_request(
                codes::UNKNOWN_ITEM,
                format!(
                    "{}.external_id: the task has no item {:?}; nothing was stored",
                    name(i),
                    o.external_id
                ),
            ));
        };
        if crate::domain::kinds::needs_item(&task.schema) {
            let data: Value = serde_json::from_str(&item.data_json).unwrap_or(Value::Null);
            crate::domain::kinds::check_against_item(&task.schema, &o.value, &data)
                .map_err(|e| bad(format!("{}.value: {e}", name(i))))?;
        }
        let value_json = o.value.to_string();
        let before = db::outcomes::value_of(&mut *tx, item.id, &o.source).await?;
        match &before {
            Some(b) if *b == value_json => out.unchanged += 1,
            _ => {
                db::outcomes::upsert(
                    &mut *tx,
                    &NewOutcome {
                        task: task.id,
                        item: item.id,
                        source: &o.source,
                        value_json: &value_json,
                        observed_at: o.observed_at,
                    },
                    now,
                )
                .await?;
                if let Some(b) = before {
                    out.replaced += 1;
                    let before: Value = serde_json::from_str(&b).unwrap_or(Value::Null);
                    db::audit::record(
                        &mut *tx,
                        who.user,
                        "item.outcome",
                        &format!("item #{}", item.id),
                        &json!({"source": o.source, "value": {"before": before, "after": o.value}}),
                        who.ip,
                        now,
                    )
                    .await?;
                } else {
                    out.stored += 1;
                }
                if !touched.contains(&item.id) {
                    touched.push(item.id);
                }
            }
        }
        progress(i as u64 + 1, total);
    }
    let mut changed = Changes::default();
    for item in touched {
        db::outcomes::refresh_direct(&mut tx, item).await?;
        changed.add(apply_mode(&mut tx, task, mode, item, now).await?);
    }
    out.resolved = changed.resolved;
    out.to_adjudication = changed.to_adjudication;
    tx.commit().await?;
    tracing::info!(
        task = %task.id,
        stored = out.stored,
        replaced = out.replaced,
        resolved = out.resolved,
        to_adjudication = out.to_adjudication,
        "outcomes recorded"
    );
    Ok(out)
}

/// The entries of a request body: a JSON array of outcomes, `{"outcomes": [...]}`, or one
/// outcome object.
pub fn entries_of(body: Value) -> Result<Vec<Value>> {
    match body {
        Value::Array(a) => Ok(a),
        Value::Object(mut o) if o.contains_key("outcomes") => match o.remove("outcomes") {
            Some(Value::Array(a)) => Ok(a),
            _ => Err(AppError::bad_request(
                codes::INVALID_OUTCOME,
                "outcomes: must be an array of {external_id, value, source, observed_at}",
            )),
        },
        Value::Object(o) => Ok(vec![Value::Object(o)]),
        _ => Err(AppError::bad_request(
            codes::INVALID_OUTCOME,
            "the body must be an outcome object, an array of them, or {\"outcomes\": [...]}",
        )),
    }
}

/// What direct labels tell about a task: how many items have one, and how often human
/// consensus, direct labels and each model version agree on the items they share.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SourceFigures {
    /// The task's setting.
    pub direct_labels: DirectLabels,
    /// Items with a direct label.
    pub direct_items: u64,
    /// Every pair of `consensus`, `direct` and `model:version` (in that order).
    pub pairs: Vec<domain::SourceAgreement>,
}

/// The figures (for the quality page and `GET /api/v1/tasks/{id}/quality`).
pub async fn figures(ex: impl sqlx::AnyExecutor<'_> + Copy, task: &Task) -> Result<SourceFigures> {
    use std::collections::HashMap;
    let direct: HashMap<i64, String> = db::outcomes::direct_of_task(ex, task.id)
        .await?
        .into_iter()
        .collect();
    let consensus: HashMap<i64, String> = db::outcomes::consensus_of_task(ex, task.id)
        .await?
        .into_iter()
        .collect();
    let direct_items = direct.len() as u64;
    let mut sources = vec![
        ("consensus".to_string(), consensus),
        ("direct".to_string(), direct),
    ];
    for (model, version, item, value) in db::outcomes::predictions_of_task(ex, task.id).await? {
        let name = if version.is_empty() {
            model
        } else {
            format!("{model}:{version}")
        };
        // Rows come ordered by model and version: a new name starts a new source.
        let models = sources.len() > 2;
        match sources.last_mut() {
            Some((n, m)) if models && *n == name => {
                m.insert(item, value);
            }
            _ => sources.push((name, HashMap::from([(item, value)]))),
        }
    }
    Ok(SourceFigures {
        direct_labels: mode_of(ex, task.id).await?,
        direct_items,
        pairs: domain::pairwise(&task.schema, &sources),
    })
}

/// Applies the task's mode again to every item with a direct label (after a re-resolution
/// changed consensus labels wholesale); returns what it did.
pub async fn reapply(tx: &mut Tx, task: &Task, now: i64) -> Result<(usize, usize)> {
    let mode = mode_of(&mut **tx, task.id).await?;
    let mut changed = Changes::default();
    for item in db::outcomes::items_with_direct(&mut **tx, task.id).await? {
        changed.add(apply_mode(tx, task, mode, item, now).await?);
    }
    Ok((changed.resolved, changed.to_adjudication))
}
