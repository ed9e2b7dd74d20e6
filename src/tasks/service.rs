//! The tasks service: create and change tasks, decide who may see and work in one, instructions
//! and their acknowledgement, and the reads the task API answers with.

use serde_json::json;

use crate::auth::AuthCtx;
use crate::db::{self, tasks::QualitySettings, tasks::Task, tasks::TaskSettings};
use crate::domain::ids::TaskId;
use crate::domain::markdown;
use crate::domain::role::Role;
use crate::domain::schema::LabelSchema;
use crate::domain::states::TaskState;
use crate::error::{AppError, Result};
use crate::http::page::{PageRequest, cut};
use crate::state::AppState;
use crate::tasks::codes;
use crate::tasks::settings::{
    TaskPatch, TaskRequest, check_instructions, check_quality, check_settings, parse_state,
    quality_from,
};
use crate::tasks::views::{ImportList, InstructionsView, ProgressView, TaskList, TaskView};

fn bad(code: &'static str, msg: impl Into<String>) -> AppError {
    AppError::bad_request(code, msg)
}

/// Creates a task (admins) and records it in the audit log.
#[tracing::instrument(skip_all, fields(admin = %ctx.user.id))]
pub async fn create(state: &AppState, ctx: &AuthCtx, ip: &str, req: TaskRequest) -> Result<Task> {
    let schema = LabelSchema::parse(&req.schema).map_err(|e| bad(codes::INVALID_SCHEMA, e))?;
    let task_state = parse_state(req.state.as_deref(), TaskState::Draft)?;
    let overlap = req.overlap.unwrap_or(3);
    let settings = TaskSettings {
        name: req.name.trim().to_string(),
        schema,
        overlap,
        max_overlap: req.max_overlap.unwrap_or(overlap + 2),
        agreement: req.agreement.unwrap_or(0.5),
        shard_size: req.shard_size.unwrap_or(20),
        lease_minutes: req.lease_minutes.unwrap_or(30),
        state: task_state,
        gold_ratio: req.gold_ratio.unwrap_or(0.0),
    };
    check_settings(&settings)?;
    let quality = quality_from(
        &QualitySettings::default(),
        &req.resolution_method,
        req.qualification_items,
        req.qualification_pass,
        req.gold_window,
        req.gold_min_accuracy,
    );
    check_quality(&quality)?;
    check_instructions(&req.instructions)?;
    let html = markdown::render(&req.instructions);
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let id = db::tasks::create(
        &mut tx,
        &settings,
        &req.instructions,
        &html,
        ctx.user.id,
        now,
    )
    .await?;
    db::tasks::set_quality(&mut tx, id, &quality).await?;
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "task.create",
        &format!("task #{id}"),
        &json!({"name": settings.name}),
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    db::tasks::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Changes a task's settings (admins); new instructions become a new version.
#[tracing::instrument(skip_all, fields(task = %id, admin = %ctx.user.id))]
pub async fn patch(
    state: &AppState,
    ctx: &AuthCtx,
    ip: &str,
    id: TaskId,
    p: TaskPatch,
) -> Result<Task> {
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let task = db::tasks::get(&mut *tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let schema = match &p.schema {
        Some(v) => {
            let s = LabelSchema::parse(v).map_err(|e| bad(codes::INVALID_SCHEMA, e))?;
            // Once labels exist the label set may grow, be renamed or have options retired,
            // but nothing a stored label uses may disappear.
            if s != task.schema && db::tasks::has_labels(&mut *tx, id).await? {
                task.schema
                    .evolve_to(&s)
                    .map_err(|e| AppError::conflict(codes::SCHEMA_FROZEN, e))?;
            }
            s
        }
        None => task.schema.clone(),
    };
    let task_state = parse_state(p.state.as_deref(), task.state)?;
    let overlap = p.overlap.unwrap_or(task.overlap);
    let settings = TaskSettings {
        name: p
            .name
            .as_deref()
            .map(str::trim)
            .unwrap_or(&task.name)
            .to_string(),
        schema,
        overlap,
        max_overlap: p.max_overlap.unwrap_or(task.max_overlap.max(overlap)),
        agreement: p.agreement.unwrap_or(task.agreement),
        shard_size: p.shard_size.unwrap_or(task.shard_size),
        lease_minutes: p.lease_minutes.unwrap_or(task.lease_minutes),
        state: task_state,
        gold_ratio: p.gold_ratio.unwrap_or(task.gold_ratio),
    };
    check_settings(&settings)?;
    let quality = quality_from(
        &task.quality,
        &p.resolution_method,
        p.qualification_items,
        p.qualification_pass,
        p.gold_window,
        p.gold_min_accuracy,
    );
    check_quality(&quality)?;
    db::tasks::update(&mut tx, id, &settings, now).await?;
    db::tasks::set_quality(&mut tx, id, &quality).await?;
    if overlap > task.overlap {
        db::tasks::raise_targets(&mut tx, id, overlap).await?;
    }
    let mut changed_instructions = false;
    if let Some(md) = &p.instructions {
        check_instructions(md)?;
        let current = db::tasks::instructions(&mut *tx, id, task.instructions_version).await?;
        if current.as_ref().map(|c| c.markdown.as_str()) != Some(md.as_str()) {
            let version = task.instructions_version + 1;
            db::tasks::add_instructions(
                &mut tx,
                id,
                version,
                md,
                &markdown::render(md),
                ctx.user.id,
                now,
            )
            .await?;
            changed_instructions = true;
        }
    }
    // The audit log keeps what changed, before → after.
    let before = audit_view(
        &task.name,
        &task.schema,
        task.state,
        [
            task.overlap,
            task.max_overlap,
            task.shard_size,
            task.lease_minutes,
        ],
        [task.agreement, task.gold_ratio],
        &task.quality,
    );
    let after = audit_view(
        &settings.name,
        &settings.schema,
        settings.state,
        [
            settings.overlap,
            settings.max_overlap,
            settings.shard_size,
            settings.lease_minutes,
        ],
        [settings.agreement, settings.gold_ratio],
        &quality,
    );
    let mut changes = crate::domain::diff::changes(&before, &after);
    if changed_instructions {
        changes.insert(
            "instructions_version".into(),
            json!({"from": task.instructions_version, "to": task.instructions_version + 1}),
        );
    }
    let detail = json!({ "changes": changes });
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "task.update",
        &format!("task #{id}"),
        &detail,
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    db::tasks::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// A task's settings as the audit log compares them.
fn audit_view(
    name: &str,
    schema: &LabelSchema,
    state: crate::domain::states::TaskState,
    [overlap, max_overlap, shard_size, lease_minutes]: [i64; 4],
    [agreement, gold_ratio]: [f64; 2],
    q: &db::tasks::QualitySettings,
) -> serde_json::Value {
    let options: Vec<String> = schema
        .options()
        .iter()
        .map(|o| {
            if o.retired {
                format!("{} ({}, retired)", o.label, o.value)
            } else {
                format!("{} ({})", o.label, o.value)
            }
        })
        .collect();
    json!({
        "name": name, "state": state.as_str(), "kind": schema.kind(), "options": options,
        "overlap": overlap, "max_overlap": max_overlap, "agreement": agreement,
        "shard_size": shard_size, "lease_minutes": lease_minutes, "gold_ratio": gold_ratio,
        "resolution_method": q.resolution_method, "qualification_items": q.qualification_items,
        "qualification_pass": q.qualification_pass, "gold_window": q.gold_window,
        "gold_min_accuracy": q.gold_min_accuracy,
    })
}

/// Raters see a task they belong to once it is live (active or paused).
pub fn rater_may_see(t: &Task) -> bool {
    t.state.is_live()
}

/// The task if this user administers it (admins); anyone else gets 404, exactly as for a task
/// that does not exist. The settings features (sampling, validation, direct labels, webhooks)
/// all start here.
pub async fn administered(state: &AppState, ctx: &AuthCtx, id: TaskId) -> Result<Task> {
    if ctx.user.role != crate::domain::role::Role::Admin {
        return Err(AppError::NotFound);
    }
    db::tasks::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// The task if this user may see it; otherwise 404, exactly like a task that does not exist.
pub async fn visible(state: &AppState, ctx: &AuthCtx, id: TaskId) -> Result<Task> {
    let task = db::tasks::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if ctx.user.role.at_least(Role::Reviewer) {
        return Ok(task);
    }
    if rater_may_see(&task) && db::tasks::is_member(&state.db.pool, id, ctx.user.id).await? {
        Ok(task)
    } else {
        Err(AppError::NotFound)
    }
}

/// A task this user may label in: a member, whatever their role.
pub async fn workable(state: &AppState, ctx: &AuthCtx, id: TaskId) -> Result<Task> {
    let task = db::tasks::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let member = db::tasks::is_member(&state.db.pool, id, ctx.user.id).await?;
    may_work_in(&task, member, ctx)?;
    Ok(task)
}

/// [`workable`], with everything a lease asks about the rater read at once (one statement
/// instead of four on the lease path).
pub async fn workable_gate(
    state: &AppState,
    ctx: &AuthCtx,
    id: TaskId,
) -> Result<(Task, db::tasks::RaterGate)> {
    let task = db::tasks::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let gate = db::tasks::rater_gate(&state.db.pool, id, ctx.user.id).await?;
    may_work_in(&task, gate.member > 0, ctx)?;
    Ok((task, gate))
}

/// Who may work in a task: members, while it is live (reviewers and admins also when it is not).
fn may_work_in(task: &Task, member: bool, ctx: &AuthCtx) -> Result<()> {
    if !member || !(rater_may_see(task) || ctx.user.role.at_least(Role::Reviewer)) {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// The signed-in member acknowledges the current instructions (`version` must be the current one).
#[tracing::instrument(skip_all, fields(task = %id, user = %ctx.user.id))]
pub async fn acknowledge(state: &AppState, ctx: &AuthCtx, id: TaskId, version: i64) -> Result<()> {
    let task = workable(state, ctx, id).await?;
    if version != task.instructions_version {
        return Err(AppError::conflict(
            codes::STALE_INSTRUCTIONS,
            format!(
                "the current instructions are version {}; read them again",
                task.instructions_version
            ),
        ));
    }
    let mut tx = state.db.begin_write().await?;
    db::tasks::ack(&mut *tx, id, ctx.user.id, version, state.now()).await?;
    tx.commit().await?;
    Ok(())
}

/// A task with its current instructions, as the API shows a single task.
pub async fn view(state: &AppState, task: Task) -> Result<TaskView> {
    let md = db::tasks::instructions(&state.db.pool, task.id, task.instructions_version)
        .await?
        .map(|i| i.markdown)
        .unwrap_or_default();
    Ok(TaskView::of(task, Some(md)))
}

/// One page of the tasks this user may see: every task for reviewers and admins, the live tasks
/// they belong to for raters; newest first.
#[tracing::instrument(skip_all, fields(user = %ctx.user.id))]
pub async fn list(state: &AppState, ctx: &AuthCtx, page: PageRequest) -> Result<TaskList> {
    let fetch = page.limit + 1;
    let rows = if ctx.user.role.at_least(Role::Reviewer) {
        db::tasks::list_page(&state.db.pool, page.after, fetch).await?
    } else {
        let live = [TaskState::Active, TaskState::Paused];
        db::tasks::list_page_for_member(&state.db.pool, ctx.user.id, live, page.after, fetch)
            .await?
    };
    let (rows, next_cursor) = cut(rows, page, |t| t.id.0);
    Ok(TaskList {
        tasks: rows.into_iter().map(|t| TaskView::of(t, None)).collect(),
        next_cursor,
    })
}

/// Items by state, labels and live leases of a task this user may see.
#[tracing::instrument(skip_all, fields(task = %id))]
pub async fn progress(state: &AppState, ctx: &AuthCtx, id: TaskId) -> Result<ProgressView> {
    let task = visible(state, ctx, id).await?;
    crate::tasks::readiness::of(state, &task).await
}

/// The current instructions of a task this user may see, and whether they acknowledged them.
#[tracing::instrument(skip_all, fields(task = %id, user = %ctx.user.id))]
pub async fn instructions(state: &AppState, ctx: &AuthCtx, id: TaskId) -> Result<InstructionsView> {
    let task = visible(state, ctx, id).await?;
    let ins = db::tasks::instructions(&state.db.pool, task.id, task.instructions_version)
        .await?
        .ok_or(AppError::NotFound)?;
    let acked = db::tasks::acked_version(&state.db.pool, task.id, ctx.user.id).await?;
    Ok(InstructionsView {
        acknowledged: acked == Some(ins.version),
        version: ins.version,
        markdown: ins.markdown,
        html: ins.html,
    })
}

/// One page of a task's import runs, newest first.
#[tracing::instrument(skip_all, fields(task = %id))]
pub async fn imports(state: &AppState, id: TaskId, page: PageRequest) -> Result<ImportList> {
    let task = db::tasks::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let rows = db::imports::list_page(&state.db.pool, task.id, page.after, page.limit + 1).await?;
    let (rows, next_cursor) = cut(rows, page, |i| i.id.0);
    Ok(ImportList {
        imports: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    })
}
