//! Label submission: one write transaction that checks the lease, stores the label, keeps the
//! item's counters and state in step, and records the answer under its submission key so a retry
//! gets the same answer and stores nothing new.

use serde_json::{Value, json};
use sqlx::FromRow;

use crate::db::shards;
use crate::db::tasks::Task;
use crate::domain::ids::{ShardId, TaskId, UserId};
use crate::domain::resolve::{self, Decision};

/// Why a submission was refused (mapped to HTTP by the caller).
#[derive(Debug)]
pub enum Refusal {
    NotFound,
    KeyReused,
    InvalidValue(String),
    LeaseExpired,
    TaskNotActive,
}

/// The stored answer to a submission: status and JSON body, replayed for retries.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

#[derive(FromRow)]
struct LeaseRow {
    user_id: i64,
    task_id: i64,
    expires_at: i64,
    swept: i64,
    si_state: Option<String>,
}

#[derive(FromRow)]
struct ItemRow {
    task_id: i64,
    state: String,
    label_count: i64,
    active_leases: i64,
    target: i64,
    gold: i64,
    label_id: Option<i64>,
    revision: Option<i64>,
}

pub struct Submission<'a> {
    pub shard: ShardId,
    pub item: i64,
    pub value: &'a Value,
    pub duration_ms: i64,
    pub key: &'a str,
}

/// The idempotency fingerprint of a request: same key and same fingerprint replay, same key and
/// another fingerprint is a reused key.
fn fingerprint(s: &Submission<'_>) -> String {
    use sha2::{Digest, Sha256};
    let text = json!({"shard": s.shard.0, "item": s.item, "value": s.value}).to_string();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Looks up an earlier answer under the same key.
pub async fn replay(
    tx: &mut super::Tx,
    user: UserId,
    s: &Submission<'_>,
) -> Result<Option<Result<Answer, Refusal>>, sqlx::Error> {
    let row: Option<(String, i64, String)> =
        sqlx::query_as("SELECT request_hash, status, response_json FROM submissions WHERE user_id = $1 AND submission_key = $2")
            .bind(user.0)
            .bind(s.key)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.map(|(hash, status, body)| {
        if hash == fingerprint(s) {
            Ok(Answer {
                status: status as u16,
                body: serde_json::from_str(&body).unwrap_or(Value::Null),
            })
        } else {
            Err(Refusal::KeyReused)
        }
    }))
}

/// Stores a label (or changes this rater's earlier answer on the same item).
pub async fn submit(
    tx: &mut super::Tx,
    task: &Task,
    user: UserId,
    s: &Submission<'_>,
    now: i64,
) -> Result<Result<Answer, Refusal>, sqlx::Error> {
    if let Some(previous) = replay(tx, user, s).await? {
        return Ok(previous);
    }
    // One read for the shard and this item's place in it, one for the item and any earlier answer:
    // every statement is a round trip to the database thread, and this is the hot path.
    let lease: Option<LeaseRow> = sqlx::query_as(
        "SELECT s.user_id, s.task_id, s.expires_at, s.swept, si.state AS si_state
         FROM shards s LEFT JOIN shard_items si ON si.shard_id = s.id AND si.item_id = $2 WHERE s.id = $1",
    )
    .bind(s.shard.0)
    .bind(s.item)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(lease) = lease else {
        return Ok(Err(Refusal::NotFound));
    };
    if lease.user_id != user.0 || lease.task_id != task.id.0 {
        return Ok(Err(Refusal::NotFound));
    }
    let Some(si_state) = lease.si_state.clone() else {
        return Ok(Err(Refusal::NotFound));
    };
    let live = lease.swept == 0 && lease.expires_at > now;
    if task.state != "active" {
        return Ok(Err(Refusal::TaskNotActive));
    }
    let value = match task.schema.check_value(s.value) {
        Ok(v) => v,
        Err(e) => return Ok(Err(Refusal::InvalidValue(e))),
    };
    let value_json = value.to_string();
    let lease_ms = task.lease_minutes * 60_000;
    let Some(item) = sqlx::query_as::<_, ItemRow>(
        "SELECT i.task_id, i.state, i.label_count, i.active_leases, i.target, (i.gold_json IS NOT NULL) AS gold,
            l.id AS label_id, l.revision AS revision
         FROM items i LEFT JOIN labels l ON l.item_id = i.id AND l.user_id = $2 WHERE i.id = $1",
    )
    .bind(s.item)
    .bind(user.0)
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(Err(Refusal::NotFound));
    };
    if item.task_id != task.id.0 {
        return Ok(Err(Refusal::NotFound));
    }
    let answer = if let (Some(label_id), Some(revision)) = (item.label_id, item.revision) {
        // A change of mind within the shard: same label row, new value, new revision.
        if !live {
            return Ok(Err(Refusal::LeaseExpired));
        }
        sqlx::query("UPDATE labels SET value_json = $1, duration_ms = duration_ms + $2, revision = $3, updated_at = $4, instruction_version = $5 WHERE id = $6")
            .bind(&value_json)
            .bind(s.duration_ms)
            .bind(revision + 1)
            .bind(now)
            .bind(task.instructions_version)
            .bind(label_id)
            .execute(&mut **tx)
            .await?;
        // The answer says nothing about the item's state: that would tell gold items apart.
        settle(tx, task, s.item, now).await?;
        Answer {
            status: 200,
            body: json!({"label_id": label_id, "item_id": s.item, "status": "updated"}),
        }
    } else {
        let holds_lease = si_state == "leased" && live;
        let mut item = item;
        if holds_lease {
            sqlx::query("UPDATE items SET label_count = label_count + 1, active_leases = active_leases - 1 WHERE id = $1")
                .bind(s.item)
                .execute(&mut **tx)
                .await?;
        } else {
            // Late (expired lease) or after a skip: only a member may still answer; give expired
            // leases back first, so the counts are exact, then accept only while the item still
            // needs labels.
            if !crate::db::tasks::is_member(&mut **tx, task.id, user).await? {
                return Ok(Err(Refusal::NotFound));
            }
            if shards::sweep_expired(tx, now).await? > 0 {
                let (state, count, leases, target): (String, i64, i64, i64) = sqlx::query_as(
                    "SELECT state, label_count, active_leases, target FROM items WHERE id = $1",
                )
                .bind(s.item)
                .fetch_one(&mut **tx)
                .await?;
                (
                    item.state,
                    item.label_count,
                    item.active_leases,
                    item.target,
                ) = (state, count, leases, target);
            }
            if item.state != "open" || item.label_count + item.active_leases >= item.target {
                return Ok(Err(Refusal::LeaseExpired));
            }
            sqlx::query("UPDATE items SET label_count = label_count + 1 WHERE id = $1")
                .bind(s.item)
                .execute(&mut **tx)
                .await?;
            sqlx::query("DELETE FROM skips WHERE item_id = $1 AND user_id = $2")
                .bind(s.item)
                .bind(user.0)
                .execute(&mut **tx)
                .await?;
        }
        shards::set_item_state(&mut **tx, s.shard, s.item, "labeled").await?;
        let label_id: i64 = sqlx::query_scalar(
            "INSERT INTO labels (task_id, item_id, user_id, shard_id, value_json, duration_ms, instruction_version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(task.id.0)
        .bind(s.item)
        .bind(user.0)
        .bind(s.shard.0)
        .bind(&value_json)
        .bind(s.duration_ms.clamp(0, 86_400_000))
        .bind(task.instructions_version)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
        // Only the label that completes an item can change its resolution.
        if item.label_count + 1 >= item.target {
            settle(tx, task, s.item, now).await?;
        }
        if item.gold != 0 {
            check_gold_window(tx, task, user, now).await?;
        }
        Answer {
            status: 201,
            body: json!({"label_id": label_id, "item_id": s.item, "status": "created"}),
        }
    };
    // An active rater keeps the shard: the lease is pushed to a full term, at most once a minute.
    if live && lease.expires_at < now + lease_ms - 60_000 {
        shards::extend(&mut **tx, s.shard, now + lease_ms).await?;
    }
    sqlx::query(
        "INSERT INTO submissions (user_id, submission_key, request_hash, status, response_json, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user.0)
    .bind(s.key)
    .bind(fingerprint(s))
    .bind(i64::from(answer.status))
    .bind(answer.body.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(Ok(answer))
}

/// The continuous check: a rater whose accuracy over the last `gold_window` gold answers falls
/// below the task's minimum is paused for the task (admins see why and can lift it).
async fn check_gold_window(
    tx: &mut super::Tx,
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
        let first = crate::db::quality::gold_answers(
            &mut **tx,
            task.id,
            user,
            true,
            q.qualification_items + 1,
        )
        .await?;
        if first.len() as i64 <= q.qualification_items {
            return Ok(());
        }
    }
    let recent =
        crate::db::quality::gold_answers(&mut **tx, task.id, user, false, q.gold_window).await?;
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
        crate::db::quality::set_status(&mut **tx, task.id, user, true, false, &reason, None, now)
            .await?;
        tracing::info!(task = %task.id, user = %user, "rater paused by the gold check");
    }
    Ok(())
}

/// Applies the cheap resolution once an item has all the labels it asked for (and again when a
/// rater changes an answer on a finished item). Returns the item's state afterwards.
pub async fn settle(
    tx: &mut super::Tx,
    task: &Task,
    item: i64,
    now: i64,
) -> Result<String, sqlx::Error> {
    let (state, label_count, target): (String, i64, i64) =
        sqlx::query_as("SELECT state, label_count, target FROM items WHERE id = $1")
            .bind(item)
            .fetch_one(&mut **tx)
            .await?;
    if label_count < target || state == "resolved" {
        return Ok(state);
    }
    let values: Vec<String> =
        sqlx::query_scalar("SELECT value_json FROM labels WHERE item_id = $1 ORDER BY id")
            .bind(item)
            .fetch_all(&mut **tx)
            .await?;
    let values: Vec<Value> = values
        .iter()
        .filter_map(|v| serde_json::from_str(v).ok())
        .collect();
    let new_state = match resolve::decide(&values, task.agreement, target, task.max_overlap) {
        Decision::Resolved {
            value,
            method,
            confidence,
            votes,
        } => {
            sqlx::query(
                "INSERT INTO resolutions (item_id, task_id, value_json, method, confidence, votes_json, resolved_by, resolved_at)
                 VALUES ($1, $2, $3, $4, $5, $6, NULL, $7)
                 ON CONFLICT (item_id) DO UPDATE SET value_json = excluded.value_json, method = excluded.method,
                    confidence = excluded.confidence, votes_json = excluded.votes_json, resolved_by = NULL, resolved_at = excluded.resolved_at",
            )
            .bind(item)
            .bind(task.id.0)
            .bind(value.to_string())
            .bind(method)
            .bind(confidence)
            .bind(serde_json::to_string(&votes).unwrap_or_default())
            .bind(now)
            .execute(&mut **tx)
            .await?;
            "complete"
        }
        Decision::MoreLabels { .. } => {
            sqlx::query("UPDATE items SET target = target + 1 WHERE id = $1")
                .bind(item)
                .execute(&mut **tx)
                .await?;
            sqlx::query("DELETE FROM resolutions WHERE item_id = $1")
                .bind(item)
                .execute(&mut **tx)
                .await?;
            "open"
        }
        Decision::Adjudicate { .. } => {
            sqlx::query("DELETE FROM resolutions WHERE item_id = $1")
                .bind(item)
                .execute(&mut **tx)
                .await?;
            "adjudication"
        }
    };
    sqlx::query("UPDATE items SET state = $1 WHERE id = $2")
        .bind(new_state)
        .bind(item)
        .execute(&mut **tx)
        .await?;
    Ok(new_state.to_string())
}

/// A rater's skip of one item of their shard.
pub struct Skip<'a> {
    pub task: TaskId,
    pub user: UserId,
    pub shard: ShardId,
    pub item: i64,
    pub reason: &'a str,
    /// Also send the item to a reviewer.
    pub flag: bool,
}

/// Skips an item of the shard: its lease goes back to the pool and this rater is not offered it again.
pub async fn skip(
    tx: &mut super::Tx,
    sk: &Skip<'_>,
    now: i64,
) -> Result<Result<(), Refusal>, sqlx::Error> {
    let Skip {
        task,
        user,
        shard,
        item,
        reason,
        flag,
    } = *sk;
    let Some(sh) = shards::get(&mut **tx, shard).await? else {
        return Ok(Err(Refusal::NotFound));
    };
    if sh.user_id != user.0 || sh.task_id != task.0 {
        return Ok(Err(Refusal::NotFound));
    }
    let Some(state) = shards::item_state(&mut **tx, shard, item).await? else {
        return Ok(Err(Refusal::NotFound));
    };
    if state == "leased" && sh.swept == 0 {
        sqlx::query("UPDATE items SET active_leases = active_leases - 1 WHERE id = $1")
            .bind(item)
            .execute(&mut **tx)
            .await?;
        shards::set_item_state(&mut **tx, shard, item, "skipped").await?;
    } else if state != "skipped" {
        return Ok(Err(Refusal::LeaseExpired));
    }
    sqlx::query(
        "INSERT INTO skips (item_id, user_id, shard_id, reason, created_at, flagged) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (item_id, user_id) DO UPDATE SET reason = excluded.reason, flagged = excluded.flagged",
    )
    .bind(item)
    .bind(user.0)
    .bind(shard.0)
    .bind(reason)
    .bind(now)
    .bind(flag as i64)
    .execute(&mut **tx)
    .await?;
    if flag {
        // A flagged item waits for a reviewer (gold items are not flagged: they are settled already).
        sqlx::query("UPDATE items SET flagged = 1 WHERE id = $1 AND gold_json IS NULL")
            .bind(item)
            .execute(&mut **tx)
            .await?;
    }
    Ok(Ok(()))
}
