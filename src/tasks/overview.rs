//! What the admin's task pages and everyone's home page show, read in one place: the task list
//! with progress, one task's overview (progress, members, who could join, imports, instructions)
//! and a user's home. The pages render these; they read nothing themselves.

use crate::auth::AuthCtx;
use crate::clock::format_ms;
use crate::db::{self, tasks::Task};
use crate::domain::ids::{TaskId, UserId};
use crate::domain::role::Role;
use crate::domain::states::TaskState;
use crate::error::{AppError, Result};
use crate::state::AppState;

pub struct TaskRow {
    pub id: i64,
    pub name: String,
    pub state: TaskState,
    pub total: i64,
    pub labels: i64,
    pub pct: i64,
    pub overlap: i64,
}

pub struct MemberRow {
    pub user_id: i64,
    pub username: String,
    pub active: bool,
    pub labels: i64,
    pub acked: bool,
}

pub struct ImportRowView {
    pub id: i64,
    pub when: String,
    pub by: String,
    pub file: String,
    pub status: String,
    pub error: String,
    pub rows: i64,
    pub imported: i64,
    pub skipped: i64,
    /// Items that broke the item schema (None: not validated).
    pub anomalous: Option<i64>,
    pub quarantined: i64,
    /// The drift score against the previous import, formatted, and whether it drifts.
    pub drift: Option<String>,
    pub drifting: bool,
    /// The task's item schema was inferred from it.
    pub made_schema: bool,
}

pub struct HomeTask {
    pub id: i64,
    pub name: String,
    pub my_labels: i64,
    pub done: i64,
    pub total: i64,
    pub pct: i64,
    /// Items still needing labels (none: the task is finished for everyone).
    pub open: i64,
}

/// Every task with its progress, for the admin's task list.
#[tracing::instrument(skip_all)]
pub async fn admin_list(state: &AppState) -> Result<Vec<TaskRow>> {
    let now = state.now();
    let mut tasks = Vec::new();
    for t in db::tasks::list(&state.db.pool).await? {
        let p = db::items::progress(&state.db.pool, t.id, now).await?;
        tasks.push(TaskRow {
            id: t.id.0,
            name: t.name,
            state: t.state,
            total: p.total,
            labels: p.labels,
            pct: p.percent_done(),
            overlap: t.overlap,
        });
    }
    Ok(tasks)
}

/// One task as its admin page shows it.
pub struct TaskOverview {
    pub t: Task,
    pub p: crate::tasks::views::ProgressView,
    pub members: Vec<MemberRow>,
    pub candidates: Vec<String>,
    pub imports: Vec<ImportRowView>,
    pub instructions_html: String,
}

/// The task's current instructions.
async fn instructions_of(state: &AppState, t: &Task) -> Result<db::tasks::Instructions> {
    db::tasks::instructions(&state.db.pool, t.id, t.instructions_version)
        .await?
        .ok_or(AppError::NotFound)
}

/// Everything the task page shows.
#[tracing::instrument(skip_all, fields(task = %id))]
pub async fn task(state: &AppState, id: TaskId) -> Result<TaskOverview> {
    let t = db::tasks::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let p = crate::tasks::readiness::of(state, &t).await?;
    let members: Vec<MemberRow> = db::tasks::members(&state.db.pool, t.id)
        .await?
        .into_iter()
        .map(|m| MemberRow {
            user_id: m.user_id.0,
            username: m.username,
            active: m.active != 0,
            labels: m.labels,
            acked: m.acked_version == Some(t.instructions_version),
        })
        .collect();
    let candidates = db::users::list(&state.db.pool)
        .await?
        .into_iter()
        .filter(|u| u.active && u.can_login && !members.iter().any(|m| m.user_id == u.id.0))
        .map(|u| u.username)
        .collect();
    let imports = db::imports::list(&state.db.pool, t.id, 50)
        .await?
        .into_iter()
        .map(|i| ImportRowView {
            id: i.id.0,
            when: format_ms(i.created_at),
            by: i.username.unwrap_or_else(|| "cli".into()),
            file: i.filename,
            status: i.status,
            error: i.error.unwrap_or_default(),
            rows: i.rows_read,
            imported: i.imported,
            skipped: i.skipped,
            anomalous: i.anomalous,
            quarantined: i.quarantined.unwrap_or(0),
            drift: i.drift_score.map(|d| format!("{d:.3}")),
            drifting: i.drifting.is_some_and(|d| d != 0),
            made_schema: i.made_schema != 0,
        })
        .collect();
    let instructions_html = instructions_of(state, &t).await?.html;
    Ok(TaskOverview {
        t,
        p,
        members,
        candidates,
        imports,
        instructions_html,
    })
}

/// The edit form's task, its instructions' Markdown, and whether its schema is frozen (labels exist).
pub async fn edit_form(state: &AppState, id: TaskId) -> Result<(Task, String, bool)> {
    let t = db::tasks::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let markdown = instructions_of(state, &t).await?.markdown;
    let frozen = is_frozen(state, id).await?;
    Ok((t, markdown, frozen))
}

/// Whether the task's schema can no longer change (it has labels).
pub async fn is_frozen(state: &AppState, id: TaskId) -> Result<bool> {
    Ok(db::tasks::has_labels(&state.db.pool, id).await?)
}

/// Removes the member with this user id (the task page names members by id).
pub async fn remove_member_by_id(
    state: &AppState,
    ctx: &AuthCtx,
    ip: &str,
    task: TaskId,
    user: UserId,
) -> Result<()> {
    let user = db::users::by_id(&state.db.pool, user)
        .await?
        .ok_or(AppError::NotFound)?;
    crate::tasks::remove_member(state, ctx, ip, task, &user.username).await?;
    Ok(())
}

/// What a user's home page shows.
pub struct Home {
    pub is_admin: bool,
    pub user_count: usize,
    pub tasks: Vec<HomeTask>,
}

/// The user's active tasks with their progress (and, for admins, how many people there are).
#[tracing::instrument(skip_all)]
pub async fn home(state: &AppState, ctx: &AuthCtx) -> Result<Home> {
    let is_admin = ctx.user.role == Role::Admin;
    let user_count = if is_admin {
        db::users::list(&state.db.pool).await?.len()
    } else {
        0
    };
    let now = state.now();
    let mut tasks = Vec::new();
    for t in db::tasks::list_for_member(&state.db.pool, ctx.user.id).await? {
        if t.state != TaskState::Active {
            continue;
        }
        let p = db::items::progress(&state.db.pool, t.id, now).await?;
        tasks.push(HomeTask {
            id: t.id.0,
            name: t.name,
            my_labels: db::items::labels_by(&state.db.pool, t.id, ctx.user.id).await?,
            done: p.done(),
            total: p.total,
            pct: p.percent_done(),
            open: p.open,
        });
    }
    Ok(Home {
        is_admin,
        user_count,
        tasks,
    })
}
