//! What the task's validation page shows, read in one place: the settings, the item schema, the
//! drift chart over the last imports, each import's figures, the latest import's per-field
//! statistics and the quarantine. The page renders these numbers; it reads nothing itself.

use crate::auth::AuthCtx;
use crate::clock::format_ms;
use crate::db::{self, tasks::Task};
use crate::domain::ids::TaskId;
use crate::domain::validation::{Anomaly, Drift, ImportStats, ItemSchema};
use crate::error::Result;
use crate::http::page::PageRequest;
use crate::state::AppState;

use super::quarantine::{self, QuarantineList};
use super::service::{self, ValidationSettings};

/// Imports the chart and the table show.
const RECENT: i64 = 30;
const CHART_W: f64 = 600.0;
const PLOT_X: f64 = 44.0;
const PLOT_TOP: f64 = 10.0;
const PLOT_H: f64 = 150.0;

/// One bar of the drift chart (numbers only; the template draws it).
pub struct Bar {
    pub x: String,
    pub y: String,
    pub w: String,
    pub h: String,
    pub label_x: String,
    pub import: i64,
    pub score: String,
    pub drifting: bool,
}

/// The drift chart: one bar per import (its largest figure), and the two thresholds.
pub struct Chart {
    pub bars: Vec<Bar>,
    pub categorical_y: String,
    pub numeric_y: String,
}

/// One import's row.
pub struct ImportFigures {
    pub id: i64,
    pub when: String,
    pub items: i64,
    pub anomalous: i64,
    pub quarantined: i64,
    pub anomalies: Vec<Anomaly>,
    pub drift: Option<Drift>,
}

/// One bar of a field's histogram.
pub struct HistBar {
    pub x: i64,
    pub y: String,
    pub h: String,
    pub title: String,
}

/// One field of the latest import.
pub struct FieldRow {
    pub name: String,
    pub types: String,
    pub present: u64,
    pub missing_pct: String,
    pub empty: u64,
    /// The most frequent values with their share.
    pub top: Vec<(String, String)>,
    /// `numbers`, `length` or empty.
    pub histogram_of: &'static str,
    pub range: String,
    pub histogram: Vec<HistBar>,
}

pub struct ValidationOverview {
    pub t: Task,
    pub settings: ValidationSettings,
    pub schema: Option<ItemSchema>,
    pub schema_json: String,
    pub inferred_from: Option<i64>,
    pub chart: Chart,
    pub imports: Vec<ImportFigures>,
    pub latest: Option<(i64, Vec<FieldRow>)>,
    pub quarantine: QuarantineList,
}

fn y_of(v: f64) -> f64 {
    PLOT_TOP + PLOT_H * (1.0 - v.clamp(0.0, 1.0))
}

fn fmt(x: f64) -> String {
    format!("{x:.1}")
}

fn chart(imports: &[ImportFigures], s: &ValidationSettings) -> Chart {
    let with_drift: Vec<&ImportFigures> = imports.iter().filter(|i| i.drift.is_some()).collect();
    let slot = (CHART_W - PLOT_X - 6.0) / with_drift.len().max(1) as f64;
    let bars = with_drift
        .iter()
        .enumerate()
        .map(|(i, imp)| {
            let (score, drifting) = imp
                .drift
                .as_ref()
                .map(|d| (d.score, d.drifting))
                .unwrap_or((0.0, false));
            let x = PLOT_X + slot * i as f64 + slot * 0.15;
            let y = y_of(score);
            Bar {
                x: fmt(x),
                y: fmt(y),
                w: fmt(slot * 0.7),
                h: fmt((PLOT_TOP + PLOT_H - y).max(1.0)),
                label_x: fmt(x + slot * 0.35),
                import: imp.id,
                score: format!("{score:.3}"),
                drifting,
            }
        })
        .collect();
    Chart {
        bars,
        categorical_y: fmt(y_of(s.drift_thresholds.categorical)),
        numeric_y: fmt(y_of(s.drift_thresholds.numeric)),
    }
}

fn field_rows(stats: &ImportStats) -> Vec<FieldRow> {
    stats
        .fields
        .iter()
        .map(|f| {
            let mut top: Vec<(&String, &u64)> = f.values.iter().flat_map(|v| v.iter()).collect();
            top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let strings = top.iter().map(|(_, n)| **n).sum::<u64>().max(1) as f64;
            let top = if f.is_categorical() {
                top.iter()
                    .take(6)
                    .map(|(v, n)| {
                        (
                            (*v).clone(),
                            format!("{:.0}%", **n as f64 * 100.0 / strings),
                        )
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let (of, numeric) = match (&f.numbers, &f.lengths) {
                (Some(n), _) => ("numbers", Some(n)),
                (None, Some(l)) => ("length", Some(l)),
                _ => ("", None),
            };
            let (range, histogram) = match numeric {
                Some(n) => {
                    let h = n.histogram();
                    let top = h.iter().map(|b| b.2).max().unwrap_or(0).max(1) as f64;
                    let bars = h
                        .iter()
                        .enumerate()
                        .map(|(i, (lo, hi, c))| {
                            let bh = 28.0 * *c as f64 / top;
                            HistBar {
                                x: i as i64 * 12,
                                y: fmt(30.0 - bh),
                                h: fmt(bh),
                                title: format!("{lo:.4}–{hi:.4}: {c}"),
                            }
                        })
                        .collect();
                    (format!("{} – {} (mean {:.4})", n.min, n.max, n.mean), bars)
                }
                None => (String::new(), Vec::new()),
            };
            FieldRow {
                name: f.name.clone(),
                types: f
                    .types
                    .iter()
                    .map(|(t, n)| format!("{t} {n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                present: f.present,
                missing_pct: format!(
                    "{:.1}%",
                    f.missing as f64 * 100.0 / stats.items.max(1) as f64
                ),
                empty: f.empty,
                top,
                histogram_of: of,
                range,
                histogram,
            }
        })
        .collect()
}

/// Everything the validation page shows (admins).
#[tracing::instrument(skip_all, fields(task = %id))]
pub async fn page(state: &AppState, ctx: &AuthCtx, id: TaskId) -> Result<ValidationOverview> {
    let t = crate::tasks::service::administered(state, ctx, id).await?;
    let settings = service::settings(state, ctx, id).await?;
    let view = service::item_schema(state, ctx, id).await?;
    let rows = db::validation::recent_stats(&state.db.pool, id, RECENT).await?;
    let mut latest = None;
    let mut imports = Vec::with_capacity(rows.len());
    for r in rows.iter() {
        imports.push(ImportFigures {
            id: r.import_id,
            when: format_ms(r.created_at),
            items: r.items,
            anomalous: r.anomalous,
            quarantined: r.quarantined,
            anomalies: serde_json::from_str(&r.anomalies_json).unwrap_or_default(),
            drift: r
                .drift_json
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok()),
        });
    }
    if let Some(r) = rows.last()
        && let Ok(stats) = serde_json::from_str::<ImportStats>(&r.stats_json)
    {
        latest = Some((r.import_id, field_rows(&stats)));
    }
    let chart = chart(&imports, &settings);
    imports.reverse();
    let quarantine = quarantine::list(
        state,
        ctx,
        id,
        PageRequest {
            limit: 50,
            after: None,
        },
    )
    .await?;
    Ok(ValidationOverview {
        t,
        schema_json: view
            .schema
            .as_ref()
            .and_then(|s| serde_json::to_string_pretty(s).ok())
            .unwrap_or_default(),
        schema: view.schema,
        inferred_from: view.inferred_from_import,
        settings,
        chart,
        imports,
        latest,
        quarantine,
    })
}
