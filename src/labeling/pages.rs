//! The rater's pages: read and acknowledge the instructions, start a shard, and the labeling page
//! itself (the item, the controls, and `static/label.js`, which submits without reloading).
//! Each handler asks one service of `crate::labeling` and draws its answer.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use crate::auth::CurrentUser;
use crate::domain::ids::TaskId;
use crate::domain::schema::LabelSchema;
use crate::error::{AppError, Result};
use crate::http::extract::Id;
use crate::http::pages::{Chrome, html};
use crate::labeling::lease::{self, LeaseOutcome};
use crate::labeling::next::{self, NextStep};
use crate::labeling::shard::ShardView;
use crate::state::AppState;
use crate::tasks;

#[derive(Template)]
#[template(path = "ack.html")]
struct AckPage {
    chrome: Chrome,
    task_id: i64,
    task_name: String,
    version: i64,
    instructions_html: String,
    updated: bool,
}

#[derive(Template)]
#[template(path = "start.html")]
struct StartPage {
    chrome: Chrome,
    task_id: i64,
    task_name: String,
    my_labels: i64,
    shard_size: i64,
    lease_minutes: i64,
    nothing_left: bool,
}

#[derive(Template)]
#[template(path = "label.html")]
struct LabelPage {
    chrome: Chrome,
    task_name: String,
    my_labels: i64,
    version: i64,
    instructions_html: String,
    open_instructions: bool,
    shard_json: PageData,
}

/// What `static/label.js` reads from the page: the task's schema and the rater's shard.
#[derive(Serialize)]
struct PageData {
    task: PageTask,
    shard: ShardView,
}

#[derive(Serialize)]
struct PageTask {
    id: TaskId,
    name: String,
    schema: LabelSchema,
}

#[derive(Deserialize, Default)]
pub struct LabelQuery {
    done: Option<u8>,
}

/// `GET /tasks/{id}/label`: never changes anything; shows what comes next for this rater.
pub async fn page(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    axum::extract::Query(q): axum::extract::Query<LabelQuery>,
) -> Result<Response> {
    let chrome = Chrome::of(&ctx, "home");
    let page = match next::next_step(&state, &ctx, TaskId(id)).await? {
        NextStep::Acknowledge {
            task,
            instructions,
            updated,
        } => html(&AckPage {
            chrome,
            task_id: id,
            task_name: task.name,
            version: instructions.version,
            instructions_html: instructions.html,
            updated,
        })?,
        NextStep::Start { task, my_labels } => html(&StartPage {
            chrome,
            task_id: id,
            task_name: task.name,
            my_labels,
            shard_size: task.shard_size,
            lease_minutes: task.lease_minutes,
            nothing_left: q.done == Some(1),
        })?,
        NextStep::Label {
            task,
            instructions,
            my_labels,
            shard,
        } => html(&LabelPage {
            chrome,
            task_name: task.name.clone(),
            my_labels,
            version: instructions.version,
            instructions_html: instructions.html,
            open_instructions: my_labels == 0,
            shard_json: PageData {
                task: PageTask {
                    id: task.id,
                    name: task.name,
                    schema: task.schema,
                },
                shard,
            },
        })?,
    };
    Ok(page.into_response())
}

#[derive(Deserialize)]
pub struct AckForm {
    version: i64,
}

pub async fn ack(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    Form(f): Form<AckForm>,
) -> Result<Response> {
    match tasks::acknowledge(&state, &ctx, TaskId(id), f.version).await {
        // A stale version shows the current instructions again.
        Ok(()) | Err(AppError::Conflict { .. }) => {
            Ok(Redirect::to(&format!("/tasks/{id}/label")).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn start(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    match lease::lease_for_me(&state, &ctx, TaskId(id)).await {
        // A refusal shows the labeling page again, which says what is missing.
        Ok(LeaseOutcome::Shard(_)) | Err(AppError::Conflict { .. }) => {
            Ok(Redirect::to(&format!("/tasks/{id}/label")).into_response())
        }
        Ok(LeaseOutcome::NothingLeft) => {
            Ok(Redirect::to(&format!("/tasks/{id}/label?done=1")).into_response())
        }
        Err(e) => Err(e),
    }
}
