//! Label submission: the rules of one answer, run inside the group-commit writer's transaction.
//!
//! The state machine: a key used before replays its stored answer (or is refused when the request
//! differs); the shard must be the rater's and hold the item; the task must be active and the
//! value valid. A first answer on a live lease turns the lease into a label; a late one (expired
//! lease, or after a skip) is kept only while the item still needs labels. A second answer on the
//! same item changes the rater's label while the lease lives. The item's counters move with the
//! rows they count, the item is settled once its last label is in, a gold answer may pause the
//! rater, and the answer is stored under its key so a retry gets it again.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::AuthCtx;
use crate::db::labels::{NewLabel, Revision, StoredAnswer};
use crate::db::tasks::Task;
use crate::db::{self, Tx};
use crate::domain::ids::{ItemId, ShardId, UserId};
use crate::domain::states::{ItemState, ShardItemState, TaskState};
use crate::error::{AppError, Result};
use crate::labeling::codes;
use crate::labeling::writer::Job;
use crate::state::AppState;

/// `POST /api/v1/shards/{id}/labels`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelRequest {
    pub item_id: i64,
    /// The answer, in the shape the task's schema asks for.
    pub value: Value,
    /// Time spent on the item, in milliseconds.
    #[serde(default)]
    pub duration_ms: i64,
    /// Chosen by the client, 1 to 128 characters: a retry with the same key and the same answer
    /// gets the original result and stores nothing new.
    pub submission_key: String,
}

/// Whether the answer made a label or changed one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SubmitStatus {
    Created,
    Updated,
}

/// The answer to a submission. Its JSON is also what the `submissions` table keeps for replays,
/// so the fields keep their names (in this order, the order older rows were written in).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubmitOutcome {
    pub item_id: i64,
    pub label_id: i64,
    pub status: SubmitStatus,
}

impl SubmitOutcome {
    /// 201 for a new label, 200 for a changed one.
    pub fn http_status(&self) -> u16 {
        match self.status {
            SubmitStatus::Created => 201,
            SubmitStatus::Updated => 200,
        }
    }
}

/// Why a submission (or a skip) was refused; it wrote nothing.
#[derive(Debug)]
pub enum Refusal {
    NotFound,
    KeyReused,
    InvalidValue(String),
    LeaseExpired,
    TaskNotActive,
    /// The stored answer of an earlier submission could not be read back.
    Unreadable(String),
}

impl From<Refusal> for AppError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::NotFound => AppError::NotFound,
            Refusal::KeyReused => AppError::unprocessable(
                codes::SUBMISSION_KEY_REUSED,
                "this submission_key was used for a different answer",
            ),
            Refusal::InvalidValue(e) => AppError::bad_request(codes::INVALID_VALUE, e),
            Refusal::LeaseExpired => AppError::conflict(
                codes::LEASE_EXPIRED,
                "the lease on this item expired and the item has all the labels it needs; your answer was not stored",
            ),
            Refusal::TaskNotActive => AppError::conflict(
                codes::TASK_NOT_ACTIVE,
                "the task is not active; labeling is closed",
            ),
            Refusal::Unreadable(detail) => AppError::internal(detail),
        }
    }
}

/// Submits a label for the signed-in rater and answers once it is committed.
#[tracing::instrument(skip_all, fields(shard = %shard, item = req.item_id, user = %ctx.user.id))]
pub async fn submit_label(
    state: &AppState,
    ctx: &AuthCtx,
    shard: ShardId,
    req: LabelRequest,
) -> Result<SubmitOutcome> {
    let key = req.submission_key.trim();
    if key.is_empty() || key.len() > 128 {
        return Err(AppError::bad_request(
            codes::INVALID_SUBMISSION_KEY,
            "submission_key: 1 to 128 characters",
        ));
    }
    // Someone else's shard is as missing as a shard that does not exist.
    let task = state
        .shard_owners
        .task_of(&state.db, shard, ctx.user.id)
        .await?;
    let job = Job {
        task,
        user: ctx.user.id,
        shard,
        item: req.item_id,
        value: req.value,
        duration_ms: req.duration_ms,
        key: key.to_string(),
    };
    // Answered only once the batch holding this label is committed.
    match state.submitter.submit(job).await? {
        Ok(outcome) => Ok(outcome),
        Err(Refusal::NotFound) => {
            state.shard_owners.forget(shard);
            Err(AppError::NotFound)
        }
        Err(r) => Err(r.into()),
    }
}

/// One submission as the writer runs it.
pub struct Submission<'a> {
    pub shard: ShardId,
    pub item: i64,
    pub value: &'a Value,
    pub duration_ms: i64,
    pub key: &'a str,
}

/// The idempotency fingerprint of a request: same key and same fingerprint replay, same key and
/// another fingerprint is a reused key.
pub(crate) fn fingerprint(s: &Submission<'_>) -> String {
    use sha2::{Digest, Sha256};
    let text = json!({"shard": s.shard.0, "item": s.item, "value": s.value}).to_string();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The earlier answer under the same key, read back as it was first given.
pub(crate) fn replay(stored: StoredAnswer, s: &Submission<'_>) -> Result<SubmitOutcome, Refusal> {
    if stored.request_hash != fingerprint(s) {
        return Err(Refusal::KeyReused);
    }
    serde_json::from_str(&stored.response_json)
        .map_err(|e| Refusal::Unreadable(format!("stored answer of a submission: {e}")))
}

/// Runs one submission inside the writer's transaction. `Ok(Err(_))` is a refusal that wrote
/// nothing (the batch goes on); `Err(_)` is a database error (the batch fails).
pub async fn submit_in(
    tx: &mut Tx,
    task: &Task,
    user: UserId,
    s: &Submission<'_>,
    now: i64,
) -> Result<Result<SubmitOutcome, Refusal>, sqlx::Error> {
    if let Some(stored) = db::labels::stored_answer(&mut **tx, user, s.key).await? {
        return Ok(replay(stored, s));
    }
    // One read for the shard and this item's place in it, one for the item and any earlier answer:
    // every statement is a round trip to the database thread, and this is the hot path.
    let Some(lease) = db::labels::lease_of(&mut **tx, s.shard, s.item).await? else {
        return Ok(Err(Refusal::NotFound));
    };
    if lease.user_id != user || lease.task_id != task.id {
        return Ok(Err(Refusal::NotFound));
    }
    let Some(si_state) = lease.si_state else {
        return Ok(Err(Refusal::NotFound));
    };
    let live = lease.swept == 0 && lease.expires_at > now;
    if task.state != TaskState::Active {
        return Ok(Err(Refusal::TaskNotActive));
    }
    let value = match task.schema.check_value(s.value) {
        Ok(v) => v,
        Err(e) => return Ok(Err(Refusal::InvalidValue(e))),
    };
    let value_json = value.to_string();
    let Some(item) = db::labels::item_for_rater(&mut **tx, s.item, user).await? else {
        return Ok(Err(Refusal::NotFound));
    };
    if item.task_id != task.id {
        return Ok(Err(Refusal::NotFound));
    }
    // Span offsets are checked against the item's text, once the item is known to be the rater's.
    if crate::domain::kinds::needs_item(&task.schema) {
        let data: Value = db::kinds::item_data(&mut **tx, s.item)
            .await?
            .and_then(|d| serde_json::from_str(&d).ok())
            .unwrap_or(Value::Null);
        if let Err(e) = crate::domain::kinds::check_against_item(&task.schema, &value, &data) {
            return Ok(Err(Refusal::InvalidValue(e)));
        }
    }
    let outcome = if let (Some(label_id), Some(revision)) = (item.label_id, item.revision) {
        // A change of mind within the shard: same label row, new value, new revision.
        if !live {
            return Ok(Err(Refusal::LeaseExpired));
        }
        let r = Revision {
            label_id,
            value_json: &value_json,
            duration_ms: s.duration_ms,
            revision: revision + 1,
            instruction_version: task.instructions_version,
        };
        db::labels::revise(&mut **tx, &r, now).await?;
        // The answer says nothing about the item's state: that would tell gold items apart.
        super::settle::settle(tx, task, s.item, now).await?;
        SubmitOutcome {
            item_id: s.item,
            label_id,
            status: SubmitStatus::Updated,
        }
    } else {
        let first = FirstAnswer {
            holds_lease: si_state == ShardItemState::Leased && live,
            counts: Counts {
                state: item.state,
                label_count: item.label_count,
                active_leases: item.active_leases,
                target: item.target,
            },
            gold: item.gold != 0,
        };
        match first_answer(tx, task, user, s, &value_json, first, now).await? {
            Ok(o) => o,
            Err(r) => return Ok(Err(r)),
        }
    };
    // An active rater keeps the shard: the lease is pushed to a full term, at most once a minute.
    let lease_ms = task.lease_minutes * 60_000;
    if live && lease.expires_at < now + lease_ms - 60_000 {
        db::shards::extend(&mut **tx, s.shard, now + lease_ms).await?;
    }
    let body = serde_json::to_string(&outcome).unwrap_or_default();
    let hash = fingerprint(s);
    let status = i64::from(outcome.http_status());
    db::labels::store_answer(&mut **tx, user, s.key, &hash, status, &body, now).await?;
    Ok(Ok(outcome))
}

/// The item's counters as the submission found them.
struct Counts {
    state: ItemState,
    label_count: i64,
    active_leases: i64,
    target: i64,
}

/// What the first answer of a rater on an item starts from.
struct FirstAnswer {
    holds_lease: bool,
    counts: Counts,
    gold: bool,
}

/// A rater's first answer on an item: on a live lease it becomes a label; without one (late, or
/// after a skip) only a member may still answer, and only while the item still needs labels.
async fn first_answer(
    tx: &mut Tx,
    task: &Task,
    user: UserId,
    s: &Submission<'_>,
    value_json: &str,
    first: FirstAnswer,
    now: i64,
) -> Result<Result<SubmitOutcome, Refusal>, sqlx::Error> {
    let mut c = first.counts;
    if first.holds_lease {
        db::items::count_leased_label(&mut **tx, s.item).await?;
    } else {
        if !db::tasks::is_member(&mut **tx, task.id, user).await? {
            return Ok(Err(Refusal::NotFound));
        }
        // Expired leases go back first, so the counts are exact.
        if db::shards::sweep_expired(tx, now).await? > 0 {
            let fresh = db::items::counts(&mut **tx, s.item).await?;
            c = Counts {
                state: fresh.state,
                label_count: fresh.label_count,
                active_leases: fresh.active_leases,
                target: fresh.target,
            };
        }
        if c.state != ItemState::Open || c.label_count + c.active_leases >= c.target {
            return Ok(Err(Refusal::LeaseExpired));
        }
        db::items::count_label(&mut **tx, s.item).await?;
        db::labels::delete_skip(&mut **tx, s.item, user).await?;
    }
    db::shards::set_item_state(&mut **tx, s.shard, s.item, ShardItemState::Labeled).await?;
    let label = NewLabel {
        task: task.id,
        item: s.item,
        user,
        shard: s.shard,
        value_json,
        duration_ms: s.duration_ms.clamp(0, 86_400_000),
        instruction_version: task.instructions_version,
    };
    let label_id = db::labels::insert(&mut **tx, &label, now).await?;
    crate::sampling::service::record_kept(tx, task.id, ItemId(s.item), user, label.value_json)
        .await?;
    // Only the label that completes an item can change its resolution.
    if c.label_count + 1 >= c.target {
        super::settle::settle(tx, task, s.item, now).await?;
    }
    if first.gold {
        super::gold::check_window(tx, task, user, now).await?;
    }
    Ok(Ok(SubmitOutcome {
        item_id: s.item,
        label_id,
        status: SubmitStatus::Created,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_answer_keeps_its_shape() {
        let o = SubmitOutcome {
            item_id: 7,
            label_id: 3,
            status: SubmitStatus::Created,
        };
        // What older rows hold (written with `json!`) reads back as the same answer.
        let old = json!({"label_id": 3, "item_id": 7, "status": "created"}).to_string();
        assert_eq!(serde_json::to_string(&o).unwrap(), old);
        assert_eq!(serde_json::from_str::<SubmitOutcome>(&old).unwrap(), o);
        assert_eq!(o.http_status(), 201);
        let updated = r#"{"item_id": 7, "label_id": 3, "status": "updated"}"#;
        let u: SubmitOutcome = serde_json::from_str(updated).unwrap();
        assert_eq!(u.http_status(), 200);
    }
}
