//! The adjudication queue: which tasks have items waiting, a task's queue (a summary for the
//! page, a page of full entries for the API), and one item with everything a reviewer weighs
//! (every vote with the rater's estimated accuracy, the flags, the current resolution).

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::db::{self, review::QueueItem, tasks::Task};
use crate::domain::ids::TaskId;
use crate::error::{AppError, Result};
use crate::http::page::{PageRequest, cut};
use crate::review::answers;
use crate::state::AppState;

/// A task and how many of its items wait for a reviewer.
pub struct TaskWaiting {
    pub id: TaskId,
    pub name: String,
    pub state: String,
    pub waiting: i64,
}

/// Every task, newest first, with its queue length.
#[tracing::instrument(skip_all)]
pub async fn tasks_waiting(state: &AppState) -> Result<Vec<TaskWaiting>> {
    let waiting = db::review::queue_lengths(&state.db.pool).await?;
    Ok(db::tasks::list(&state.db.pool)
        .await?
        .into_iter()
        .map(|t| TaskWaiting {
            waiting: waiting.get(&t.id.0).copied().unwrap_or(0),
            id: t.id,
            name: t.name,
            state: t.state.to_string(),
        })
        .collect())
}

/// One rater's vote as a reviewer sees it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct VoteView {
    pub rater: String,
    /// The label value as the rater gave it.
    pub value: Value,
    /// The rater's accuracy as Dawid-Skene estimates it over the task (single choice only).
    pub estimated_accuracy: Option<f64>,
    /// How long the rater took, in milliseconds (0 when unknown).
    pub duration_ms: i64,
}

/// A rater's flag on an item.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct FlagView {
    pub rater: String,
    pub reason: String,
}

/// An item in the adjudication queue, with its votes and flags.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct QueueEntry {
    pub id: i64,
    pub external_id: String,
    #[schema(value_type = Object)]
    pub data: Value,
    pub state: String,
    pub flagged: bool,
    /// Send it back with a decision: a decision made on an older version is refused.
    pub version: i64,
    pub votes: Vec<VoteView>,
    pub flags: Vec<FlagView>,
}

/// One page of a task's adjudication queue, oldest item first.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct QueuePage {
    /// Items waiting in the whole queue.
    pub total: i64,
    pub items: Vec<QueueEntry>,
    /// Pass as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).unwrap_or(Value::Null)
}

fn vote_view(v: db::review::Vote, accuracy: &HashMap<i64, f64>) -> VoteView {
    VoteView {
        rater: v.username,
        value: parse(&v.value_json),
        estimated_accuracy: accuracy.get(&v.user_id.0).copied(),
        duration_ms: v.duration_ms,
    }
}

fn flag_view(f: db::review::Flag) -> FlagView {
    FlagView {
        rater: f.username,
        reason: f.reason,
    }
}

async fn task_of(state: &AppState, id: TaskId) -> Result<Task> {
    db::tasks::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// A page of the task's queue with every entry's votes and flags. An unknown task is a 404.
#[tracing::instrument(skip_all, fields(task = %task_id, after = ?req.after))]
pub async fn page(state: &AppState, task_id: TaskId, req: PageRequest) -> Result<QueuePage> {
    let task = task_of(state, task_id).await?;
    let pool = &state.db.pool;
    let rows = db::review::queue(pool, task.id, req.after, req.limit + 1).await?;
    let (rows, next_cursor) = cut(rows, req, |r| r.id.0);
    let mut votes: HashMap<i64, Vec<VoteView>> = HashMap::new();
    let mut flags: HashMap<i64, Vec<FlagView>> = HashMap::new();
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        let accuracy = answers::rater_accuracy(state, &task).await?;
        for v in db::review::votes_between(pool, task.id, first.id, last.id).await? {
            let view = vote_view(v.vote, &accuracy);
            votes.entry(v.item_id.0).or_default().push(view);
        }
        for f in db::review::flags_between(pool, task.id, first.id, last.id).await? {
            flags.entry(f.item_id.0).or_default().push(flag_view(f));
        }
    }
    let items = rows
        .into_iter()
        .map(|it| QueueEntry {
            votes: votes.remove(&it.id.0).unwrap_or_default(),
            flags: flags.remove(&it.id.0).unwrap_or_default(),
            data: parse(&it.data_json),
            id: it.id.0,
            external_id: it.external_id,
            state: it.state.as_str().to_owned(),
            flagged: it.flagged != 0,
            version: it.version,
        })
        .collect();
    Ok(QueuePage {
        total: db::review::queue_len(pool, task.id).await?,
        items,
        next_cursor,
    })
}

/// The queue as the reviewers' page lists it: the first `limit` items, without their votes.
pub struct QueueSummary {
    pub task: Task,
    pub total: i64,
    pub items: Vec<QueueItem>,
}

/// The first `limit` items of the task's queue and its length. An unknown task is a 404.
#[tracing::instrument(skip_all, fields(task = %task_id))]
pub async fn summary(state: &AppState, task_id: TaskId, limit: i64) -> Result<QueueSummary> {
    let task = task_of(state, task_id).await?;
    let items = db::review::queue(&state.db.pool, task.id, None, limit).await?;
    let total = db::review::queue_len(&state.db.pool, task.id).await?;
    Ok(QueueSummary { task, total, items })
}

/// One item as a reviewer decides it.
pub struct ItemReview {
    pub task: Task,
    pub item: QueueItem,
    /// The item's data without the fields the layout hides from raters: the reviewer decides
    /// on what raters saw.
    pub data: Value,
    /// How the task shows its items, without the hidden entries.
    pub layout: crate::domain::layout::ItemLayout,
    pub votes: Vec<VoteView>,
    pub flags: Vec<FlagView>,
    /// The item's final label so far, if it has one.
    pub resolution: Option<db::review::Resolution>,
    /// The task's current instructions, as sanitised HTML.
    pub instructions_html: String,
    /// Items waiting in the task's queue.
    pub waiting: i64,
    /// The next waiting item after this one (wrapping to the first), for "Skip".
    pub next_id: Option<i64>,
}

/// Everything about one item a reviewer weighs. An unknown item is a 404.
#[tracing::instrument(skip_all, fields(item = item_id))]
pub async fn item(state: &AppState, item_id: i64) -> Result<ItemReview> {
    let pool = &state.db.pool;
    let item = db::review::item(pool, item_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let task = task_of(state, item.task_id).await?;
    let accuracy = answers::rater_accuracy(state, &task).await?;
    let votes = db::review::votes(pool, item_id)
        .await?
        .into_iter()
        .map(|v| vote_view(v, &accuracy))
        .collect();
    let flags = db::review::flags(pool, item_id)
        .await?
        .into_iter()
        .map(flag_view)
        .collect();
    let resolution = db::review::resolution(pool, item_id).await?;
    let instructions = db::tasks::instructions(pool, task.id, task.instructions_version)
        .await?
        .ok_or(AppError::NotFound)?;
    let waiting = db::review::queue_len(pool, task.id).await?;
    let mut next_id = db::review::queue(pool, task.id, Some(item_id), 1)
        .await?
        .first()
        .map(|i| i.id.0);
    if next_id.is_none() {
        next_id = db::review::queue(pool, task.id, None, 1)
            .await?
            .first()
            .map(|i| i.id.0)
            .filter(|id| *id != item_id);
    }
    let layout = crate::layout::service::of_task(pool, task.id).await?;
    let mut data = parse(&item.data_json);
    layout.strip(&task.schema, &mut data);
    Ok(ItemReview {
        next_id,
        data,
        layout: layout.for_raters(),
        task,
        item,
        votes,
        flags,
        resolution,
        instructions_html: instructions.html,
        waiting,
    })
}
