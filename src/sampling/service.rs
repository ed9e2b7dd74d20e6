//! The sampling feature's rules: settings, storing predictions, what leasing orders by, and the
//! prediction figures.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::codes;
use crate::auth::AuthCtx;
use crate::db::sampling::Rekey;
use crate::db::sampling::{NewPrediction, SamplingRow};
use crate::db::shards::PickOrder;
use crate::db::tasks::Task;
use crate::db::{self, Tx};
use crate::domain::ids::{ImportId, ItemId, TaskId, UserId};
use crate::domain::sampling::{self as domain, Measure, Prediction, Sampling};
use crate::error::{AppError, Result};
use crate::state::AppState;

/// A task's sampling settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SamplingSettings {
    /// `fullest_first` (default), `fifo`, `random`, `priority` or `uncertainty`.
    pub sampling: Sampling,
    /// For `uncertainty`: `least_confidence` (default), `margin` or `entropy`.
    #[serde(default = "default_measure")]
    pub uncertainty: Measure,
    /// The shuffle of `random`: the same seed, the same order.
    #[serde(default)]
    pub seed: i64,
    /// Show raters the latest prediction as a pre-filled, editable answer (off: hidden, e.g. for
    /// unbiased gold).
    #[serde(default)]
    pub show_predictions: bool,
}

fn default_measure() -> Measure {
    Measure::LeastConfidence
}

impl Default for SamplingSettings {
    fn default() -> Self {
        SamplingSettings {
            sampling: Sampling::FullestFirst,
            uncertainty: Measure::LeastConfidence,
            seed: 0,
            show_predictions: false,
        }
    }
}

impl SamplingSettings {
    fn of(row: Option<SamplingRow>) -> SamplingSettings {
        let Some(r) = row else {
            return SamplingSettings::default();
        };
        SamplingSettings {
            sampling: Sampling::parse(&r.sampling).unwrap_or(Sampling::FullestFirst),
            uncertainty: Measure::parse(&r.measure).unwrap_or(Measure::LeastConfidence),
            seed: r.seed,
            show_predictions: r.show_predictions,
        }
    }

    fn order(&self) -> PickOrder {
        match (self.sampling, self.uncertainty) {
            (Sampling::FullestFirst, _) => PickOrder::FullestFirst,
            (Sampling::Fifo, _) => PickOrder::Fifo,
            (Sampling::Random, _) => PickOrder::Random,
            (Sampling::Priority, _) => PickOrder::Priority,
            (Sampling::Uncertainty, Measure::LeastConfidence) => PickOrder::LeastConfidence,
            (Sampling::Uncertainty, Measure::Margin) => PickOrder::Margin,
            (Sampling::Uncertainty, Measure::Entropy) => PickOrder::Entropy,
        }
    }
}

/// The task's sampling settings (admins).
pub async fn settings(state: &AppState, ctx: &AuthCtx, id: TaskId) -> Result<SamplingSettings> {
    crate::tasks::service::administered(state, ctx, id).await?;
    Ok(SamplingSettings::of(
        db::sampling::settings(&state.db.pool, id).await?,
    ))
}

/// Changes them (admins); the next leases follow, leases already out keep their items. A new
/// seed reshuffles the task's items. Audited.
#[tracing::instrument(skip_all, fields(task = %id, admin = %ctx.user.id))]
pub async fn update(
    state: &AppState,
    ctx: &AuthCtx,
    id: TaskId,
    new: SamplingSettings,
    ip: &str,
) -> Result<SamplingSettings> {
    crate::tasks::service::administered(state, ctx, id).await?;
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    let before = SamplingSettings::of(db::sampling::settings(&mut *tx, id).await?);
    db::sampling::upsert_settings(
        &mut *tx,
        id,
        &SamplingRow {
            sampling: new.sampling.as_str().into(),
            measure: new.uncertainty.as_str().into(),
            seed: new.seed,
            show_predictions: new.show_predictions,
        },
        now,
    )
    .await?;
    // The task's items are keyed for its order: rewritten once when the order (or the shuffle's
    // seed) changes; fullest first and FIFO share the key 0.
    let (old_order, new_order) = (before.order(), new.order());
    let seeded = new_order == PickOrder::Random && before.seed != new.seed;
    if (old_order != new_order || seeded) && !(is_unkeyed(old_order) && is_unkeyed(new_order)) {
        db::sampling::rekey(&mut *tx, Rekey::Task(id), new_order, new.seed).await?;
    }
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "task.sampling",
        &format!("task #{id}"),
        &json!({"before": before, "after": new}),
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(new)
}

/// What a lease orders the task's items by.
pub async fn pick_order(ex: impl sqlx::AnyExecutor<'_>, task: TaskId) -> Result<PickOrder> {
    Ok(SamplingSettings::of(db::sampling::settings(ex, task).await?).order())
}

/// Orders that need no key (fullest first reads the label count, FIFO the id).
fn is_unkeyed(order: PickOrder) -> bool {
    matches!(order, PickOrder::FullestFirst | PickOrder::Fifo)
}

/// Gives a finished import's items their pick key under the task's order (nothing to do under
/// fullest first and FIFO: the key 0 they were inserted with is theirs).
pub async fn place_imported(tx: &mut Tx, task: TaskId, import: ImportId) -> Result<()> {
    let settings = SamplingSettings::of(db::sampling::settings(&mut **tx, task).await?);
    let order = settings.order();
    if !is_unkeyed(order) {
        db::sampling::rekey(&mut **tx, Rekey::Import(import), order, settings.seed).await?;
    }
    Ok(())
}

/// Stores an item's predictions (replacing those of the same model and version) and sets its
/// uncertainty from the last one that says how confident it is. False when the task has no item
/// with that external id.
pub async fn store_predictions(
    tx: &mut Tx,
    task: &Task,
    external_id: &str,
    predictions: &[Prediction],
    now: i64,
) -> Result<bool> {
    let mut item: Option<ItemId> = None;
    let mut unc = None;
    for p in predictions {
        let value_json = p.value.to_string();
        let probabilities_json = p
            .probabilities
            .as_ref()
            .map(|m| serde_json::to_string(m).unwrap_or_default());
        let stored = db::sampling::upsert_prediction(
            &mut **tx,
            task.id,
            external_id,
            &NewPrediction {
                model: &p.model,
                version: &p.version,
                value_json: &value_json,
                score: p.score,
                probabilities_json: probabilities_json.as_deref(),
            },
            now,
        )
        .await?;
        let Some(id) = stored else {
            return Ok(false);
        };
        item = Some(id);
        if let Some(u) = domain::uncertainty(p, &task.schema) {
            unc = Some(u);
        }
    }
    if let (Some(id), Some(u)) = (item, unc) {
        db::sampling::set_uncertainty(&mut **tx, id, u.least_confidence, u.margin, u.entropy)
            .await?;
    }
    Ok(true)
}

/// `POST /api/v1/tasks/{id}/predictions`: predictions for existing items, by external id.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictionBatch {
    /// Each `{"external_id", "model", "version", "value", "score" | "probabilities"}`.
    #[schema(value_type = Vec<Object>)]
    pub predictions: Vec<Value>,
}

/// What a batch of predictions did.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PredictionsAdded {
    /// Predictions stored (new, or replacing one of the same model and version).
    pub stored: usize,
    /// Items whose uncertainty they set.
    pub items: usize,
}

/// The most predictions one request may carry.
pub const MAX_BATCH: usize = 10_000;

/// Adds predictions to a task's items (admins), all or nothing: a bad entry or an unknown
/// external id refuses the whole batch, naming the entry.
#[tracing::instrument(skip_all, fields(task = %id))]
pub async fn add(
    state: &AppState,
    ctx: &AuthCtx,
    id: TaskId,
    batch: PredictionBatch,
) -> Result<PredictionsAdded> {
    let task = crate::tasks::service::administered(state, ctx, id).await?;
    if batch.predictions.len() > MAX_BATCH {
        return Err(AppError::bad_request(
            codes::INVALID_PREDICTION,
            format!("at most {MAX_BATCH} predictions per request"),
        ));
    }
    // Checked in full before anything is written.
    let mut by_item: Vec<(String, Vec<Prediction>)> = Vec::new();
    for (i, raw) in batch.predictions.iter().enumerate() {
        let what = format!("predictions[{i}]");
        let external_id = match raw.get("external_id") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(AppError::bad_request(
                    codes::INVALID_PREDICTION,
                    format!("{what}.external_id: missing"),
                ));
            }
        };
        let p = domain::parse_prediction(raw, &task.schema, &what)
            .map_err(|e| AppError::bad_request(codes::INVALID_PREDICTION, e))?;
        match by_item.iter_mut().find(|(e, _)| *e == external_id) {
            Some((_, ps)) => ps.push(p),
            None => by_item.push((external_id, vec![p])),
        }
    }
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    for (external_id, ps) in &by_item {
        if !store_predictions(&mut tx, &task, external_id, ps, now).await? {
            return Err(AppError::bad_request(
                codes::UNKNOWN_ITEM,
                format!(
                    "the task has no item with external_id {external_id:?}; nothing was stored"
                ),
            ));
        }
    }
    tx.commit().await?;
    Ok(PredictionsAdded {
        stored: batch.predictions.len(),
        items: by_item.len(),
    })
}

/// The predictions raters are shown on these items (by position), when the task shows them.
pub async fn shown(
    ex: impl sqlx::AnyExecutor<'_> + Copy,
    task: TaskId,
    items: &[ItemId],
) -> Result<Vec<Option<Value>>> {
    let settings = SamplingSettings::of(db::sampling::settings(ex, task).await?);
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(if settings.show_predictions {
            db::sampling::latest(ex, *item)
                .await?
                .and_then(|p| serde_json::from_str::<Value>(&p.value_json).ok())
        } else {
            None
        });
    }
    Ok(out)
}

/// Records whether a submitted answer kept the prediction its rater was shown (nothing when the
/// task hides predictions or the item has none).
pub async fn record_kept(
    tx: &mut Tx,
    task: TaskId,
    item: ItemId,
    user: UserId,
    value_json: &str,
) -> std::result::Result<(), sqlx::Error> {
    let settings = SamplingSettings::of(db::sampling::settings(&mut **tx, task).await?);
    if !settings.show_predictions {
        return Ok(());
    }
    let Some(p) = db::sampling::latest(&mut **tx, item).await? else {
        return Ok(());
    };
    let shown: Option<Value> = serde_json::from_str(&p.value_json).ok();
    db::sampling::set_kept(&mut **tx, item, user, kept(shown.as_ref(), value_json)).await?;
    Ok(())
}

/// Whether the answer a rater gave (canonical JSON) is the prediction they were shown.
pub fn kept(shown: Option<&Value>, value_json: &str) -> bool {
    let given: Option<Value> = serde_json::from_str(value_json).ok();
    shown.is_some() && shown == given.as_ref()
}

/// One model version against the final labels.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ModelAgreement {
    pub model: String,
    pub version: String,
    /// Items it predicted that have a final label.
    pub items: i64,
    /// Share of those where it equals the final label.
    pub agreement: f64,
}

/// What predictions tell about a task: each model version against the final labels, and how
/// often raters kept the prediction they were shown (anchoring shows as a high keep rate with a
/// low model agreement).
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PredictionFigures {
    pub models: Vec<ModelAgreement>,
    /// Labels given with a prediction shown.
    pub shown: i64,
    /// Of those, answers equal to the prediction.
    pub kept: i64,
    pub keep_rate: Option<f64>,
}

pub async fn figures(
    ex: impl sqlx::AnyExecutor<'_> + Copy,
    task: TaskId,
) -> Result<PredictionFigures> {
    let models = db::sampling::model_agreement(ex, task)
        .await?
        .into_iter()
        .map(|(model, version, items, agree)| ModelAgreement {
            model,
            version,
            items,
            agreement: if items > 0 {
                agree as f64 / items as f64
            } else {
                0.0
            },
        })
        .collect();
    let (shown, kept) = db::sampling::keep_rate(ex, task).await?;
    Ok(PredictionFigures {
        models,
        shown,
        kept,
        keep_rate: (shown > 0).then(|| kept as f64 / shown as f64),
    })
}
