//! Admin pages for tasks: the list, the new/edit form, and the task page (progress, import,
//! members, shard assignment, import history).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::auth::extract::ClientIp;
use crate::auth::{AuthCtx, RequireAdmin};
use crate::db::tasks::Task;
use crate::domain::ids::{TaskId, UserId};
use crate::domain::states::{ItemState, TaskState};
use crate::error::{AppError, Result};
use crate::http::extract::Id;
use crate::http::pages::{Chrome, html};
use crate::labeling::lease::{self, LeaseOutcome};
use crate::state::AppState;
use crate::tasks::TaskPatch;
use crate::tasks::form::TaskForm;
use crate::tasks::overview::{self, ImportRowView, MemberRow, TaskRow};
use crate::tasks::views::{ItemCounts, ProgressView};

#[derive(Template)]
#[template(path = "admin/tasks.html")]
struct TasksPage {
    chrome: Chrome,
    tasks: Vec<TaskRow>,
}

pub async fn list(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
) -> Result<Response> {
    let tasks = overview::admin_list(&state).await?;
    Ok(html(&TasksPage {
        chrome: Chrome::of(&ctx, "tasks"),
        tasks,
    })?
    .into_response())
}

#[derive(Template)]
#[template(path = "admin/task_form.html")]
struct TaskFormPage {
    chrome: Chrome,
    task_id: Option<i64>,
    f: TaskForm,
    states: Vec<TaskState>,
    methods: Vec<&'static str>,
    frozen: bool,
    error: Option<String>,
}

fn form_page(
    ctx: &AuthCtx,
    task_id: Option<i64>,
    f: TaskForm,
    frozen: bool,
    error: Option<String>,
) -> Result<Response> {
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = TaskFormPage {
        chrome: Chrome::of(ctx, "tasks"),
        task_id,
        f,
        states: TaskState::ALL.to_vec(),
        methods: crate::tasks::method_names(),
        frozen,
        error,
    };
    Ok((status, html(&page)?).into_response())
}

pub async fn new_page(RequireAdmin(ctx): RequireAdmin) -> Result<Response> {
    form_page(&ctx, None, TaskForm::blank(), false, None)
}

pub async fn create(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Form(f): Form<TaskForm>,
) -> Result<Response> {
    let result = match f.request() {
        Ok(req) => crate::tasks::create(&state, &ctx, &ip, req).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(t) => Ok(Redirect::to(&format!("/admin/tasks/{}", t.id)).into_response()),
        Err(AppError::BadRequest { message, .. }) => form_page(&ctx, None, f, false, Some(message)),
        Err(e) => Err(e),
    }
}

pub async fn edit_page(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    Id(id): Id,
) -> Result<Response> {
    let (t, markdown, frozen) = overview::edit_form(&state, TaskId(id)).await?;
    form_page(&ctx, Some(id), TaskForm::of(&t, markdown), frozen, None)
}

pub async fn edit(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Form(f): Form<TaskForm>,
) -> Result<Response> {
    let patch = f.request().map(|r| TaskPatch {
        name: Some(r.name),
        instructions: Some(r.instructions),
        schema: Some(r.schema),
        overlap: r.overlap,
        max_overlap: r.max_overlap,
        agreement: r.agreement,
        shard_size: r.shard_size,
        lease_minutes: r.lease_minutes,
        state: r.state,
        gold_ratio: r.gold_ratio,
        resolution_method: r.resolution_method,
        qualification_items: r.qualification_items,
        qualification_pass: r.qualification_pass,
        gold_window: r.gold_window,
        gold_min_accuracy: r.gold_min_accuracy,
    });
    let result = match patch {
        Ok(p) => crate::tasks::patch(&state, &ctx, &ip, TaskId(id), p).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/admin/tasks/{id}")).into_response()),
        Err(AppError::BadRequest { message, .. }) | Err(AppError::Conflict { message, .. }) => {
            let frozen = overview::is_frozen(&state, TaskId(id)).await?;
            form_page(&ctx, Some(id), f, frozen, Some(message))
        }
        Err(e) => Err(e),
    }
}

/// One segment of the item-state bar chart (numbers only; the template draws it).
pub struct Segment {
    pub x: i64,
    pub w: i64,
    pub legend_x: i64,
    pub legend_y: i64,
    pub class: &'static str,
    pub label: &'static str,
    pub n: i64,
}

fn segments(p: &ItemCounts) -> Vec<Segment> {
    let parts = [
        ("resolved", ItemState::Resolved.label(), p.resolved),
        ("complete", ItemState::Complete.label(), p.complete),
        (
            "adjudication",
            ItemState::Adjudication.label(),
            p.adjudication,
        ),
        ("open", ItemState::Open.label(), p.open),
    ];
    let total = p.total.max(1);
    let mut x = 0;
    parts
        .iter()
        .enumerate()
        .map(|(i, (class, label, n))| {
            let w = if i == parts.len() - 1 {
                600 - x
            } else {
                n * 600 / total
            };
            let s = Segment {
                x,
                w: w.max(0),
                legend_x: (i as i64 % 2) * 300,
                legend_y: 38 + (i as i64 / 2) * 16,
                class,
                label,
                n: *n,
            };
            x += w;
            s
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin/task.html")]
struct TaskPage {
    chrome: Chrome,
    t: Task,
    p: ProgressView,
    pct: i64,
    /// The state to offer in one click (`active` for a draft or paused task).
    activate: bool,
    segments: Vec<Segment>,
    members: Vec<MemberRow>,
    candidates: Vec<String>,
    imports: Vec<ImportRowView>,
    instructions_html: String,
    /// The order items are handed out in, and whether raters see predictions.
    sampling: crate::sampling::service::SamplingSettings,
    /// How items are shown to raters, and the form's rows.
    layout: crate::layout::service::Editor,
    /// What a direct label (ground truth from production) does in this task.
    direct_labels: crate::domain::outcome::DirectLabels,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct Flash {
    notice: Option<String>,
    error: Option<String>,
}

/// Messages shown after a redirect: only a fixed set of words, so the URL cannot inject text.
fn flash_text(key: &str) -> Option<String> {
    Some(
        match key {
            "member_added" => "Rater added.",
            "state_changed" => "Task state changed.",
            "member_removed" => "Rater removed from the task.",
            "assigned" => "Shard assigned.",
            "nothing_left" => "There is nothing left for that rater to label.",
            "unknown_user" => "There is no active user with that name.",
            "sampling_saved" => "Sampling saved: the next leases follow it.",
            "layout_saved" => "Layout saved: raters see it on their next item.",
            "direct_labels_saved" => {
                "Direct labels setting saved and applied to every item that has one."
            }
            _ => return None,
        }
        .to_string(),
    )
}

pub async fn page(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    Id(id): Id,
    Query(flash): Query<Flash>,
) -> Result<Response> {
    let notice = flash.notice.as_deref().and_then(flash_text);
    let error = flash.error.as_deref().and_then(flash_text);
    render_page(&state, &ctx, TaskId(id), notice, error, StatusCode::OK).await
}

/// The task page, with a message on top when there is one.
async fn render_page(
    state: &AppState,
    ctx: &AuthCtx,
    id: TaskId,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response> {
    let overview::TaskOverview {
        t,
        p,
        members,
        candidates,
        imports,
        instructions_html,
    } = overview::task(state, id).await?;
    let sampling = crate::sampling::service::settings(state, ctx, id).await?;
    let layout = crate::layout::service::editor(state, ctx, id).await?;
    let direct_labels = crate::outcomes::service::settings(state, ctx, id)
        .await?
        .direct_labels;
    let page = TaskPage {
        sampling,
        layout,
        direct_labels,
        chrome: Chrome::of(ctx, "tasks"),
        pct: if p.items.total == 0 {
            0
        } else {
            p.items.decided * 100 / p.items.total
        },
        segments: segments(&p.items),
        activate: matches!(t.state, TaskState::Draft | TaskState::Paused),
        t,
        p,
        members,
        candidates,
        imports,
        instructions_html,
        notice,
        error,
    };
    Ok((status, html(&page)?).into_response())
}

#[derive(Deserialize)]
pub struct StateForm {
    state: String,
}

/// `POST /admin/tasks/{id}/state`: the task page's one-click Activate / Pause, through the same
/// service as the edit form and `PATCH /api/v1/tasks/{id}`.
pub async fn set_state(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Form(f): Form<StateForm>,
) -> Result<Response> {
    let patch = TaskPatch {
        state: Some(f.state),
        ..TaskPatch::default()
    };
    crate::tasks::patch(&state, &ctx, &ip, TaskId(id), patch).await?;
    Ok(Redirect::to(&format!("/admin/tasks/{id}?notice=state_changed")).into_response())
}

#[derive(Deserialize)]
pub struct UsernameForm {
    username: String,
}

pub async fn add_member(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Form(f): Form<UsernameForm>,
) -> Result<Response> {
    let to = |q: &str| Ok(Redirect::to(&format!("/admin/tasks/{id}?{q}")).into_response());
    match crate::tasks::add_member(&state, &ctx, &ip, TaskId(id), &f.username).await {
        Ok(_) => to("notice=member_added"),
        Err(AppError::BadRequest { .. }) => to("error=unknown_user"),
        Err(e) => Err(e),
    }
}

pub async fn remove_member(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Path((id, user_id)): Path<(String, String)>,
) -> Result<Response> {
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    let user_id: i64 = user_id.parse().map_err(|_| AppError::NotFound)?;
    overview::remove_member_by_id(&state, &ctx, &ip, TaskId(id), UserId(user_id)).await?;
    Ok(Redirect::to(&format!("/admin/tasks/{id}?notice=member_removed")).into_response())
}

/// "Assign shard": the same lease as the API's, on behalf of a member.
pub async fn assign(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    Id(id): Id,
    Form(f): Form<UsernameForm>,
) -> Result<Response> {
    let to = |q: &str| Ok(Redirect::to(&format!("/admin/tasks/{id}?{q}")).into_response());
    match lease::assign(&state, &ctx, TaskId(id), &f.username).await {
        Ok(LeaseOutcome::Shard(_)) => to("notice=assigned"),
        Ok(LeaseOutcome::NothingLeft) => to("notice=nothing_left"),
        // An unknown name, or someone who is not a member of the task.
        Err(AppError::BadRequest { .. }) => to("error=unknown_user"),
        // Why this rater gets no work (the task is not active, the rater is paused or not
        // qualified), said as it is. The page is drawn here rather than redirected to, so the
        // message never travels in a URL.
        Err(AppError::Conflict { message, .. }) => {
            render_page(
                &state,
                &ctx,
                TaskId(id),
                None,
                Some(message),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(e) => Err(e),
    }
}
