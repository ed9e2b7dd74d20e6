//! Export pages: a task's snapshot history (with what changed each time, the form that makes a
//! snapshot and the export settings), and one snapshot's dataset card. Who may not export the
//! task gets 404 here too. The work is done by [`crate::export::service`], as for the API.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::extract::ClientIp;
use crate::auth::{AuthCtx, CurrentUser};
use crate::clock::format_ms;
use crate::db::{exports::Export, tasks::Task};
use crate::domain::ids::{ExportId, TaskId};
use crate::domain::role::Role;
use crate::error::{AppError, Result};
use crate::export::service::{self, ExportSettingsPatch};
use crate::export::{ExportRequest, Format, Layout, SplitsRequest, codes};
use crate::http::extract::Id;
use crate::http::pages::{Chrome, html};
use crate::state::AppState;

/// A number for a page: fixed decimals, or a dash when there is none.
fn num(v: &Value, decimals: usize) -> String {
    v.as_f64()
        .map(|x| format!("{x:.decimals$}"))
        .unwrap_or_else(|| "–".into())
}

fn count(v: &Value) -> String {
    v.as_u64()
        .map(|n| n.to_string())
        .unwrap_or_else(|| "–".into())
}

fn size(bytes: i64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}

fn parse(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or(Value::Null)
}

/// What changed since the previous snapshot, for the pages.
pub struct DiffView {
    pub previous: Option<i64>,
    pub added: String,
    pub removed: String,
    pub relabeled: String,
    pub linf: String,
    pub threshold: String,
    pub drift: bool,
}

impl DiffView {
    fn of(e: &Export) -> DiffView {
        let d = parse(&e.diff_json);
        DiffView {
            previous: d["previous_export_id"].as_i64(),
            added: count(&d["rows_added"]),
            removed: count(&d["rows_removed"]),
            relabeled: count(&d["rows_relabeled"]),
            linf: num(&d["label_distribution_linf"], 3),
            threshold: num(&d["drift_threshold"], 3),
            drift: d["drift"] == true,
        }
    }
}

pub struct ExportRowView {
    pub id: i64,
    pub when: String,
    pub by: String,
    pub format: String,
    pub rows: i64,
    pub size: String,
    pub sha_short: String,
    pub diff: DiffView,
}

impl ExportRowView {
    fn of(e: &Export) -> ExportRowView {
        ExportRowView {
            id: e.id.0,
            when: format_ms(e.created_at),
            by: e.created_by_name.clone().unwrap_or_else(|| "cli".into()),
            format: {
                let f = Format::of_export(&e.format, &e.settings_json)
                    .map_or_else(|| e.format.clone(), |f| f.as_str().to_string());
                // A layout shows as "tfrecord (tfx folders)".
                match Layout::of_export(&e.settings_json) {
                    Some(l) => format!("{f} ({} folders)", l.as_str()),
                    None => f,
                }
            },
            rows: e.rows,
            size: size(e.bytes),
            sha_short: e.sha256.chars().take(12).collect(),
            diff: DiffView::of(e),
        }
    }
}

/// The create form's fields, as typed (a refused form comes back as it was).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ExportForm {
    #[serde(default)]
    pub format: String,
    pub only_resolved: Option<String>,
    pub include_votes: Option<String>,
    pub include_gold: Option<String>,
    #[serde(default)]
    pub min_confidence: String,
    #[serde(default)]
    pub train: String,
    #[serde(default)]
    pub validation: String,
    #[serde(default)]
    pub test: String,
    #[serde(default)]
    pub seed: String,
    #[serde(default)]
    pub group_by: String,
    /// `""` (one file), `tfx` or `hf`.
    #[serde(default)]
    pub layout: String,
}

impl ExportForm {
    fn blank() -> ExportForm {
        ExportForm {
            format: "jsonl".into(),
            only_resolved: Some("on".into()),
            include_gold: Some("on".into()),
            train: "0.8".into(),
            validation: "0.1".into(),
            test: "0.1".into(),
            seed: "42".into(),
            ..ExportForm::default()
        }
    }

    fn request(&self) -> Result<ExportRequest> {
        let number = |s: &str, what: &str| -> Result<Option<f64>> {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            s.parse::<f64>().map(Some).map_err(|_| {
                AppError::bad_request(codes::INVALID_EXPORT, format!("{what} must be a number"))
            })
        };
        let train = number(&self.train, "train")?;
        let validation = number(&self.validation, "validation")?;
        let test = number(&self.test, "test")?;
        let splits = if train.is_none() && validation.is_none() && test.is_none() {
            None
        } else {
            let seed = match self.seed.trim() {
                "" => 0,
                s => s.parse::<u64>().map_err(|_| {
                    AppError::bad_request(codes::INVALID_EXPORT, "seed must be a whole number")
                })?,
            };
            Some(SplitsRequest {
                train: train.unwrap_or(0.0),
                validation: validation.unwrap_or(0.0),
                test: test.unwrap_or(0.0),
                seed,
                group_by: Some(self.group_by.trim().to_string()).filter(|g| !g.is_empty()),
            })
        };
        Ok(ExportRequest {
            format: self.format.clone(),
            only_resolved: Some(self.only_resolved.is_some()),
            include_votes: Some(self.include_votes.is_some()),
            include_gold: Some(self.include_gold.is_some()),
            min_confidence: number(&self.min_confidence, "minimum confidence")?,
            splits,
            layout: Some(self.layout.trim().to_string()).filter(|l| !l.is_empty()),
        })
    }
}

#[derive(Template)]
#[template(path = "admin/exports.html")]
struct ExportsPage {
    chrome: Chrome,
    t: Task,
    is_admin: bool,
    reviewers_can_export: bool,
    drift_threshold: String,
    formats: Vec<&'static str>,
    f: ExportForm,
    exports: Vec<ExportRowView>,
    error: Option<String>,
}

/// How many snapshots the history page lists.
const HISTORY_ROWS: i64 = 200;

/// The task's exports page, with the create form as `f` and, after a refused form, the error.
async fn exports_page(
    state: &AppState,
    ctx: &AuthCtx,
    task: TaskId,
    f: ExportForm,
    error: Option<String>,
) -> Result<Response> {
    let h = service::history(state, ctx, task, HISTORY_ROWS).await?;
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    // Only the formats this task's label kind can be written in.
    let formats = Format::ALL
        .iter()
        .filter(|f| f.unfit_for(&h.task.schema).is_none())
        .map(|f| f.as_str())
        .collect();
    let page = ExportsPage {
        chrome: Chrome::of(ctx, "tasks"),
        t: h.task,
        is_admin: ctx.user.role == Role::Admin,
        reviewers_can_export: h.settings.reviewers_can_export,
        drift_threshold: h.settings.drift_threshold.to_string(),
        formats,
        f,
        exports: h.exports.iter().map(ExportRowView::of).collect(),
        error,
    };
    Ok((status, html(&page)?).into_response())
}

/// `GET /admin/tasks/{id}/exports`.
pub async fn page(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    exports_page(&state, &ctx, TaskId(id), ExportForm::blank(), None).await
}

/// `POST /admin/tasks/{id}/exports`: makes a snapshot and shows its card; a refused form comes
/// back as it was typed, with the reason.
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Form(f): Form<ExportForm>,
) -> Result<Response> {
    match service::create(&state, &ctx, TaskId(id), f.request(), ip).await {
        Ok(made) => Ok(Redirect::to(&format!("/admin/exports/{}", made.id)).into_response()),
        Err(AppError::BadRequest { message, .. }) => {
            exports_page(&state, &ctx, TaskId(id), f, Some(message)).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct SettingsForm {
    reviewers_can_export: Option<String>,
    #[serde(default)]
    drift_threshold: String,
}

/// `POST /admin/tasks/{id}/export-settings` (admins).
pub async fn settings(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    Form(f): Form<SettingsForm>,
) -> Result<Response> {
    // Anything that is not a number is refused by the range check, with the same message.
    let threshold = f.drift_threshold.trim().parse::<f64>().unwrap_or(f64::NAN);
    let patch = ExportSettingsPatch {
        reviewers_can_export: Some(f.reviewers_can_export.is_some()),
        drift_threshold: Some(threshold),
    };
    match service::update_settings(&state, &ctx, TaskId(id), Ok(patch)).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/tasks/{id}/exports")).into_response()),
        Err(AppError::BadRequest { message, .. }) => {
            exports_page(&state, &ctx, TaskId(id), ExportForm::blank(), Some(message)).await
        }
        Err(e) => Err(e),
    }
}

pub struct SplitView {
    pub name: String,
    pub rows: String,
    pub unlabeled: String,
    pub labels: Vec<(String, String, String)>,
}

pub struct ColumnView {
    pub name: String,
    pub kind: String,
    pub nullable: bool,
    pub description: String,
}

#[derive(Template)]
#[template(path = "admin/export.html")]
struct ExportPage {
    chrome: Chrome,
    e: ExportRowView,
    task_id: i64,
    task_name: String,
    sha256: String,
    splits: Vec<SplitView>,
    fleiss: String,
    alpha: String,
    agreement_items: String,
    agreement_note: String,
    raters: String,
    labels: String,
    versions: Vec<(String, String)>,
    methods: Vec<(String, String)>,
    gold_rows: String,
    confidence_mean: String,
    confidence_min: String,
    settings: Vec<(String, String)>,
    columns: Vec<ColumnView>,
    options: Vec<(String, String, String)>,
}

fn pairs(v: &Value) -> Vec<(String, String)> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let shown = match v {
                        Value::String(s) => s.clone(),
                        Value::Null => "–".into(),
                        other => other.to_string(),
                    };
                    (k.clone(), shown)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /admin/exports/{id}`: the dataset card of one snapshot.
pub async fn card(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    let (e, t) = service::get(&state, &ctx, ExportId(id)).await?;
    let card = parse(&e.card_json);
    let schema = parse(&e.schema_json);
    let splits = card["splits"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(name, s)| SplitView {
                    name: name.clone(),
                    rows: count(&s["rows"]),
                    unlabeled: count(&s["unlabeled"]),
                    labels: s["labels"]
                        .as_object()
                        .map(|l| {
                            l.iter()
                                .map(|(k, n)| {
                                    let share = s["shares"][k].as_f64().unwrap_or(0.0);
                                    (k.clone(), count(n), format!("{:.1}%", share * 100.0))
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let columns = schema["columns"]
        .as_array()
        .map(|cols| {
            cols.iter()
                .map(|c| ColumnView {
                    name: c["name"].as_str().unwrap_or("").into(),
                    kind: c["type"].as_str().unwrap_or("").into(),
                    nullable: c["nullable"] == true,
                    description: c["description"].as_str().unwrap_or("").into(),
                })
                .collect()
        })
        .unwrap_or_default();
    let options = schema["label_options"]
        .as_array()
        .map(|o| {
            o.iter()
                .map(|o| {
                    (
                        count(&o["index"]),
                        o["value"].as_str().unwrap_or("").into(),
                        o["label"].as_str().unwrap_or("").into(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut settings = pairs(&parse(&e.settings_json));
    settings.retain(|(k, _)| k != "splits");
    settings.extend(
        pairs(&parse(&e.settings_json)["splits"])
            .into_iter()
            .map(|(k, v)| (format!("splits.{k}"), v)),
    );
    let page = ExportPage {
        chrome: Chrome::of(&ctx, "tasks"),
        e: ExportRowView::of(&e),
        task_id: t.id.0,
        task_name: t.name,
        sha256: e.sha256.clone(),
        splits,
        fleiss: num(&card["agreement"]["fleiss_kappa"], 3),
        alpha: num(&card["agreement"]["krippendorff_alpha"], 3),
        agreement_items: count(&card["agreement"]["items"]),
        agreement_note: card["agreement"]["note"].as_str().unwrap_or("").into(),
        raters: count(&card["raters"]),
        labels: count(&card["labels"]),
        versions: pairs(&card["instruction_versions"]),
        methods: pairs(&card["resolution_methods"]),
        gold_rows: count(&card["gold_rows"]),
        confidence_mean: num(&card["confidence"]["mean"], 3),
        confidence_min: num(&card["confidence"]["min"], 3),
        settings,
        columns,
        options,
    };
    Ok(html(&page)?.into_response())
}
