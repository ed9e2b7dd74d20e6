//! Reviewer pages: the review index, a task's adjudication queue, the item page (keyboard-first,
//! `static/review.js`), and the quality page with its charts.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::RequireReviewer;
use crate::db;
use crate::domain::ids::TaskId;
use crate::domain::role::Role;
use crate::error::{AppError, Result};
use crate::http::extract::Id;
use crate::http::pages::{Chrome, html};
use crate::review::quality::{Quality, display};
use crate::state::AppState;

pub struct TaskRow {
    pub id: i64,
    pub name: String,
    pub state: String,
    pub waiting: i64,
}

#[derive(Template)]
#[template(path = "review/index.html")]
struct IndexPage {
    chrome: Chrome,
    tasks: Vec<TaskRow>,
}

pub async fn index(
    State(state): State<AppState>,
    RequireReviewer(ctx): RequireReviewer,
) -> Result<Response> {
    let mut tasks = Vec::new();
    for t in db::tasks::list(&state.db.pool).await? {
        let waiting = db::review::queue_len(&state.db.pool, t.id).await?;
        tasks.push(TaskRow {
            id: t.id.0,
            name: t.name,
            state: t.state.to_string(),
            waiting,
        });
    }
    Ok(html(&IndexPage {
        chrome: Chrome::of(&ctx, "review"),
        tasks,
    })?
    .into_response())
}

pub struct QueueRow {
    pub id: i64,
    pub external_id: String,
    pub snippet: String,
    pub flagged: bool,
    pub votes: i64,
}

#[derive(Template)]
#[template(path = "review/queue.html")]
struct QueuePage {
    chrome: Chrome,
    task_name: String,
    total: i64,
    first: Option<i64>,
    items: Vec<QueueRow>,
}

fn snippet(data_json: &str) -> String {
    let v: Value = serde_json::from_str(data_json).unwrap_or(Value::Null);
    let text = v
        .get("text")
        .and_then(Value::as_str)
        .or_else(|| v.get("image_url").and_then(Value::as_str))
        .unwrap_or("");
    let mut s: String = text.chars().take(120).collect();
    if text.chars().count() > 120 {
        s.push('…');
    }
    s
}

pub async fn queue(
    State(state): State<AppState>,
    RequireReviewer(ctx): RequireReviewer,
    Id(id): Id,
) -> Result<Response> {
    let task = db::tasks::get(&state.db.pool, TaskId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let rows = db::review::queue(&state.db.pool, task.id, 500).await?;
    let items: Vec<QueueRow> = rows
        .iter()
        .map(|r| QueueRow {
            id: r.id,
            external_id: r.external_id.clone(),
            snippet: snippet(&r.data_json),
            flagged: r.flagged != 0,
            votes: r.label_count,
        })
        .collect();
    let page = QueuePage {
        chrome: Chrome::of(&ctx, "review"),
        task_name: task.name,
        total: db::review::queue_len(&state.db.pool, task.id).await?,
        first: items.first().map(|i| i.id),
        items,
    };
    Ok(html(&page)?.into_response())
}

pub struct VoteRow {
    pub rater: String,
    pub answer: String,
    pub accuracy: String,
    pub seconds: String,
}

#[derive(Template)]
#[template(path = "review/item.html")]
struct ItemPage {
    chrome: Chrome,
    task_id: i64,
    task_name: String,
    item_id: i64,
    external_id: String,
    state: String,
    flagged: bool,
    waiting: i64,
    version: i64,
    instructions_html: String,
    votes: Vec<VoteRow>,
    flags: Vec<(String, String)>,
    resolution: Option<(String, String)>,
    page_json: Value,
}

pub async fn item(
    State(state): State<AppState>,
    RequireReviewer(ctx): RequireReviewer,
    Id(id): Id,
) -> Result<Response> {
    let it = db::review::item(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let task = db::tasks::get(&state.db.pool, TaskId(it.task_id))
        .await?
        .ok_or(AppError::NotFound)?;
    let accuracy = crate::review::resolution::rater_accuracy(&state, &task).await?;
    let votes = db::review::votes(&state.db.pool, id)
        .await?
        .into_iter()
        .map(|v| VoteRow {
            rater: v.username,
            answer: display(&v.value_json),
            accuracy: accuracy
                .get(&v.user_id)
                .map(|a| format!("{:.0}%", a * 100.0))
                .unwrap_or_else(|| "–".into()),
            seconds: if v.duration_ms > 0 {
                format!("{:.1}", v.duration_ms as f64 / 1000.0)
            } else {
                "–".into()
            },
        })
        .collect();
    let res = db::review::resolution(&state.db.pool, id).await?;
    let current: Value = res
        .as_ref()
        .and_then(|r| serde_json::from_str(&r.value_json).ok())
        .unwrap_or(Value::Null);
    let ins = db::tasks::instructions(&state.db.pool, task.id, task.instructions_version)
        .await?
        .ok_or(AppError::NotFound)?;
    let page = ItemPage {
        chrome: Chrome::of(&ctx, "review"),
        task_id: task.id.0,
        task_name: task.name.clone(),
        item_id: id,
        external_id: it.external_id.clone(),
        state: it.state.clone(),
        flagged: it.flagged != 0,
        waiting: db::review::queue_len(&state.db.pool, task.id).await?,
        version: it.version,
        instructions_html: ins.html,
        votes,
        flags: db::review::flags(&state.db.pool, id).await?,
        resolution: res.map(|r| {
            (
                display(&r.value_json),
                r.resolved_by.unwrap_or_else(|| r.method.clone()),
            )
        }),
        page_json: json!({
            "item_id": id, "task_id": task.id, "version": it.version, "schema": task.schema,
            "item": serde_json::from_str::<Value>(&it.data_json).unwrap_or(Value::Null), "current": current,
        }),
    };
    Ok(html(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct VersionForm {
    version: i64,
}

pub async fn reopen(
    State(state): State<AppState>,
    RequireReviewer(ctx): RequireReviewer,
    Id(id): Id,
    Form(f): Form<VersionForm>,
) -> Result<Response> {
    crate::review::resolution::reopen(&state, &ctx, id, Some(f.version)).await?;
    Ok(Redirect::to(&format!("/review/items/{id}")).into_response())
}

pub struct RaterView {
    pub username: String,
    pub labels: usize,
    pub gold: usize,
    pub gold_accuracy: String,
    pub estimated: String,
    pub agreement: String,
    pub median: String,
    pub skips: i64,
    pub paused: bool,
    pub reason: String,
}

pub struct HeatCell {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub tx: i64,
    pub ty: i64,
    pub opacity: String,
    pub text_class: &'static str,
    pub show: bool,
    pub row: String,
    pub col: String,
    pub n: u64,
}

pub struct AxisLabel {
    pub x: i64,
    pub y: i64,
    pub anchor: &'static str,
    pub text: String,
}

pub struct Bar {
    pub y: i64,
    pub w: i64,
    pub label: String,
    pub n: u64,
}

pub struct HistBar {
    pub x: i64,
    pub y: i64,
    pub h: i64,
    pub label: String,
    pub n: u64,
}

#[derive(Template)]
#[template(path = "admin/quality.html")]
struct QualityPage {
    chrome: Chrome,
    task_id: i64,
    task_name: String,
    is_admin: bool,
    notice: Option<String>,
    method: String,
    methods: &'static [&'static str],
    q: Quality,
    fleiss: String,
    alpha: String,
    cohen: String,
    raters: Vec<RaterView>,
    heat: Vec<HeatCell>,
    heat_labels: Vec<AxisLabel>,
    heat_size: i64,
    bars: Vec<Bar>,
    bars_height: i64,
    hist: Vec<HistBar>,
    pairs: Vec<(String, String, usize, String)>,
    min_shared: usize,
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.0}%", x * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "–".into())
}

fn heat_map(q: &Quality) -> (Vec<HeatCell>, Vec<AxisLabel>, i64) {
    let n = q.classes.len() as i64;
    if n == 0 || q.confusion.iter().flatten().all(|c| *c == 0) {
        return (Vec::new(), Vec::new(), 0);
    }
    let (margin, cell) = (90i64, (360 / n).clamp(24, 80));
    let max = q
        .confusion
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let mut cells = Vec::new();
    for (i, row) in q.confusion.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            let share = *v as f64 / max;
            let (x, y) = (margin + j as i64 * cell, margin + i as i64 * cell);
            cells.push(HeatCell {
                x,
                y,
                w: cell,
                tx: x + cell / 2 - 6,
                ty: y + cell / 2 + 4,
                opacity: format!("{:.2}", 0.06 + 0.94 * share),
                text_class: if share > 0.5 { "light" } else { "" },
                show: cell >= 28,
                row: q.classes[i].clone(),
                col: q.classes[j].clone(),
                n: *v,
            });
        }
    }
    let mut labels = Vec::new();
    for (k, c) in q.classes.iter().enumerate() {
        let short: String = c.chars().take(12).collect();
        labels.push(AxisLabel {
            x: margin - 6,
            y: margin + k as i64 * cell + cell / 2 + 4,
            anchor: "end",
            text: short.clone(),
        });
        labels.push(AxisLabel {
            x: margin + k as i64 * cell + cell / 2,
            y: margin - 8,
            anchor: "middle",
            text: short,
        });
    }
    (cells, labels, margin + n * cell + 4)
}

#[derive(Deserialize, Default)]
pub struct QualityQuery {
    notice: Option<String>,
}

pub async fn quality(
    State(state): State<AppState>,
    RequireReviewer(ctx): RequireReviewer,
    Id(id): Id,
    Query(qq): Query<QualityQuery>,
) -> Result<Response> {
    let task = db::tasks::get(&state.db.pool, TaskId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    let q = crate::review::quality::compute(&state, &task).await?;
    let raters = q
        .per_rater
        .iter()
        .map(|r| RaterView {
            username: r.username.clone(),
            labels: r.labels,
            gold: r.gold_answers,
            gold_accuracy: pct(r.gold_accuracy),
            estimated: pct(r.estimated_accuracy),
            agreement: pct(r.agreement_with_final),
            median: r
                .median_seconds
                .map(|s| format!("{s:.1}"))
                .unwrap_or_else(|| "–".into()),
            skips: r.skips,
            paused: r.paused,
            reason: r.pause_reason.clone(),
        })
        .collect();
    let (heat, heat_labels, heat_size) = heat_map(&q);
    let max_bar = q.distribution.iter().map(|d| d.1).max().unwrap_or(1).max(1);
    let bars: Vec<Bar> = q
        .distribution
        .iter()
        .take(15)
        .enumerate()
        .map(|(i, (label, n))| Bar {
            y: i as i64 * 24,
            w: (*n * 230 / max_bar) as i64,
            label: label.chars().take(16).collect(),
            n: *n,
        })
        .collect();
    let max_hist = q
        .confidence_histogram
        .iter()
        .copied()
        .max()
        .unwrap_or(1)
        .max(1);
    let hist = q
        .confidence_histogram
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let h = (*n * 100 / max_hist) as i64;
            HistBar {
                x: i as i64 * 40,
                y: 108 - h,
                h,
                label: format!("{:.1}", i as f64 / 10.0),
                n: *n,
            }
        })
        .collect();
    let pairs = q
        .pairs
        .iter()
        .take(50)
        .map(|p| (p.a.clone(), p.b.clone(), p.shared, num(p.kappa)))
        .collect();
    let notice = qq.notice.as_deref().and_then(|n| match n {
        "resolved" => Some("The task was re-resolved.".to_string()),
        "unpaused" => Some("The rater can work again.".to_string()),
        _ => None,
    });
    let page = QualityPage {
        chrome: Chrome::of(&ctx, "review"),
        task_id: id,
        task_name: task.name.clone(),
        is_admin: ctx.user.role == Role::Admin,
        notice,
        method: task.quality.resolution_method.clone(),
        methods: crate::tasks::METHODS,
        fleiss: num(q.fleiss_kappa),
        alpha: num(q.krippendorff_alpha),
        cohen: num(q.mean_cohen_kappa),
        raters,
        heat,
        heat_labels,
        heat_size,
        bars_height: (bars.len() as i64 * 24).max(24),
        bars,
        hist,
        pairs,
        min_shared: crate::review::quality::MIN_SHARED,
        q,
    };
    Ok(html(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct MethodForm {
    method: String,
}

pub async fn resolve(
    State(state): State<AppState>,
    RequireReviewer(ctx): RequireReviewer,
    Id(id): Id,
    Form(f): Form<MethodForm>,
) -> Result<Response> {
    let task = db::tasks::get(&state.db.pool, TaskId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    crate::review::resolution::reresolve(&state, &ctx, &task, &f.method).await?;
    Ok(Redirect::to(&format!("/admin/tasks/{id}/quality?notice=resolved")).into_response())
}

pub async fn unpause(
    State(state): State<AppState>,
    crate::auth::RequireAdmin(ctx): crate::auth::RequireAdmin,
    Path((id, username)): Path<(String, String)>,
) -> Result<Response> {
    crate::review::resolution::unpause(&state, &ctx, &id, &username).await?;
    Ok(Redirect::to(&format!("/admin/tasks/{id}/quality?notice=unpaused")).into_response())
}
