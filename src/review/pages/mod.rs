//! Reviewer pages: the review index, a task's adjudication queue and the item page
//! (keyboard-first, `static/review.js`). The quality page is in [`quality`]. Each handler parses,
//! calls one service function of the review feature and renders.

pub mod quality;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::RequireReviewer;
use crate::domain::ids::TaskId;
use crate::domain::schema::LabelSchema;
use crate::domain::states::ItemState;
use crate::error::Result;
use crate::http::extract::Id;
use crate::http::pages::{Chrome, html};
use crate::review::quality::display;
use crate::review::queue::{self, FlagView, VoteView};
use crate::review::resolution;
use crate::state::AppState;

/// How many queue items the queue page lists.
const QUEUE_PAGE_ROWS: i64 = 500;

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

/// `GET /review`: every task with the length of its queue.
pub async fn index(
    State(state): State<AppState>,
    RequireReviewer(ctx): RequireReviewer,
) -> Result<Response> {
    let tasks = queue::tasks_waiting(&state)
        .await?
        .into_iter()
        .map(|t| TaskRow {
            id: t.id.0,
            name: t.name,
            state: t.state,
            waiting: t.waiting,
        })
        .collect();
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

/// The first words of an item (its text, or its image URL) for a list.
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

/// `GET /review/tasks/{id}`: the task's adjudication queue.
pub async fn queue(
    State(state): State<AppState>,
    RequireReviewer(ctx): RequireReviewer,
    Id(id): Id,
) -> Result<Response> {
    let q = queue::summary(&state, TaskId(id), QUEUE_PAGE_ROWS).await?;
    let items: Vec<QueueRow> = q
        .items
        .iter()
        .map(|r| QueueRow {
            id: r.id.0,
            external_id: r.external_id.clone(),
            snippet: snippet(&r.data_json),
            flagged: r.flagged != 0,
            votes: r.label_count,
        })
        .collect();
    let page = QueuePage {
        chrome: Chrome::of(&ctx, "review"),
        task_name: q.task.name,
        total: q.total,
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

impl VoteRow {
    fn of(v: &VoteView, schema: &LabelSchema) -> VoteRow {
        VoteRow {
            rater: v.rater.clone(),
            answer: schema.display(&v.value),
            accuracy: v
                .estimated_accuracy
                .map(|a| format!("{:.0}%", a * 100.0))
                .unwrap_or_else(|| "–".into()),
            seconds: if v.duration_ms > 0 {
                format!("{:.1}", v.duration_ms as f64 / 1000.0)
            } else {
                "–".into()
            },
        }
    }
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
    resolved: bool,
    flagged: bool,
    waiting: i64,
    version: i64,
    instructions_html: String,
    votes: Vec<VoteRow>,
    next_id: Option<i64>,
    flags: Vec<FlagView>,
    /// (the final label as people read it, who or what decided it)
    resolution: Option<(String, String)>,
    page_json: Value,
}

/// `GET /review/items/{id}`: one item with its votes, for a reviewer to decide.
pub async fn item(
    State(state): State<AppState>,
    RequireReviewer(ctx): RequireReviewer,
    Id(id): Id,
) -> Result<Response> {
    let r = queue::item(&state, id).await?;
    let current: Value = r
        .resolution
        .as_ref()
        .and_then(|res| serde_json::from_str(&res.value_json).ok())
        .unwrap_or(Value::Null);
    let page = ItemPage {
        chrome: Chrome::of(&ctx, "review"),
        task_id: r.task.id.0,
        task_name: r.task.name.clone(),
        item_id: id,
        external_id: r.item.external_id.clone(),
        state: r.item.state.label().to_owned(),
        resolved: r.item.state == ItemState::Resolved,
        flagged: r.item.flagged != 0,
        waiting: r.waiting,
        version: r.item.version,
        instructions_html: r.instructions_html,
        votes: r
            .votes
            .iter()
            .map(|v| VoteRow::of(v, &r.task.schema))
            .collect(),
        next_id: r.next_id,
        flags: r.flags,
        resolution: r.resolution.map(|res| {
            (
                serde_json::from_str::<Value>(&res.value_json)
                    .map(|v| r.task.schema.display(&v))
                    .unwrap_or_else(|_| display(&res.value_json)),
                res.resolved_by.unwrap_or_else(|| res.method.clone()),
            )
        }),
        page_json: json!({
            "item_id": id, "task_id": r.task.id, "version": r.item.version, "schema": r.task.schema,
            "item": r.data, "layout": r.layout, "current": current,
            // Every rater's answer, for the kinds that draw them over the item (spans, boxes).
            "votes": r.votes.iter().map(|v| json!({"rater": v.rater, "value": v.value})).collect::<Vec<_>>(),
        }),
    };
    Ok(html(&page)?.into_response())
}

#[derive(Deserialize)]
pub struct VersionForm {
    version: i64,
}

/// `POST /review/items/{id}/reopen`: back to the queue.
pub async fn reopen(
    State(state): State<AppState>,
    RequireReviewer(ctx): RequireReviewer,
    Id(id): Id,
    Form(f): Form<VersionForm>,
) -> Result<Response> {
    resolution::reopen(&state, &ctx, id, Some(f.version)).await?;
    Ok(Redirect::to(&format!("/review/items/{id}")).into_response())
}
