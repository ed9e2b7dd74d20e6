//! A task's progress with what it waits for: the counts by state, the raters the settings need
//! against the raters the task has, and the blockers (`domain::readiness`) in words. The task
//! page and `GET /api/v1/tasks/{id}/progress` show the same [`ProgressView`].

use crate::db::{self, tasks::Task};
use crate::domain::readiness::{Facts, blockers};
use crate::error::Result;
use crate::state::AppState;
use crate::tasks::views::{ItemCounts, ProgressView, RaterNeeds, WaitingView};

/// Everything about where a task stands.
#[tracing::instrument(skip_all, fields(task = %t.id))]
pub async fn of(state: &AppState, t: &Task) -> Result<ProgressView> {
    let pool = &state.db.pool;
    let p = db::items::progress(pool, t.id, state.now()).await?;
    let (on_task, acknowledged) =
        db::tasks::rater_counts(pool, t.id, t.instructions_version).await?;
    let w = db::items::waiting(pool, t.id, on_task).await?;
    let facts = Facts {
        state: Some(t.state),
        items: p.total,
        open_items: p.open,
        overlap: t.overlap,
        max_overlap: t.max_overlap,
        raters: on_task,
        raters_acknowledged: acknowledged,
        instructions_version: t.instructions_version,
        short_of_raters: w.short_of_raters,
    };
    Ok(ProgressView {
        items: ItemCounts {
            total: p.total,
            open: p.open,
            complete: p.complete,
            adjudication: p.adjudication,
            resolved: p.resolved,
            decided: p.done(),
        },
        labels: p.labels,
        active_leases: p.active_leases,
        raters_working: p.raters_working,
        raters: RaterNeeds {
            needed: t.overlap,
            max_needed: t.max_overlap,
            on_task,
            acknowledged,
        },
        waiting: WaitingView {
            unlabeled: w.unlabeled,
            partly_labeled: w.partly_labeled,
            short_of_raters: w.short_of_raters,
            review: p.adjudication,
        },
        blockers: blockers(&facts),
    })
}
