//! The quality page of a task (agreement, the per-rater table, the confusion heat map, the label
//! distribution and the confidence histogram, drawn as inline SVG), and its two forms:
//! re-resolve the task, lift a rater's pause.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::{RequireAdmin, RequireReviewer};
use crate::domain::ids::TaskId;
use crate::domain::resolution_method::ResolutionMethod;
use crate::domain::role::Role;
use crate::domain::schema::LabelSchema;
use crate::error::Result;
use crate::http::extract::Id;
use crate::http::pages::{Chrome, html};
use crate::review::quality::{self, MIN_SHARED, Quality};
use crate::review::question_quality::QuestionFigures;
use crate::review::resolution;
use crate::state::AppState;

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

/// One cell of the confusion heat map (SVG coordinates).
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

/// One bar of a question's chart (SVG coordinates), with its figure as text.
pub struct QBar {
    pub y: i64,
    pub w: i64,
    pub label: String,
    pub value: String,
}

/// One question of a `questions` task as the page shows it: its kind's figures as tiles, one
/// bar chart, and per-rater rows where the kind has them.
pub struct QuestionView {
    pub name: String,
    pub prompt: String,
    pub kind: String,
    pub answers: usize,
    pub stats: Vec<(String, String)>,
    pub chart_title: &'static str,
    pub bars: Vec<QBar>,
    pub bars_height: i64,
    pub rater_head: &'static str,
    /// (rater, items, figure)
    pub raters: Vec<(String, usize, String)>,
}

/// Bars scaled to the largest value (`scale`: the value of a full bar; 0 = the largest).
fn qbars(rows: Vec<(String, f64, String)>, scale: f64) -> Vec<QBar> {
    let max = if scale > 0.0 {
        scale
    } else {
        rows.iter().map(|r| r.1).fold(0.0, f64::max).max(1.0)
    };
    rows.into_iter()
        .take(15)
        .enumerate()
        .map(|(i, (label, x, value))| QBar {
            y: i as i64 * 24,
            w: (x / max * 230.0).round().max(0.0) as i64,
            label: label.chars().take(16).collect(),
            value,
        })
        .collect()
}

fn counts(rows: &[(String, u64)]) -> Vec<QBar> {
    qbars(
        rows.iter()
            .map(|(l, n)| (l.clone(), *n as f64, n.to_string()))
            .collect(),
        0.0,
    )
}

fn question_view(f: &QuestionFigures) -> QuestionView {
    let tile = |label: &str, v: Option<f64>| (label.to_string(), num(v));
    let (mut stats, mut chart_title, mut bars) = (Vec::new(), "", Vec::new());
    let (mut rater_head, mut raters) = ("", Vec::new());
    if let Some(c) = &f.choice {
        stats = vec![
            tile("Fleiss' κ", c.fleiss_kappa),
            tile("Krippendorff's α", c.krippendorff_alpha),
            tile("mean Cohen's κ", c.mean_cohen_kappa),
        ];
        (chart_title, bars) = ("Answers given", counts(&c.distribution));
        rater_head = "Agreement with the final answer";
        raters = c
            .per_rater
            .iter()
            .map(|r| (r.username.clone(), r.items, pct(r.agreement_with_final)))
            .collect();
    }
    if let Some(r) = &f.rating {
        stats = vec![
            tile("α (interval)", r.alpha_interval),
            tile("α (ordinal)", r.alpha_ordinal),
            (
                "mean rating".into(),
                r.mean.map_or("–".into(), |m| format!("{m:.2}")),
            ),
        ];
        let h: Vec<(String, u64)> = r
            .histogram
            .iter()
            .map(|(p, n)| (p.to_string(), *n))
            .collect();
        (chart_title, bars) = ("Ratings given", counts(&h));
    }
    if let Some(p) = &f.pairwise {
        stats = vec![("same choice".into(), pct(p.observed_agreement))];
        (chart_title, bars) = ("Choices made", counts(&p.choices));
    }
    if let Some(sp) = &f.spans {
        stats = vec![
            tile("span F1 (exact)", sp.f1_exact),
            tile("span F1 (overlap)", sp.f1_overlap),
            tile("token α", sp.token_alpha),
        ];
        chart_title = "F1 (overlap) per label";
        bars = qbars(
            sp.per_label
                .iter()
                .map(|l| {
                    (
                        l.label.clone(),
                        l.f1_overlap.unwrap_or(0.0),
                        num(l.f1_overlap),
                    )
                })
                .collect(),
            1.0,
        );
        rater_head = "F1 vs final (overlap)";
        raters = sp
            .per_rater
            .iter()
            .map(|r| (r.username.clone(), r.items, num(r.f1_vs_final)))
            .collect();
    }
    if let Some(b) = &f.boxes {
        stats = vec![
            tile("F1 at IoU 0.5", b.f1_iou50),
            tile("mean IoU", b.mean_iou),
        ];
        let h: Vec<(String, u64)> = ["0.5", "0.6", "0.7", "0.8", "0.9"]
            .iter()
            .zip(&b.iou_histogram)
            .map(|(l, n)| (format!("IoU {l}–"), *n))
            .collect();
        (chart_title, bars) = ("Matched boxes by IoU", counts(&h));
    }
    QuestionView {
        name: f.name.clone(),
        prompt: f.prompt.clone().unwrap_or_default(),
        kind: f.kind.clone(),
        answers: f.answers,
        stats,
        chart_title,
        bars_height: (bars.len() as i64 * 24).max(24),
        bars,
        rater_head,
        raters,
    }
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
    methods: Vec<&'static str>,
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
    /// The tallest bucket, for the histogram's axis.
    hist_max: u64,
    /// How final labels were decided, in words, with counts.
    methods_used: Vec<(String, u64)>,
    pairs: Vec<(String, String, usize, String)>,
    min_shared: usize,
    /// `questions` tasks: one section per question.
    questions: Vec<QuestionView>,
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.0}%", x * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "–".into())
}

fn rater_views(q: &Quality) -> Vec<RaterView> {
    // A rater's accuracy is estimated from how they agree with others: alone, there is no
    // evidence either way, so none is shown.
    let alone = q.raters < 2;
    q.per_rater
        .iter()
        .map(|r| RaterView {
            username: r.username.clone(),
            labels: r.labels,
            gold: r.gold_answers,
            gold_accuracy: pct(r.gold_accuracy),
            estimated: if alone {
                "–".into()
            } else {
                pct(r.estimated_accuracy)
            },
            agreement: pct(r.agreement_with_final),
            median: r
                .median_seconds
                .map(|s| format!("{s:.1}"))
                .unwrap_or_else(|| "–".into()),
            skips: r.skips,
            paused: r.paused,
            reason: r.pause_reason.clone(),
        })
        .collect()
}

/// A class as people read it: the option's label for a choice value, the text otherwise.
fn class_label(schema: &LabelSchema, class: &str) -> String {
    schema
        .options()
        .iter()
        .find(|o| o.value == class)
        .map(|o| o.label.clone())
        .unwrap_or_else(|| class.to_string())
}

/// What each recorded method means, in the page's words.
fn method_words(method: &str, overlap: i64) -> String {
    match method {
        "unanimous" if overlap <= 1 => "decided by its one label (k = 1)".into(),
        "unanimous" => "all raters agreed".into(),
        "majority" => "the leading answer passed the agreement threshold".into(),
        "adjudicated" => "a reviewer decided".into(),
        "gold" => "gold answer".into(),
        "dawid_skene" => "Dawid-Skene".into(),
        "wawa" => "agreement-weighted vote".into(),
        "glad" => "GLAD".into(),
        other => other.to_string(),
    }
}

fn heat_map(q: &Quality, schema: &LabelSchema) -> (Vec<HeatCell>, Vec<AxisLabel>, i64) {
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
                row: class_label(schema, q.classes.get(i).map_or("", |c| c.as_str())),
                col: class_label(schema, q.classes.get(j).map_or("", |c| c.as_str())),
                n: *v,
            });
        }
    }
    let mut labels = Vec::new();
    for (k, c) in q.classes.iter().enumerate() {
        let short: String = class_label(schema, c).chars().take(12).collect();
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

fn bars(q: &Quality, schema: &LabelSchema) -> Vec<Bar> {
    let max_bar = q.distribution.iter().map(|d| d.1).max().unwrap_or(1).max(1);
    q.distribution
        .iter()
        .take(15)
        .enumerate()
        .map(|(i, (label, n))| Bar {
            y: i as i64 * 24,
            w: (*n * 230 / max_bar) as i64,
            label: class_label(schema, label).chars().take(16).collect(),
            n: *n,
        })
        .collect()
}

fn histogram(q: &Quality) -> Vec<HistBar> {
    let max_hist = q
        .confidence_histogram
        .iter()
        .copied()
        .max()
        .unwrap_or(1)
        .max(1);
    q.confidence_histogram
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let h = (*n * 100 / max_hist) as i64;
            HistBar {
                x: 30 + i as i64 * 36,
                y: 118 - h,
                h,
                label: format!("{:.1}", i as f64 / 10.0),
                n: *n,
            }
        })
        .collect()
}

#[derive(Deserialize, Default)]
pub struct QualityQuery {
    notice: Option<String>,
}

/// `GET /admin/tasks/{id}/quality`.
pub async fn quality(
    State(state): State<AppState>,
    RequireReviewer(ctx): RequireReviewer,
    Id(id): Id,
    Query(qq): Query<QualityQuery>,
) -> Result<Response> {
    let tq = quality::for_task(&state, TaskId(id)).await?;
    let q = tq.quality;
    let schema = &tq.task.schema;
    let (heat, heat_labels, heat_size) = heat_map(&q, schema);
    let bars = bars(&q, schema);
    let methods_used = q
        .methods
        .iter()
        .map(|(m, n)| (method_words(m, tq.task.overlap), *n))
        .collect();
    let hist_max = q.confidence_histogram.iter().copied().max().unwrap_or(0);
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
        task_name: tq.task.name,
        is_admin: ctx.user.role == Role::Admin,
        notice,
        method: tq.task.quality.resolution_method,
        methods: ResolutionMethod::ENGINES
            .iter()
            .map(|m| m.as_str())
            .collect(),
        fleiss: num(q.fleiss_kappa),
        alpha: num(q.krippendorff_alpha),
        cohen: num(q.mean_cohen_kappa),
        raters: rater_views(&q),
        heat,
        heat_labels,
        heat_size,
        bars_height: (bars.len() as i64 * 24).max(24),
        bars,
        hist: histogram(&q),
        hist_max,
        methods_used,
        pairs,
        min_shared: MIN_SHARED,
        questions: q.questions.iter().map(question_view).collect(),
        q,
    };
    Ok(html(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct MethodForm {
    method: String,
}

/// `POST /admin/tasks/{id}/resolve`: re-resolve the task with the chosen method.
pub async fn resolve(
    State(state): State<AppState>,
    RequireReviewer(ctx): RequireReviewer,
    Id(id): Id,
    Form(f): Form<MethodForm>,
) -> Result<Response> {
    resolution::reresolve(&state, &ctx, TaskId(id), Some(&f.method)).await?;
    Ok(Redirect::to(&format!("/admin/tasks/{id}/quality?notice=resolved")).into_response())
}

/// `POST /admin/tasks/{id}/raters/{username}/unpause` (admins).
pub async fn unpause(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    Path((id, username)): Path<(String, String)>,
) -> Result<Response> {
    resolution::unpause(&state, &ctx, &id, &username).await?;
    Ok(Redirect::to(&format!("/admin/tasks/{id}/quality?notice=unpaused")).into_response())
}
