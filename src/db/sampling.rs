//! A task's sampling settings, model predictions on items, and the item columns the orderings read.

use sqlx::AnyExecutor;

use super::shards::PickOrder;
use crate::domain::ids::{ImportId, ItemId, TaskId};
use crate::domain::sampling::{RANDOM_MODULUS, random_multiplier};

/// A task's row of `task_sampling` (absent: the defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingRow {
    pub sampling: String,
    pub measure: String,
    pub seed: i64,
    pub show_predictions: bool,
}

pub async fn settings(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
) -> Result<Option<SamplingRow>, sqlx::Error> {
    let row: Option<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT sampling, measure, seed, show_predictions FROM task_sampling WHERE task_id = $1",
    )
    .bind(task.0)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|(sampling, measure, seed, show)| SamplingRow {
        sampling,
        measure,
        seed,
        show_predictions: show != 0,
    }))
}

/// Which of `tasks` show raters the model's prediction (their labels record `prediction_kept`).
pub async fn showing_predictions(
    ex: impl AnyExecutor<'_>,
    tasks: &[TaskId],
) -> Result<std::collections::HashSet<TaskId>, sqlx::Error> {
    if tasks.is_empty() {
        return Ok(Default::default());
    }
    let list: Vec<String> = (1..=tasks.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT task_id FROM task_sampling WHERE show_predictions = 1 AND task_id IN ({})",
        list.join(", ")
    );
    let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
    for t in tasks {
        q = q.bind(t.0);
    }
    let ids: Vec<i64> = q.fetch_all(ex).await?;
    Ok(ids.into_iter().map(TaskId).collect())
}

pub async fn upsert_settings(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    s: &SamplingRow,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO task_sampling (task_id, sampling, measure, seed, show_predictions, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (task_id) DO UPDATE SET sampling = excluded.sampling, measure = excluded.measure,
            seed = excluded.seed, show_predictions = excluded.show_predictions, updated_at = excluded.updated_at",
    )
    .bind(task.0)
    .bind(&s.sampling)
    .bind(&s.measure)
    .bind(s.seed)
    .bind(s.show_predictions as i64)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// Which items `rekey` rewrites.
#[derive(Clone, Copy, Debug)]
pub enum Rekey {
    /// Every item of the task (its order changed).
    Task(TaskId),
    /// The items of one import (they arrived under the task's order).
    Import(ImportId),
}

/// Gives items their `pick_key` under `order` (`seed` matters to the random order only: the same
/// permutation as `domain::sampling::random_key`). One UPDATE through the scope's index.
pub async fn rekey(
    ex: impl AnyExecutor<'_>,
    scope: Rekey,
    order: PickOrder,
    seed: i64,
) -> Result<(), sqlx::Error> {
    let (filter, id) = match scope {
        Rekey::Task(t) => ("task_id", t.0),
        Rekey::Import(i) => ("import_id", i.0),
    };
    let sql = format!(
        "UPDATE items SET pick_key = {} WHERE {filter} = $1",
        order.key_sql()
    );
    let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id);
    let q = match order {
        PickOrder::Random => q.bind(random_multiplier(seed)).bind(RANDOM_MODULUS),
        _ => q,
    };
    q.execute(ex).await?;
    Ok(())
}

/// One prediction to store.
pub struct NewPrediction<'a> {
    pub model: &'a str,
    pub version: &'a str,
    pub value_json: &'a str,
    pub score: Option<f64>,
    pub probabilities_json: Option<&'a str>,
}

/// Stores (or replaces) a prediction on the task's item `external_id`; the item's id, or `None`
/// when the task has no such item.
pub async fn upsert_prediction(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    external_id: &str,
    p: &NewPrediction<'_>,
    now: i64,
) -> Result<Option<ItemId>, sqlx::Error> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO predictions (item_id, model, version, value_json, score, probabilities_json, created_at)
         SELECT id, $3, $4, $5, CASE WHEN $6 < 0 THEN NULL ELSE $6 END, $7, $8 FROM items WHERE task_id = $1 AND external_id = $2
         ON CONFLICT (item_id, model, version) DO UPDATE SET value_json = excluded.value_json,
            score = excluded.score, probabilities_json = excluded.probabilities_json,
            created_at = excluded.created_at
         RETURNING item_id",
    )
    .bind(task.0)
    .bind(external_id)
    .bind(p.model)
    .bind(p.version)
    .bind(p.value_json)
    // No score is bound as -1 (scores are 0..1), never as a NULL float: on PostgreSQL the Any
    // driver's NULL is not typed float8, and a statement first prepared with it refuses a number.
    .bind(p.score.unwrap_or(-1.0))
    .bind(p.probabilities_json)
    .bind(now)
    .fetch_optional(ex)
    .await?;
    Ok(id.map(ItemId))
}

/// Sets an item's uncertainty by each measure (-1: no prediction says).
pub async fn set_uncertainty(
    ex: impl AnyExecutor<'_>,
    item: ItemId,
    least_confidence: f64,
    margin: f64,
    entropy: f64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        // The item's pick key follows when its task is ordered by uncertainty (`rekey`'s rule).
        "UPDATE items SET unc_least_confidence = $1, unc_margin = $2, unc_entropy = $3,
            pick_key = COALESCE((
                SELECT CASE ts.measure
                    WHEN 'margin' THEN CASE WHEN $2 < 0 THEN 1 ELSE -$2 END
                    WHEN 'entropy' THEN CASE WHEN $3 < 0 THEN 1 ELSE -$3 END
                    ELSE CASE WHEN $1 < 0 THEN 1 ELSE -$1 END
                END
                FROM task_sampling ts
                WHERE ts.task_id = items.task_id AND ts.sampling = 'uncertainty'), pick_key)
         WHERE id = $4",
    )
    .bind(least_confidence)
    .bind(margin)
    .bind(entropy)
    .bind(item.0)
    .execute(ex)
    .await?;
    Ok(())
}

/// A stored prediction.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct PredictionRow {
    pub item_id: i64,
    pub model: String,
    pub version: String,
    pub value_json: String,
    pub score: Option<f64>,
    pub probabilities_json: Option<String>,
}

/// The latest prediction on an item (the one shown to raters), if any.
pub async fn latest(
    ex: impl AnyExecutor<'_>,
    item: ItemId,
) -> Result<Option<PredictionRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT item_id, model, version, value_json, score, probabilities_json FROM predictions
         WHERE item_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(item.0)
    .fetch_optional(ex)
    .await
}

/// Per model version: items it predicted that have a final label, and on how many it agrees
/// with that label (values compared in canonical JSON).
pub async fn model_agreement(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
) -> Result<Vec<(String, String, i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.model, p.version, COUNT(*),
                CAST(COALESCE(SUM(CASE WHEN p.value_json = r.value_json THEN 1 ELSE 0 END), 0) AS BIGINT)
         FROM predictions p JOIN items i ON i.id = p.item_id JOIN resolutions r ON r.item_id = i.id
         WHERE i.task_id = $1 GROUP BY p.model, p.version ORDER BY p.model, p.version",
    )
    .bind(task.0)
    .fetch_all(ex)
    .await
}

/// Labels given with a prediction shown, and how many kept it.
pub async fn keep_rate(ex: impl AnyExecutor<'_>, task: TaskId) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(prediction_kept), 0) AS BIGINT) FROM labels
         WHERE task_id = $1 AND prediction_kept IS NOT NULL",
    )
    .bind(task.0)
    .fetch_one(ex)
    .await
}

/// Records whether a label kept the prediction its rater was shown.
pub async fn set_kept(
    ex: impl AnyExecutor<'_>,
    item: ItemId,
    user: crate::domain::ids::UserId,
    kept: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE labels SET prediction_kept = $1 WHERE item_id = $2 AND user_id = $3")
        .bind(kept as i64)
        .bind(item.0)
        .bind(user.0)
        .execute(ex)
        .await?;
    Ok(())
}
