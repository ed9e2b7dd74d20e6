//! Leasing: handing a rater the next shard of a task, whether they ask for it or an admin assigns
//! it. One implementation serves the rater's API, the labeling page and the admin's "Assign
//! shard" (page and API).
//!
//! Who may get work: the task must be active, the rater must have acknowledged the current
//! instructions (unless an admin assigns the shard), must not be paused, and must not have failed
//! the qualification. A rater who still holds a live shard gets it back; a new lease is written by
//! the group-commit writer, in the same transactions as labels, so labels plus live leases never
//! exceed an item's target.

use crate::auth::AuthCtx;
use crate::db::tasks::Task;
use crate::db::{self, Tx};
use crate::domain::ids::{ShardId, TaskId, UserId};
use crate::domain::role::Role;
use crate::domain::states::TaskState;
use crate::error::{AppError, Result};
use crate::labeling::codes;
use crate::labeling::shard::{self, ShardView};
use crate::state::AppState;

/// The answer to a lease request.
#[derive(Debug)]
pub enum LeaseOutcome {
    /// The rater's shard, with the items still to label.
    Shard(ShardView),
    /// Nothing is left for this rater in the task.
    NothingLeft,
}

/// The signed-in member asks for work in a task.
#[tracing::instrument(skip_all, fields(task = %task, user = %ctx.user.id))]
pub async fn lease_for_me(state: &AppState, ctx: &AuthCtx, task: TaskId) -> Result<LeaseOutcome> {
    let (task, gate) = crate::tasks::workable_gate(state, ctx, task).await?;
    let status = db::quality::RaterStatus {
        paused: gate.paused,
        reason: gate.reason,
        qualification_waived: gate.qualification_waived,
    };
    lease(state, &task, ctx.user.id, None, gate.acked, status).await
}

/// An admin hands the next shard of a task to one of its members (the rater need not have
/// acknowledged the instructions yet: the labeling page asks them to first).
#[tracing::instrument(skip_all, fields(task = %task, admin = %ctx.user.id))]
pub async fn assign(
    state: &AppState,
    ctx: &AuthCtx,
    task: TaskId,
    username: &str,
) -> Result<LeaseOutcome> {
    if ctx.user.role != Role::Admin {
        return Err(AppError::Forbidden);
    }
    let task = db::tasks::get(&state.db.pool, task)
        .await?
        .ok_or(AppError::NotFound)?;
    let user = crate::tasks::active_user(state, username).await?;
    if !db::tasks::is_member(&state.db.pool, task.id, user).await? {
        return Err(AppError::bad_request(
            codes::NOT_A_MEMBER,
            format!("{} is not a member of this task", username.trim()),
        ));
    }
    let status = db::quality::status(&state.db.pool, task.id, user).await?;
    lease(state, &task, user, Some(ctx.user.id), None, status).await
}

/// Leases the next shard of `task` for `user` (or returns their live one). `assigned_by` is the
/// admin who assigns it, when it is not the rater asking; `acked` is the instructions version
/// the rater acknowledged (asked only of a rater), `status` their pause and waiver.
async fn lease(
    state: &AppState,
    task: &Task,
    user: UserId,
    assigned_by: Option<UserId>,
    acked: Option<i64>,
    status: db::quality::RaterStatus,
) -> Result<LeaseOutcome> {
    if task.state != TaskState::Active {
        return Err(AppError::conflict(
            codes::TASK_NOT_ACTIVE,
            format!("the task is {}; labeling is closed", task.state),
        ));
    }
    if assigned_by.is_none() && acked != Some(task.instructions_version) {
        return Err(AppError::conflict(
            codes::INSTRUCTIONS_NOT_ACKNOWLEDGED,
            format!(
                "read and acknowledge the instructions (version {}) first",
                task.instructions_version
            ),
        ));
    }
    check_may_work(state, task, user, &status, assigned_by.is_some()).await?;
    let now = state.now();
    // Asking again returns the live shard: a read, no write lock.
    if let Some(s) = db::shards::live_for(&state.db.pool, task.id, user, now).await? {
        return Ok(LeaseOutcome::Shard(
            shard::view(state, s.id, user, false, Some(task)).await?,
        ));
    }
    // New leases are written by the same writer as labels, batched with them.
    match state
        .submitter
        .lease(task.clone(), user, assigned_by)
        .await?
    {
        Some(id) => Ok(LeaseOutcome::Shard(
            shard::view(state, id, user, false, Some(task)).await?,
        )),
        None => Ok(LeaseOutcome::NothingLeft),
    }
}

/// Refuses work to a paused rater and to one who failed the qualification (unless an admin waived
/// it). The message speaks to the rater, or about them when an admin assigns the work.
async fn check_may_work(
    state: &AppState,
    task: &Task,
    user: UserId,
    status: &db::quality::RaterStatus,
    by_admin: bool,
) -> Result<()> {
    if status.paused != 0 {
        let who = if by_admin { "the rater is" } else { "you are" };
        return Err(AppError::conflict(
            codes::RATER_PAUSED,
            format!(
                "{who} paused in this task: {}. An admin can lift the pause.",
                status.reason
            ),
        ));
    }
    let q = task.quality.qualification_items;
    if q > 0 && status.qualification_waived == 0 {
        let first = db::quality::gold_answers(&state.db.pool, task.id, user, true, q).await?;
        if first.len() as i64 >= q {
            let acc = first.iter().filter(|ok| **ok).count() as f64 / first.len() as f64;
            if acc < task.quality.qualification_pass {
                let whose = if by_admin { "the rater's" } else { "your" };
                return Err(AppError::conflict(
                    codes::NOT_QUALIFIED,
                    format!(
                        "{whose} qualification score is {:.0}%, below the pass mark of {:.0}%",
                        acc * 100.0,
                        task.quality.qualification_pass * 100.0
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Leases a shard inside the writer's transaction (which has given expired leases back first):
/// returns the rater's live shard if one appeared meanwhile, else picks items and records the
/// lease.
pub async fn lease_in(
    tx: &mut Tx,
    task: &Task,
    user: UserId,
    assigned_by: Option<UserId>,
    now: i64,
) -> Result<Option<ShardId>> {
    if let Some(s) = db::shards::live_for(&mut **tx, task.id, user, now).await? {
        return Ok(Some(s.id));
    }
    let items = pick_mix(tx, task, user).await?;
    if items.is_empty() {
        return Ok(None);
    }
    let id = db::shards::create(
        tx,
        task.id,
        user,
        assigned_by,
        &items,
        now,
        now + task.lease_minutes * 60_000,
    )
    .await?;
    Ok(Some(id))
}

/// The items of a new shard: only gold while a new rater qualifies; otherwise real items with
/// gold mixed in at the task's ratio, in an order that does not give the gold ones away.
async fn pick_mix(tx: &mut Tx, task: &Task, user: UserId) -> Result<Vec<i64>> {
    let size = task.shard_size;
    let q = task.quality.qualification_items;
    let status = db::quality::status(&mut **tx, task.id, user).await?;
    if q > 0 && status.qualification_waived == 0 {
        let done = db::quality::gold_answers(&mut **tx, task.id, user, true, q)
            .await?
            .len() as i64;
        if done < q {
            let gold = db::quality::pick_gold(tx, task.id, user, (q - done).min(size)).await?;
            if !gold.is_empty() {
                return Ok(gold);
            }
            // Fewer gold items than the qualification asks for: what exists has to do.
        }
    }
    let want_gold = if task.gold_ratio > 0.0 {
        ((size as f64 * task.gold_ratio).round() as i64).clamp(1, size.max(1))
    } else {
        0
    };
    let order = crate::sampling::pick_order(&mut **tx, task.id).await?;
    let real =
        db::shards::pick_items(tx, task.id, user, size - want_gold.min(size - 1), order).await?;
    if real.is_empty() {
        // Never hand out a shard of gold alone once real work has run out.
        return Ok(real);
    }
    let gold =
        db::quality::pick_gold(tx, task.id, user, want_gold.min(size - real.len() as i64)).await?;
    Ok(mix_in(real, gold, user))
}

/// Real items keep their fullest-first order; each gold item goes in at a position taken from a
/// hash of its id, so gold lands anywhere in the shard and nothing marks it.
fn mix_in(real: Vec<i64>, gold: Vec<i64>, user: UserId) -> Vec<i64> {
    let mut all = real;
    for g in gold {
        let h =
            (g as u64 ^ (user.0 as u64).rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33;
        let at = (h % (all.len() as u64 + 1)) as usize;
        all.insert(at, g);
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gold_is_mixed_in_without_reordering_real_items() {
        let real = vec![10, 11, 12, 13];
        let all = mix_in(real.clone(), vec![900, 901], UserId(7));
        assert_eq!(all.len(), 6);
        let kept: Vec<i64> = all.iter().copied().filter(|i| *i < 900).collect();
        assert_eq!(kept, real);
        assert!(all.contains(&900) && all.contains(&901));
        // The same rater gets the same order: a retried lease is stable.
        assert_eq!(all, mix_in(real, vec![900, 901], UserId(7)));
    }
}
