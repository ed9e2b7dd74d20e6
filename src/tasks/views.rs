//! The tasks feature's API answers: each a typed struct, which is also its OpenAPI schema. Field
//! names are public surface (design.md): new fields may be added, none renamed.

use serde::Serialize;

use crate::clock::rfc3339;
use crate::db::imports::ImportRow;
use crate::db::tasks::{Member, Task};
use crate::domain::schema::LabelSchema;
use crate::domain::states::TaskState;

/// A task with its settings.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TaskView {
    pub id: i64,
    pub name: String,
    #[schema(value_type = Object)]
    pub schema: LabelSchema,
    pub overlap: i64,
    pub max_overlap: i64,
    pub agreement: f64,
    pub shard_size: i64,
    pub lease_minutes: i64,
    pub state: TaskState,
    pub instructions_version: i64,
    pub gold_ratio: f64,
    pub resolution_method: String,
    pub qualification_items: i64,
    pub qualification_pass: f64,
    pub gold_window: i64,
    pub gold_min_accuracy: f64,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// The current instructions (Markdown); only on single-task answers, not in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

impl TaskView {
    /// The view of `t`, with its instructions when given.
    pub fn of(t: Task, instructions: Option<String>) -> Self {
        TaskView {
            id: t.id.0,
            name: t.name,
            schema: t.schema,
            overlap: t.overlap,
            max_overlap: t.max_overlap,
            agreement: t.agreement,
            shard_size: t.shard_size,
            lease_minutes: t.lease_minutes,
            state: t.state,
            instructions_version: t.instructions_version,
            gold_ratio: t.gold_ratio,
            resolution_method: t.quality.resolution_method,
            qualification_items: t.quality.qualification_items,
            qualification_pass: t.quality.qualification_pass,
            gold_window: t.quality.gold_window,
            gold_min_accuracy: t.quality.gold_min_accuracy,
            created_at: rfc3339(t.created_at),
            updated_at: rfc3339(t.updated_at),
            instructions,
        }
    }
}

/// `GET /api/v1/tasks`: one page of tasks, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TaskList {
    pub tasks: Vec<TaskView>,
    /// Pass back as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// Items of a task by state. The stored names stay (`open`, `complete`, `adjudication`,
/// `resolved`); pages call them "Labeling", "Decided by raters", "Waiting for review" and
/// "Decided by reviewer", and `decided` is both decided states.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemCounts {
    pub total: i64,
    /// Items that still need labels.
    pub open: i64,
    /// Decided by the raters' agreement (or an aggregation method).
    pub complete: i64,
    /// Waiting for a reviewer.
    pub adjudication: i64,
    /// Decided by a reviewer.
    pub resolved: i64,
    /// `complete + resolved`: items that need no more labels.
    pub decided: i64,
}

/// How many raters the settings need, against how many the task has.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RaterNeeds {
    /// Different raters each item needs (overlap k).
    pub needed: i64,
    /// Different raters an item may ask for when raters disagree (max overlap).
    pub max_needed: i64,
    /// Active raters on the task.
    pub on_task: i64,
    /// Of those, how many acknowledged the current instructions.
    pub acknowledged: i64,
}

/// What the items that are not decided wait for.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WaitingView {
    /// Open items without any label.
    pub unlabeled: i64,
    /// Open items with some labels, fewer than they need.
    pub partly_labeled: i64,
    /// Open items that need more different raters than the task has: they cannot be decided
    /// until raters are added (or max overlap lowered).
    pub short_of_raters: i64,
    /// Items waiting for a reviewer.
    pub review: i64,
}

/// `GET /api/v1/tasks/{id}/progress`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProgressView {
    pub items: ItemCounts,
    pub labels: i64,
    pub active_leases: i64,
    pub raters_working: i64,
    pub raters: RaterNeeds,
    pub waiting: WaitingView,
    /// What keeps raters from labeling or items from being decided, worst first; empty when
    /// nothing does.
    pub blockers: Vec<crate::domain::readiness::Blocker>,
}

/// `GET /api/v1/tasks/{id}/instructions`: the current version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstructionsView {
    pub version: i64,
    pub markdown: String,
    /// The Markdown rendered and sanitised.
    pub html: String,
    /// Whether the caller acknowledged this version.
    pub acknowledged: bool,
}

/// `POST /api/v1/tasks/{id}/instructions/ack`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AckAnswer {
    pub version: i64,
    pub acknowledged: bool,
}

/// `POST /api/v1/tasks/{id}/members`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberAdded {
    pub username: String,
    pub member: bool,
}

/// One member of a task.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub username: String,
    pub role: String,
    pub active: bool,
    /// Labels this member made in the task.
    pub labels: i64,
    pub acknowledged_version: Option<i64>,
    /// RFC 3339.
    pub added_at: String,
}

impl From<Member> for MemberView {
    fn from(m: Member) -> Self {
        MemberView {
            username: m.username,
            role: m.role.as_str().to_owned(),
            active: m.active != 0,
            labels: m.labels,
            acknowledged_version: m.acked_version,
            added_at: rfc3339(m.added_at),
        }
    }
}

/// `GET /api/v1/tasks/{id}/members`: one page, in username order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberList {
    pub members: Vec<MemberView>,
    pub next_cursor: Option<String>,
}

/// One import run.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportView {
    pub id: i64,
    /// Who ran it (null for the CLI).
    pub by: Option<String>,
    pub format: String,
    pub filename: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    pub rows: i64,
    pub imported: i64,
    pub skipped_duplicates: i64,
    pub error_line: Option<i64>,
    pub error: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    pub finished_at: Option<String>,
    /// Items that broke the task's item schema (null: not validated — failed, or the first).
    pub anomalous: Option<i64>,
    /// Of those, held aside in the quarantine.
    pub quarantined: Option<i64>,
    /// The largest drift figure against the previous import (null for the first).
    pub drift_score: Option<f64>,
    /// Whether a drift figure is above the task's threshold.
    pub drifting: bool,
    /// The task's item schema was inferred from this import (and not edited since).
    pub made_schema: bool,
}

impl From<ImportRow> for ImportView {
    fn from(i: ImportRow) -> Self {
        ImportView {
            id: i.id.0,
            by: i.username,
            format: i.format,
            filename: i.filename,
            status: i.status,
            rows: i.rows_read,
            imported: i.imported,
            skipped_duplicates: i.skipped,
            error_line: i.error_line,
            error: i.error,
            created_at: rfc3339(i.created_at),
            finished_at: i.finished_at.map(rfc3339),
            anomalous: i.anomalous,
            quarantined: i.quarantined,
            drift_score: i.drift_score,
            drifting: i.drifting.is_some_and(|d| d != 0),
            made_schema: i.made_schema != 0,
        }
    }
}

/// `GET /api/v1/tasks/{id}/imports`: one page, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportList {
    pub imports: Vec<ImportView>,
    pub next_cursor: Option<String>,
}
