//! The validation feature's rules: a task's anomaly policy, drift thresholds and item schema;
//! what an import does with them (`plan` before the parse, `rejection` after it, `record` in the
//! import's transaction); and the events webhooks will carry (`import_finished`).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::codes;
use crate::auth::AuthCtx;
use crate::db::validation::{NewImportStats, ValidationRow};
use crate::db::{self, Db, Tx};
use crate::domain::ids::{ImportId, TaskId};
use crate::domain::validation::{self as domain, BatchReport, Drift, ItemSchema, Thresholds};
use crate::error::{AppError, Result};
use crate::state::AppState;

/// What a later import does with items that break the item schema.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyPolicy {
    /// Refuse the whole import (nothing stored), answering with the anomalies.
    Reject,
    /// Store every item and report the anomalies (the default).
    #[default]
    Warn,
    /// Store the clean items and hold the anomalous ones aside for an admin to release or discard.
    Quarantine,
}

impl AnomalyPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyPolicy::Reject => "reject",
            AnomalyPolicy::Warn => "warn",
            AnomalyPolicy::Quarantine => "quarantine",
        }
    }

    pub fn parse(s: &str) -> Option<AnomalyPolicy> {
        match s {
            "reject" => Some(AnomalyPolicy::Reject),
            "warn" => Some(AnomalyPolicy::Warn),
            "quarantine" => Some(AnomalyPolicy::Quarantine),
            _ => None,
        }
    }
}

/// A task's validation settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidationSettings {
    /// `reject`, `warn` (default) or `quarantine`.
    pub anomaly_policy: AnomalyPolicy,
    /// An import drifts when a figure is above its threshold (both 0 to 1; default 0.1).
    #[serde(default)]
    pub drift_thresholds: Thresholds,
}

impl ValidationSettings {
    fn of(row: Option<&ValidationRow>) -> ValidationSettings {
        match row {
            None => ValidationSettings {
                anomaly_policy: AnomalyPolicy::Warn,
                drift_thresholds: Thresholds::default(),
            },
            Some(r) => ValidationSettings {
                anomaly_policy: AnomalyPolicy::parse(&r.anomaly_policy).unwrap_or_default(),
                drift_thresholds: Thresholds {
                    categorical: r.categorical_threshold,
                    numeric: r.numeric_threshold,
                },
            },
        }
    }
}

/// `GET /api/v1/tasks/{id}/item-schema`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ItemSchemaView {
    /// Null until the task's first import.
    pub schema: Option<ItemSchema>,
    /// The import it was inferred from (null once edited).
    pub inferred_from_import: Option<i64>,
}

fn stored_schema(row: Option<&ValidationRow>) -> Result<Option<ItemSchema>> {
    match row.and_then(|r| r.schema_json.as_deref()) {
        None => Ok(None),
        Some(s) => serde_json::from_str::<Value>(s)
            .map_err(|e| e.to_string())
            .and_then(|v| ItemSchema::parse(&v))
            .map(Some)
            .map_err(|e| AppError::internal(format!("stored item schema: {e}"))),
    }
}

/// The task's validation settings (admins).
pub async fn settings(state: &AppState, ctx: &AuthCtx, id: TaskId) -> Result<ValidationSettings> {
    crate::tasks::service::administered(state, ctx, id).await?;
    let row = db::validation::settings(&state.db.pool, id).await?;
    Ok(ValidationSettings::of(row.as_ref()))
}

/// Changes them (admins): the next imports follow. Audited.
#[tracing::instrument(skip_all, fields(task = %id, admin = %ctx.user.id))]
pub async fn update_settings(
    state: &AppState,
    ctx: &AuthCtx,
    id: TaskId,
    new: ValidationSettings,
    ip: &str,
) -> Result<ValidationSettings> {
    crate::tasks::service::administered(state, ctx, id).await?;
    let t = new.drift_thresholds;
    for (name, x) in [("categorical", t.categorical), ("numeric", t.numeric)] {
        if !(0.0..=1.0).contains(&x) {
            return Err(AppError::bad_request(
                codes::INVALID_VALIDATION,
                format!("drift_thresholds.{name}: a number from 0 to 1"),
            ));
        }
    }
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    let before = ValidationSettings::of(db::validation::settings(&mut *tx, id).await?.as_ref());
    db::validation::upsert_policy(
        &mut *tx,
        id,
        new.anomaly_policy.as_str(),
        t.categorical,
        t.numeric,
        now,
    )
    .await?;
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "task.validation",
        &format!("task #{id}"),
        &json!({"before": before, "after": new}),
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(new)
}

/// The task's item schema (admins).
pub async fn item_schema(state: &AppState, ctx: &AuthCtx, id: TaskId) -> Result<ItemSchemaView> {
    crate::tasks::service::administered(state, ctx, id).await?;
    let row = db::validation::settings(&state.db.pool, id).await?;
    Ok(ItemSchemaView {
        schema: stored_schema(row.as_ref())?,
        inferred_from_import: row.and_then(|r| r.schema_import_id),
    })
}

/// Replaces it (admins): the next imports are checked against the new one. A bad schema is a
/// 400 naming the field and why; nothing changes. Audited.
#[tracing::instrument(skip_all, fields(task = %id, admin = %ctx.user.id))]
pub async fn set_item_schema(
    state: &AppState,
    ctx: &AuthCtx,
    id: TaskId,
    body: &Value,
    ip: &str,
) -> Result<ItemSchemaView> {
    crate::tasks::service::administered(state, ctx, id).await?;
    let schema = ItemSchema::parse(body)
        .map_err(|e| AppError::bad_request(codes::INVALID_ITEM_SCHEMA, e))?;
    let json = serde_json::to_string(&schema).map_err(AppError::internal)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    let before = stored_schema(db::validation::settings(&mut *tx, id).await?.as_ref())?;
    db::validation::upsert_schema(&mut *tx, id, &json, None, now).await?;
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "task.item_schema",
        &format!("task #{id}"),
        &json!({"before": before, "after": schema}),
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(ItemSchemaView {
        schema: Some(schema),
        inferred_from_import: None,
    })
}

/// What an import checks against, read before it parses.
#[derive(Clone, Debug)]
pub struct Plan {
    pub schema: Option<ItemSchema>,
    pub policy: AnomalyPolicy,
    pub thresholds: Thresholds,
}

impl Plan {
    /// The streaming check the parse feeds (`csv`: CSV cells).
    pub fn batch(&self, csv: bool) -> domain::Batch {
        domain::Batch::new(self.schema.clone(), csv)
    }

    /// Whether the import is checked against an item schema (every import but a task's first).
    pub fn validated(&self) -> bool {
        self.schema.is_some()
    }

    /// Whether anomalous items go to the quarantine instead of the task.
    pub fn quarantines(&self) -> bool {
        self.policy == AnomalyPolicy::Quarantine && self.schema.is_some()
    }
}

/// The task's schema and policy, for an import about to run.
pub async fn plan(db: &Db, task: TaskId) -> Result<Plan> {
    let row = db::validation::settings(&db.pool, task).await?;
    let s = ValidationSettings::of(row.as_ref());
    Ok(Plan {
        schema: stored_schema(row.as_ref())?,
        policy: s.anomaly_policy,
        thresholds: s.drift_thresholds,
    })
}

/// The error that refuses an import under the `reject` policy, when it has anomalies.
pub fn rejection(plan: &Plan, report: &BatchReport) -> Option<AppError> {
    if plan.policy != AnomalyPolicy::Reject || report.anomalies.is_empty() {
        return None;
    }
    let parts: Vec<String> = report
        .anomalies
        .iter()
        .take(5)
        .map(|a| {
            let lines: Vec<String> = a.lines.iter().take(5).map(u64::to_string).collect();
            format!(
                "{}{} ({} item{}, line {})",
                a.kind.as_str(),
                a.field
                    .as_deref()
                    .map(|f| format!(" in {f:?}"))
                    .unwrap_or_default(),
                a.count,
                if a.count == 1 { "" } else { "s" },
                lines.join(", ")
            )
        })
        .collect();
    Some(AppError::ImportRejected {
        message: format!(
            "the task's anomaly policy is reject: {} of {} items break the item schema ({}{}); nothing was stored",
            report.anomalous,
            report.stats.items,
            parts.join("; "),
            if report.anomalies.len() > 5 {
                "; …"
            } else {
                ""
            }
        ),
        anomalies: serde_json::to_value(&report.anomalies).unwrap_or(Value::Null),
    })
}

/// What [`record`] stored.
#[derive(Clone, Debug, Default)]
pub struct Recorded {
    pub drift: Option<Drift>,
    /// The import made the task's item schema (it was the first).
    pub schema_inferred: bool,
}

/// Inside the import's transaction: stores its statistics and anomalies, its drift against the
/// task's previous stored import, and — for the first import — the item schema they suggest.
pub async fn record(
    tx: &mut Tx,
    task: TaskId,
    import: ImportId,
    plan: &Plan,
    report: &BatchReport,
    quarantined: u64,
    now: i64,
) -> Result<Recorded> {
    let previous = db::validation::latest_stats(&mut **tx, task).await?;
    let drift = match previous {
        Some(p) => serde_json::from_str::<domain::ImportStats>(&p.stats_json)
            .ok()
            .map(|before| {
                domain::drift::compare(&before, &report.stats, p.import_id, &plan.thresholds)
            }),
        None => None,
    };
    let stats_json = serde_json::to_string(&report.stats).map_err(AppError::internal)?;
    let anomalies_json = serde_json::to_string(&report.anomalies).map_err(AppError::internal)?;
    let drift_json = drift
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(AppError::internal)?;
    db::validation::insert_stats(
        &mut **tx,
        &NewImportStats {
            import,
            task,
            items: report.stats.items as i64,
            stats_json: &stats_json,
            anomalies_json: &anomalies_json,
            anomalous: report.anomalous as i64,
            quarantined: quarantined as i64,
            drift_json: drift_json.as_deref(),
            drift_score: drift.as_ref().map(|d| d.score),
            drifting: drift.as_ref().is_some_and(|d| d.drifting),
        },
        now,
    )
    .await?;
    // The first import with items makes the schema (re-read here: a concurrent import may have
    // made it since this one began).
    let mut schema_inferred = false;
    let has_schema = db::validation::settings(&mut **tx, task)
        .await?
        .is_some_and(|r| r.schema_json.is_some());
    if !has_schema && report.stats.items > 0 {
        let schema = ItemSchema::infer(&report.stats);
        let json = serde_json::to_string(&schema).map_err(AppError::internal)?;
        db::validation::upsert_schema(&mut **tx, task, &json, Some(import), now).await?;
        schema_inferred = true;
    }
    Ok(Recorded {
        drift,
        schema_inferred,
    })
}

/// Called once an import is committed. The hook for webhooks (issue 12): emit
/// `import.finished` here with the anomaly counts, and `drift.detected` when `drift` says so.
/// Today it only logs both events.
pub fn import_finished(
    task: TaskId,
    import: ImportId,
    imported: u64,
    anomalous: u64,
    quarantined: u64,
    drift: Option<&Drift>,
) {
    tracing::info!(event = "import.finished", %task, import = import.0, imported, anomalous, quarantined);
    if let Some(d) = drift.filter(|d| d.drifting) {
        tracing::info!(event = "drift.detected", %task, import = import.0, against = d.against_import, score = d.score);
    }
}
