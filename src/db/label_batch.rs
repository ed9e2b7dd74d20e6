//! The set-based statements of the group-commit writer (`crate::labeling::batch`): a round of
//! submissions is read with one statement ([`probe`]) and written with one statement per table
//! (labels, item counters, shard items, the submissions ledger, lease extensions), however many
//! submissions it holds. Each statement is a round trip to the database (a thread hand-off on
//! SQLite, a network round trip on PostgreSQL), so the cost of a batch no longer grows with the
//! statements of every submission in it.
//!
//! Lists are bound as parameters, never spliced in: the SQL text only grows by placeholders
//! ([`Placeholders`]: plain `?` on SQLite, which finds named ones by a linear search). A round holds at most `crate::labeling::writer::MAX_BATCH` rows, far below
//! either database's parameter limit.

use sqlx::FromRow;

use crate::domain::ids::{ShardId, TaskId, UserId};
use crate::domain::states::{ItemState, ShardItemState};

use super::{Placeholders, Tx};

/// A statement of a round: its text changes with the round's size, so it is not kept in the
/// connection's statement cache (where it would push out the statements that repeat).
fn batch_query(sql: String) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false)
}

/// One submission of a round, as the probe looks it up.
pub struct Probe<'a> {
    /// Its place in the round, given back in the row.
    pub n: i64,
    pub user: UserId,
    pub shard: ShardId,
    pub item: i64,
    pub key: &'a str,
}

/// Everything a submission's rules read, in one row: the answer stored under its key, the shard
/// and the item's place in it, the item's counters, and the rater's label on the item. Every
/// column but `n` is NULL when its row does not exist.
#[derive(Clone, Debug, FromRow)]
pub struct ProbeRow {
    pub n: i64,
    pub request_hash: Option<String>,
    pub response_json: Option<String>,
    pub shard_user: Option<UserId>,
    pub shard_task: Option<TaskId>,
    pub expires_at: Option<i64>,
    pub swept: Option<i64>,
    pub si_state: Option<ShardItemState>,
    pub item_task: Option<TaskId>,
    pub item_state: Option<ItemState>,
    pub label_count: Option<i64>,
    pub active_leases: Option<i64>,
    pub target: Option<i64>,
    /// 1 for a gold item or one with a direct label (either may score the rater).
    pub gold: i64,
    pub label_id: Option<i64>,
    /// The item's data, only when asked for (span and box answers are checked against it).
    pub data_json: Option<String>,
}

/// Reads what the rules of every submission of a round need, in one statement.
pub async fn probe(
    tx: &mut Tx,
    rows: &[Probe<'_>],
    with_data: bool,
) -> Result<Vec<ProbeRow>, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let data = if with_data {
        "it.data_json"
    } else {
        "CAST(NULL AS TEXT)"
    };
    let sql = format!(
        "WITH b(n, u, s, i, k) AS (VALUES {})
         SELECT b.n, sub.request_hash, sub.response_json,
            sh.user_id AS shard_user, sh.task_id AS shard_task, sh.expires_at, sh.swept,
            si.state AS si_state,
            it.task_id AS item_task, it.state AS item_state, it.label_count, it.active_leases, it.target,
            CASE WHEN it.gold_json IS NULL AND it.direct_json IS NULL THEN 0 ELSE 1 END AS gold,
            l.id AS label_id, {data} AS data_json
         FROM b
         LEFT JOIN submissions sub ON sub.user_id = b.u AND sub.submission_key = b.k
         LEFT JOIN shards sh ON sh.id = b.s
         LEFT JOIN shard_items si ON si.shard_id = b.s AND si.item_id = b.i
         LEFT JOIN items it ON it.id = b.i
         LEFT JOIN labels l ON l.item_id = b.i AND l.user_id = b.u",
        Placeholders::of(tx).tuples(rows.len(), 5)
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false);
    for r in rows {
        q = q
            .bind(r.n)
            .bind(r.user.0)
            .bind(r.shard.0)
            .bind(r.item)
            .bind(r.key);
    }
    q.fetch_all(&mut **tx).await
}

/// Labels that each used a live lease: per item, `n` more labels and `n` leases fewer (each
/// item appears once in `counts`).
pub async fn count_leased_labels(tx: &mut Tx, counts: &[(i64, i64)]) -> Result<(), sqlx::Error> {
    if counts.is_empty() {
        return Ok(());
    }
    let sql = format!(
        // A join on the primary key; `UPDATE … FROM` reads the list once.
        "WITH b(id, n) AS (VALUES {})
         UPDATE items SET label_count = items.label_count + b.n, active_leases = items.active_leases - b.n
         FROM b WHERE items.id = b.id",
        Placeholders::of(tx).tuples(counts.len(), 2)
    );
    let mut q = batch_query(sql);
    for (item, n) in counts {
        q = q.bind(*item).bind(*n);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// Marks each (shard, item) as labeled.
pub async fn mark_labeled(tx: &mut Tx, pairs: &[(ShardId, i64)]) -> Result<(), sqlx::Error> {
    if pairs.is_empty() {
        return Ok(());
    }
    let sql = format!(
        // A join, not `(shard_id, item_id) IN (VALUES …)`: SQLite scans the whole table for that.
        "WITH b(s, i) AS (VALUES {})
         UPDATE shard_items SET state = 'labeled' FROM b WHERE shard_items.shard_id = b.s AND shard_items.item_id = b.i",
        Placeholders::of(tx).tuples(pairs.len(), 2)
    );
    let mut q = batch_query(sql);
    for (s, i) in pairs {
        q = q.bind(s.0).bind(*i);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// A new label of a round.
pub struct NewLabel {
    pub task: TaskId,
    pub item: i64,
    pub user: UserId,
    pub shard: ShardId,
    pub value_json: String,
    pub duration_ms: i64,
    pub instruction_version: i64,
    /// Whether the answer equals the prediction the rater was shown (`None`: none shown).
    pub prediction_kept: Option<bool>,
}

/// Inserts a round's labels; returns (item, rater, label id) for each.
pub async fn insert_labels(
    tx: &mut Tx,
    rows: &[NewLabel],
    now: i64,
) -> Result<Vec<(i64, UserId, i64)>, sqlx::Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let values = Placeholders::of(tx).tuples(rows.len(), 10);
    let sql = format!(
        "INSERT INTO labels (task_id, item_id, user_id, shard_id, value_json, duration_ms, instruction_version, prediction_kept, created_at, updated_at)
         VALUES {values} RETURNING item_id, user_id, id"
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false);
    for l in rows {
        q = q
            .bind(l.task.0)
            .bind(l.item)
            .bind(l.user.0)
            .bind(l.shard.0)
            .bind(l.value_json.as_str())
            .bind(l.duration_ms)
            .bind(l.instruction_version)
            .bind(l.prediction_kept.map(i64::from))
            .bind(now)
            .bind(now);
    }
    q.fetch_all(&mut **tx).await
}

/// An answer to keep under its submission key, for replays.
pub struct Answer<'a> {
    pub user: UserId,
    pub key: &'a str,
    pub request_hash: String,
    pub status: i64,
    pub response_json: String,
}

/// Records a round's answers in the submissions ledger.
pub async fn store_answers(tx: &mut Tx, rows: &[Answer<'_>], now: i64) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let values = Placeholders::of(tx).tuples(rows.len(), 6);
    let sql = format!(
        "INSERT INTO submissions (user_id, submission_key, request_hash, status, response_json, created_at) VALUES {values}"
    );
    let mut q = batch_query(sql);
    for a in rows {
        q = q
            .bind(a.user.0)
            .bind(a.key)
            .bind(a.request_hash.as_str())
            .bind(a.status)
            .bind(a.response_json.as_str())
            .bind(now);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// Pushes the expiry of live shards to `expires_at` (never shortens one, never revives a swept one).
pub async fn extend(tx: &mut Tx, shards: &[ShardId], expires_at: i64) -> Result<(), sqlx::Error> {
    if shards.is_empty() {
        return Ok(());
    }
    let mut ph = Placeholders::of(tx);
    let until = ph.one();
    let list = ph.list(shards.len());
    let floor = ph.one();
    let sql = format!(
        "UPDATE shards SET expires_at = {until} WHERE id IN ({list}) AND swept = 0 AND expires_at < {floor}"
    );
    let mut q = batch_query(sql).bind(expires_at);
    for s in shards {
        q = q.bind(s.0);
    }
    q.bind(expires_at).execute(&mut **tx).await?;
    Ok(())
}

/// The latest prediction's value of each item that has one (for `prediction_kept`).
pub async fn latest_predictions(
    tx: &mut Tx,
    items: &[i64],
) -> Result<Vec<(i64, String)>, sqlx::Error> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    // Newest first within each item; the caller keeps the first row of each.
    let sql = format!(
        "SELECT item_id, value_json FROM predictions WHERE item_id IN ({})
         ORDER BY item_id, created_at DESC, id DESC",
        Placeholders::of(tx).list(items.len())
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false);
    for i in items {
        q = q.bind(*i);
    }
    q.fetch_all(&mut **tx).await
}

/// An item's state and counters, as settling reads them.
#[derive(Clone, Debug, FromRow)]
pub struct Counts {
    pub id: i64,
    pub state: ItemState,
    pub label_count: i64,
    pub target: i64,
    /// The item's direct label, if one was observed (`crate::outcomes`).
    pub direct_json: Option<String>,
}

/// The state and counters of each of `items` (missing items are left out).
pub async fn counts_of(tx: &mut Tx, items: &[i64]) -> Result<Vec<Counts>, sqlx::Error> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, state, label_count, target, direct_json FROM items WHERE id IN ({})",
        Placeholders::of(tx).list(items.len())
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false);
    for i in items {
        q = q.bind(*i);
    }
    q.fetch_all(&mut **tx).await
}

/// Every label value of each item, grouped by item and in the order they were given.
pub async fn values_of(tx: &mut Tx, items: &[i64]) -> Result<Vec<(i64, String)>, sqlx::Error> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT item_id, value_json FROM labels WHERE item_id IN ({}) ORDER BY item_id, id",
        Placeholders::of(tx).list(items.len())
    );
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).persistent(false);
    for i in items {
        q = q.bind(*i);
    }
    q.fetch_all(&mut **tx).await
}

/// A resolution made by the server (the online rule or an engine), not by a reviewer.
pub struct NewResolution<'a> {
    pub item: i64,
    pub task: TaskId,
    pub value_json: String,
    pub method: &'a str,
    pub confidence: f64,
    pub votes_json: String,
}

/// Stores (or replaces) resolutions: a round's settled items, or one item an engine resolved.
pub async fn upsert_resolutions(
    tx: &mut Tx,
    rows: &[NewResolution<'_>],
    now: i64,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut ph = Placeholders::of(tx);
    let values: Vec<String> = rows
        .iter()
        .map(|_| format!("({}, NULL, {})", ph.list(6), ph.one()))
        .collect();
    let values = values.join(", ");
    let sql = format!(
        "INSERT INTO resolutions (item_id, task_id, value_json, method, confidence, votes_json, resolved_by, resolved_at)
         VALUES {values}
         ON CONFLICT (item_id) DO UPDATE SET value_json = excluded.value_json, method = excluded.method,
            confidence = excluded.confidence, votes_json = excluded.votes_json, resolved_by = NULL, resolved_at = excluded.resolved_at"
    );
    let mut q = batch_query(sql);
    for r in rows {
        q = q
            .bind(r.item)
            .bind(r.task.0)
            .bind(r.value_json.as_str())
            .bind(r.method)
            .bind(r.confidence)
            .bind(r.votes_json.as_str())
            .bind(now);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// Sets the state of every item in `items`.
pub async fn set_states(tx: &mut Tx, items: &[i64], state: ItemState) -> Result<(), sqlx::Error> {
    if items.is_empty() {
        return Ok(());
    }
    let mut ph = Placeholders::of(tx);
    let sql = format!(
        "UPDATE items SET state = {} WHERE id IN ({})",
        ph.one(),
        ph.list(items.len())
    );
    let mut q = batch_query(sql).bind(state);
    for i in items {
        q = q.bind(*i);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// One more label asked of each item (adaptive overlap).
pub async fn raise_targets(tx: &mut Tx, items: &[i64]) -> Result<(), sqlx::Error> {
    for_ids(
        tx,
        "UPDATE items SET target = target + 1 WHERE id IN ({ids})",
        items,
    )
    .await
}

/// Forgets the resolutions of `items` (they need more labels or a reviewer).
pub async fn delete_resolutions(tx: &mut Tx, items: &[i64]) -> Result<(), sqlx::Error> {
    for_ids(
        tx,
        "DELETE FROM resolutions WHERE item_id IN ({ids})",
        items,
    )
    .await
}

/// Runs `sql`, whose `{ids}` becomes one placeholder per id, for `ids` (nothing when empty).
async fn for_ids(tx: &mut Tx, sql: &str, ids: &[i64]) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    let sql = sql.replace("{ids}", &Placeholders::of(tx).list(ids.len()));
    let mut q = batch_query(sql);
    for i in ids {
        q = q.bind(*i);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}
