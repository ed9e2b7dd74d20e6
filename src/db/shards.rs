//! Shard leases: handing items to raters so that labels plus live leases never exceed an item's
//! target, and giving expired leases back.
//!
//! `items.label_count` and `items.active_leases` change only inside write transactions (the
//! statements here and the counter statements of `items.rs` that `crate::labeling` runs), always
//! together with the rows they count, so the pool query is a single indexed comparison and stays
//! fast however many items a task has.

use sqlx::{AnyExecutor, FromRow};

use crate::domain::ids::{ItemId, ShardId, TaskId, UserId};
use crate::domain::states::ShardItemState;

#[derive(Clone, Debug, FromRow)]
pub struct Shard {
    pub id: ShardId,
    pub task_id: TaskId,
    pub user_id: UserId,
    pub created_at: i64,
    pub expires_at: i64,
    pub swept: i64,
}

impl Shard {
    pub fn is_live(&self, now: i64) -> bool {
        self.swept == 0 && self.expires_at > now
    }
}

#[derive(Clone, Debug, FromRow)]
pub struct ShardItem {
    pub item_id: ItemId,
    pub position: i64,
    pub state: ShardItemState,
    pub data_json: String,
    /// This rater's current answer, when they gave one.
    pub value_json: Option<String>,
}

/// Gives back the leased items of every shard that expired by `now`. Cheap when nothing expired
/// (one indexed probe), so it runs at the start of every lease and submission.
pub async fn sweep_expired(tx: &mut super::Tx, now: i64) -> Result<u64, sqlx::Error> {
    let expired: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM shards WHERE swept = 0 AND expires_at <= $1 LIMIT 500")
            .bind(now)
            .fetch_all(&mut **tx)
            .await?;
    if !expired.is_empty() {
        // Three statements for all of them. An item may be leased in several expired shards (to
        // different raters): it gets one lease back for each.
        let list: Vec<String> = (1..=expired.len()).map(|n| format!("${n}")).collect();
        let list = list.join(", ");
        let sql = format!(
            "UPDATE items SET active_leases = active_leases -
                (SELECT COUNT(*) FROM shard_items si WHERE si.item_id = items.id AND si.state = 'leased' AND si.shard_id IN ({list}))
             WHERE id IN (SELECT item_id FROM shard_items WHERE state = 'leased' AND shard_id IN ({list}))"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in &expired {
            q = q.bind(*id);
        }
        q.execute(&mut **tx).await?;
        let sql = format!(
            "UPDATE shard_items SET state = 'expired' WHERE state = 'leased' AND shard_id IN ({list})"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in &expired {
            q = q.bind(*id);
        }
        q.execute(&mut **tx).await?;
        let sql = format!("UPDATE shards SET swept = 1 WHERE id IN ({list})");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in &expired {
            q = q.bind(*id);
        }
        q.execute(&mut **tx).await?;
    }
    // Counted here because every path that gives leases back (lease, submit, the sweeper) comes
    // through this function. (Counted even if the caller's transaction later rolls back: a
    // monitoring figure, not a ledger.)
    metrics::counter!("quorum_leases_expired_total").increment(expired.len() as u64);
    Ok(expired.len() as u64)
}

pub async fn get(ex: impl AnyExecutor<'_>, id: ShardId) -> Result<Option<Shard>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, task_id, user_id, created_at, expires_at, swept FROM shards WHERE id = $1",
    )
    .bind(id.0)
    .fetch_optional(ex)
    .await
}

/// A shard's task and owner.
pub async fn owner(
    ex: impl AnyExecutor<'_>,
    id: ShardId,
) -> Result<Option<(TaskId, UserId)>, sqlx::Error> {
    sqlx::query_as("SELECT task_id, user_id FROM shards WHERE id = $1")
        .bind(id.0)
        .fetch_optional(ex)
        .await
}

/// The rater's live shard in a task that still has leased items, if any.
pub async fn live_for(
    ex: impl AnyExecutor<'_>,
    task: TaskId,
    user: UserId,
    now: i64,
) -> Result<Option<Shard>, sqlx::Error> {
    sqlx::query_as(
        "SELECT s.id, s.task_id, s.user_id, s.created_at, s.expires_at, s.swept FROM shards s
         WHERE s.task_id = $1 AND s.user_id = $2 AND s.swept = 0 AND s.expires_at > $3
           AND EXISTS (SELECT 1 FROM shard_items si WHERE si.shard_id = s.id AND si.state = 'leased')
         ORDER BY s.id DESC LIMIT 1",
    )
    .bind(task.0)
    .bind(user.0)
    .bind(now)
    .fetch_optional(ex)
    .await
}

/// The order items are handed out in: a task's sampling strategy (and uncertainty measure), each
/// an `ORDER BY` that an index serves (`items_pool` for fullest first, `items_pick` for the rest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PickOrder {
    FullestFirst,
    Fifo,
    Random,
    Priority,
    LeastConfidence,
    Margin,
    Entropy,
}

impl PickOrder {
    fn sql(self) -> &'static str {
        match self {
            PickOrder::FullestFirst => "i.label_count DESC, i.id",
            // Every other order walks `items_pick`: the key `db::sampling::rekey` gave each item
            // for the task's order (0 under FIFO, so the id decides).
            _ => "i.pick_key, i.id",
        }
    }

    /// The expression of an item's `pick_key` under this order (ascending: first out first).
    /// The random order reads `$2` (the seed's multiplier) and `$3` (the modulus).
    pub(crate) fn key_sql(self) -> &'static str {
        match self {
            PickOrder::FullestFirst | PickOrder::Fifo => "0",
            PickOrder::Random => "(id * $2) % $3",
            PickOrder::Priority => "-priority",
            PickOrder::LeastConfidence => {
                "CASE WHEN unc_least_confidence < 0 THEN 1 ELSE -unc_least_confidence END"
            }
            PickOrder::Margin => "CASE WHEN unc_margin < 0 THEN 1 ELSE -unc_margin END",
            PickOrder::Entropy => "CASE WHEN unc_entropy < 0 THEN 1 ELSE -unc_entropy END",
        }
    }
}

/// Picks up to `limit` items for `user`: open, below target counting live leases, not labeled,
/// skipped or held by this rater already; in the task's order (fullest first by default, so
/// finished items accumulate).
pub async fn pick_items(
    tx: &mut super::Tx,
    task: TaskId,
    user: UserId,
    limit: i64,
    order: PickOrder,
) -> Result<Vec<i64>, sqlx::Error> {
    let sql = format!(
        "SELECT i.id FROM items i
         WHERE i.task_id = $1 AND i.state = 'open' AND i.label_count + i.active_leases < i.target
           AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.item_id = i.id AND l.user_id = $2)
           AND NOT EXISTS (SELECT 1 FROM skips k WHERE k.item_id = i.id AND k.user_id = $2)
           AND NOT EXISTS (SELECT 1 FROM shard_items si JOIN shards s ON s.id = si.shard_id
                           WHERE si.item_id = i.id AND si.state = 'leased' AND s.user_id = $2)
         ORDER BY {}
         LIMIT $3",
        order.sql()
    );
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(task.0)
        .bind(user.0)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await
}

/// Creates a shard holding `items` and counts their leases.
pub async fn create(
    tx: &mut super::Tx,
    task: TaskId,
    user: UserId,
    assigned_by: Option<UserId>,
    items: &[i64],
    now: i64,
    expires_at: i64,
) -> Result<ShardId, sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO shards (task_id, user_id, assigned_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(task.0)
    .bind(user.0)
    .bind(assigned_by.map(|u| u.0))
    .bind(now)
    .bind(expires_at)
    .fetch_one(&mut **tx)
    .await?;
    if items.is_empty() {
        return Ok(ShardId(id));
    }
    // Two statements for the whole shard: its items, then their lease counters.
    let mut ph = super::Placeholders::of(tx);
    let rows: Vec<String> = items
        .iter()
        .map(|_| format!("({}, {}, {}, 'leased')", ph.one(), ph.one(), ph.one()))
        .collect();
    let sql = format!(
        "INSERT INTO shard_items (shard_id, item_id, position, state) VALUES {}",
        rows.join(", ")
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false);
    for (pos, item) in items.iter().enumerate() {
        q = q.bind(id).bind(*item).bind(pos as i64);
    }
    q.execute(&mut **tx).await?;
    let sql = format!(
        "UPDATE items SET active_leases = active_leases + 1 WHERE id IN ({})",
        super::Placeholders::of(tx).list(items.len())
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false);
    for item in items {
        q = q.bind(*item);
    }
    q.execute(&mut **tx).await?;
    Ok(ShardId(id))
}

/// Every item of a shard in order, with its state and the owner's current answer.
pub async fn items(
    ex: impl AnyExecutor<'_>,
    shard: ShardId,
    user: UserId,
) -> Result<Vec<ShardItem>, sqlx::Error> {
    sqlx::query_as(
        "SELECT si.item_id, si.position, si.state, i.data_json,
            (SELECT l.value_json FROM labels l WHERE l.item_id = si.item_id AND l.user_id = $2) AS value_json
         FROM shard_items si JOIN items i ON i.id = si.item_id
         WHERE si.shard_id = $1 ORDER BY si.position",
    )
    .bind(shard.0)
    .bind(user.0)
    .fetch_all(ex)
    .await
}

pub async fn item_state(
    ex: impl AnyExecutor<'_>,
    shard: ShardId,
    item: i64,
) -> Result<Option<ShardItemState>, sqlx::Error> {
    sqlx::query_scalar("SELECT state FROM shard_items WHERE shard_id = $1 AND item_id = $2")
        .bind(shard.0)
        .bind(item)
        .fetch_optional(ex)
        .await
}

pub async fn set_item_state(
    ex: impl AnyExecutor<'_>,
    shard: ShardId,
    item: i64,
    state: ShardItemState,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE shard_items SET state = $1 WHERE shard_id = $2 AND item_id = $3")
        .bind(state)
        .bind(shard.0)
        .bind(item)
        .execute(ex)
        .await?;
    Ok(())
}

/// Keeps an active rater's shard alive: each answer pushes the expiry to a full lease from now.
pub async fn extend(
    ex: impl AnyExecutor<'_>,
    shard: ShardId,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE shards SET expires_at = $1 WHERE id = $2 AND swept = 0 AND expires_at < $1",
    )
    .bind(expires_at)
    .bind(shard.0)
    .execute(ex)
    .await?;
    Ok(())
}

/// Ends a rater's live leases in a task at once (they were removed from it).
pub async fn expire_for(
    tx: &mut super::Tx,
    task: TaskId,
    user: UserId,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE shards SET expires_at = $1 WHERE task_id = $2 AND user_id = $3 AND swept = 0 AND expires_at > $1")
        .bind(now)
        .bind(task.0)
        .bind(user.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
