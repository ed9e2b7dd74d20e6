//! The continuous gold check: after each gold answer, a rater whose accuracy over the last
//! `gold_window` gold answers falls below the task's minimum is paused for the task (admins see
//! why on the quality page and can lift the pause).

use crate::db::tasks::Task;
use crate::db::{self, Tx};
use crate::domain::ids::UserId;

/// Runs the check for `user` inside the submission's transaction.
pub async fn check_window(
    tx: &mut Tx,
    task: &Task,
    user: UserId,
    now: i64,
) -> Result<(), sqlx::Error> {
    let q = &task.quality;
    if q.gold_min_accuracy <= 0.0 {
        return Ok(());
    }
    if q.qualification_items > 0 {
        // While qualifying, the qualification decides; the continuous check starts after it.
        let first =
            db::quality::gold_answers(&mut **tx, task.id, user, true, q.qualification_items + 1)
                .await?;
        if first.len() as i64 <= q.qualification_items {
            return Ok(());
        }
    }
    let recent = db::quality::gold_answers(&mut **tx, task.id, user, false, q.gold_window).await?;
    if (recent.len() as i64) < q.gold_window {
        return Ok(());
    }
    let acc = recent.iter().filter(|ok| **ok).count() as f64 / recent.len() as f64;
    if acc < q.gold_min_accuracy {
        let reason = format!(
            "gold accuracy {:.0}% over the last {} gold answers is below {:.0}%",
            acc * 100.0,
            recent.len(),
            q.gold_min_accuracy * 100.0
        );
        db::quality::set_status(&mut **tx, task.id, user, true, false, &reason, None, now).await?;
        tracing::info!(task = %task.id, user = %user, "rater paused by the gold check");
    }
    Ok(())
}
