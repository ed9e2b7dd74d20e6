//! What comes next for a rater in a task, as the labeling page shows it: read and acknowledge
//! the instructions, start a shard, or go on with the live one. Reads only.

use crate::auth::AuthCtx;
use crate::db;
use crate::db::tasks::{Instructions, Task};
use crate::domain::ids::TaskId;
use crate::domain::states::TaskState;
use crate::error::{AppError, Result};
use crate::labeling::shard::{self, ShardView};
use crate::state::AppState;

/// The rater's next step.
pub enum NextStep {
    /// The current instructions are not acknowledged (`updated`: an older version was).
    Acknowledge {
        task: Task,
        instructions: Instructions,
        updated: bool,
    },
    /// No live shard (or the task is paused): the rater may ask for one.
    Start { task: Task, my_labels: i64 },
    /// A live shard, with every item and the rater's answers so far.
    Label {
        task: Task,
        instructions: Instructions,
        my_labels: i64,
        shard: ShardView,
    },
}

/// The next step of the signed-in member in `task`.
#[tracing::instrument(skip_all, fields(task = %task, user = %ctx.user.id))]
pub async fn next_step(state: &AppState, ctx: &AuthCtx, task: TaskId) -> Result<NextStep> {
    let task = crate::tasks::workable(state, ctx, task).await?;
    let instructions = db::tasks::instructions(&state.db.pool, task.id, task.instructions_version)
        .await?
        .ok_or(AppError::NotFound)?;
    let acked = db::tasks::acked_version(&state.db.pool, task.id, ctx.user.id).await?;
    if acked != Some(task.instructions_version) {
        return Ok(NextStep::Acknowledge {
            task,
            instructions,
            updated: acked.is_some(),
        });
    }
    let my_labels = db::items::labels_by(&state.db.pool, task.id, ctx.user.id).await?;
    let live = db::shards::live_for(&state.db.pool, task.id, ctx.user.id, state.now()).await?;
    let Some(live) = live.filter(|_| task.state == TaskState::Active) else {
        return Ok(NextStep::Start { task, my_labels });
    };
    let shard = shard::view(state, live.id, ctx.user.id, true, None).await?;
    Ok(NextStep::Label {
        task,
        instructions,
        my_labels,
        shard,
    })
}
