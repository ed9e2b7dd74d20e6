//! Tasks, their versioned instructions, acknowledgements and members.

use sqlx::{AnyExecutor, FromRow};

use crate::domain::ids::{TaskId, UserId};
use crate::domain::role::Role;
use crate::domain::schema::LabelSchema;
use crate::domain::states::TaskState;

/// A task as stored.
#[derive(Clone, Debug)]
pub struct Task {
    pub id: TaskId,
    pub name: String,
    pub schema: LabelSchema,
    pub overlap: i64,
    pub max_overlap: i64,
    pub agreement: f64,
    pub shard_size: i64,
    pub lease_minutes: i64,
    pub state: TaskState,
    pub instructions_version: i64,
    pub gold_ratio: f64,
    pub quality: QualitySettings,
    pub created_at: i64,
    pub updated_at: i64,
}

/// How a task resolves conflicts and checks its raters.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QualitySettings {
    /// `majority`, `wawa`, `dawid_skene` or `glad`.
    pub resolution_method: String,
    pub qualification_items: i64,
    pub qualification_pass: f64,
    pub gold_window: i64,
    pub gold_min_accuracy: f64,
}

impl Default for QualitySettings {
    fn default() -> Self {
        QualitySettings {
            // Re-resolution picks its method by evidence unless the task names one.
            resolution_method: "auto".into(),
            qualification_items: 0,
            qualification_pass: 0.8,
            gold_window: 10,
            gold_min_accuracy: 0.0,
        }
    }
}

#[derive(FromRow)]
struct Row {
    id: i64,
    name: String,
    schema_json: String,
    overlap: i64,
    max_overlap: i64,
    agreement: f64,
    shard_size: i64,
    lease_minutes: i64,
    state: TaskState,
    instructions_version: i64,
    gold_ratio: f64,
    resolution_method: String,
    qualification_items: i64,
    qualification_pass: f64,
    gold_window: i64,
    gold_min_accuracy: f64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<Row> for Task {
    type Error = sqlx::Error;
    fn try_from(r: Row) -> Result<Self, Self::Error> {
        let schema = serde_json::from_str::<serde_json::Value>(&r.schema_json)
            .map_err(|e| e.to_string())
            .and_then(|v| LabelSchema::parse(&v))
            .map_err(|e| {
                sqlx::Error::Decode(format!("task {}: stored schema: {e}", r.id).into())
            })?;
        Ok(Task {
            id: TaskId(r.id),
            name: r.name,
            schema,
            overlap: r.overlap,
            max_overlap: r.max_overlap,
            agreement: r.agreement,
            shard_size: r.shard_size,
            lease_minutes: r.lease_minutes,
            state: r.state,
            instructions_version: r.instructions_version,
            gold_ratio: r.gold_ratio,
            quality: QualitySettings {
                resolution_method: r.resolution_method,
                qualification_items: r.qualification_items,
                qualification_pass: r.qualification_pass,
                gold_window: r.gold_window,
                gold_min_accuracy: r.gold_min_accuracy,
            },
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const COLUMNS: &str =
    "id, name, schema_json, overlap, max_overlap, agreement, shard_size, lease_minutes, state,
    instructions_version, gold_ratio, resolution_method, qualification_items, qualification_pass, gold_window,
    gold_min_accuracy, created_at, updated_at";

/// Stores a task's conflict-resolution and quality settings.
pub async fn set_quality(
    tx: &mut super::Tx,
    id: TaskId,
    q: &QualitySettings,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tasks SET resolution_method = $1, qualification_items = $2, qualification_pass = $3, gold_window = $4,
            gold_min_accuracy = $5 WHERE id = $6",
    )
    .bind(&q.resolution_method)
    .bind(q.qualification_items)
    .bind(q.qualification_pass)
    .bind(q.gold_window)
    .bind(q.gold_min_accuracy)
    .bind(id.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The settings of a task, as created or patched.
#[derive(Clone, Debug)]
pub struct TaskSettings {
    pub name: String,
    pub schema: LabelSchema,
    pub overlap: i64,
    pub max_overlap: i64,
    pub agreement: f64,
    pub shard_size: i64,
    pub lease_minutes: i64,
    pub state: TaskState,
    pub gold_ratio: f64,
}

pub async fn create(
    tx: &mut super::Tx,
    s: &TaskSettings,
    instructions: &str,
    html: &str,
    by: UserId,
    now: i64,
) -> Result<TaskId, sqlx::Error> {
    let schema = serde_json::to_string(&s.schema).unwrap_or_default();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO tasks (name, schema_json, overlap, max_overlap, agreement, shard_size, lease_minutes, state,
            instructions_version, gold_ratio, created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $11, $11) RETURNING id",
    )
    .bind(&s.name)
    .bind(schema)
    .bind(s.overlap)
    .bind(s.max_overlap)
    .bind(s.agreement)
    .bind(s.shard_size)
    .bind(s.lease_minutes)
    .bind(s.state)
    .bind(s.gold_ratio)
    .bind(by.0)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    add_instructions(tx, TaskId(id), 1, instructions, html, by, now).await?;
    Ok(TaskId(id))
}

pub async fn update(
    tx: &mut super::Tx,
    id: TaskId,
    s: &TaskSettings,
    now: i64,
) -> Result<(), sqlx::Error> {
    let schema = serde_json::to_string(&s.schema).unwrap_or_default();
    sqlx::query(
        "UPDATE tasks SET name = $1, schema_json = $2, overlap = $3, max_overlap = $4, agreement = $5, shard_size = $6,
            lease_minutes = $7, state = $8, gold_ratio = $9, updated_at = $10 WHERE id = $11",
    )
    .bind(&s.name)
    .bind(schema)
    .bind(s.overlap)
    .bind(s.max_overlap)
    .bind(s.agreement)
    .bind(s.shard_size)
    .bind(s.lease_minutes)
    .bind(s.state)
    .bind(s.gold_ratio)
    .bind(now)
    .bind(id.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Open items that have not reached a new, higher overlap get the new target.
pub async fn raise_targets(
    tx: &mut super::Tx,
    id: TaskId,
    overlap: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE items SET target = $1 WHERE task_id = $2 AND state = 'open' AND target < $1",
    )
    .bind(overlap)
    .bind(id.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn add_instructions(
    tx: &mut super::Tx,
    id: TaskId,
    version: i64,
    markdown: &str,
    html: &str,
    by: UserId,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO instruction_versions (task_id, version, markdown, html, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.0)
    .bind(version)
    .bind(markdown)
    .bind(html)
    .bind(by.0)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE tasks SET instructions_version = $1, updated_at = $2 WHERE id = $3")
        .bind(version)
        .bind(now)
        .bind(id.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn get(ex: impl AnyExecutor<'_>, id: TaskId) -> Result<Option<Task>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM tasks WHERE id = $1"));
    let row: Option<Row> = sqlx::query_as(sql).bind(id.0).fetch_optional(ex).await?;
    row.map(Task::try_from).transpose()
}

pub async fn list(ex: impl AnyExecutor<'_>) -> Result<Vec<Task>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM tasks ORDER BY id DESC"));
    let rows: Vec<Row> = sqlx::query_as(sql).fetch_all(ex).await?;
    rows.into_iter().map(Task::try_from).collect()
}

/// Tasks a user is a member of.
pub async fn list_for_member(
    ex: impl AnyExecutor<'_>,
    user: UserId,
) -> Result<Vec<Task>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tasks WHERE id IN (SELECT task_id FROM task_members WHERE user_id = $1) ORDER BY id DESC"
    ));
    let rows: Vec<Row> = sqlx::query_as(sql).bind(user.0).fetch_all(ex).await?;
    rows.into_iter().map(Task::try_from).collect()
}

/// One page of every task, newest first: those with an id below `before` (all when `None`), at
/// most `limit` rows.
pub async fn list_page(
    ex: impl AnyExecutor<'_>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Task>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tasks WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2"
    ));
    let rows: Vec<Row> = sqlx::query_as(sql)
        .bind(before)
        .bind(limit)
        .fetch_all(ex)
        .await?;
    rows.into_iter().map(Task::try_from).collect()
}

/// One page of the tasks a user belongs to that are in one of `states`, newest first.
pub async fn list_page_for_member(
    ex: impl AnyExecutor<'_>,
    user: UserId,
    states: [TaskState; 2],
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Task>, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tasks WHERE id IN (SELECT task_id FROM task_members WHERE user_id = $1)
           AND state IN ($2, $3) AND ($4 IS NULL OR id < $4) ORDER BY id DESC LIMIT $5"
    ));
    let rows: Vec<Row> = sqlx::query_as(sql)
        .bind(user.0)
        .bind(states[0])
        .bind(states[1])
        .bind(before)
        .bind(limit)
        .fetch_all(ex)
        .await?;
    rows.into_iter().map(Task::try_from).collect()
}

#[derive(Clone, Debug, FromRow)]
pub struct Instructions {
    pub version: i64,
    pub markdown: String,
    pub html: String,
    pub created_at: i64,
}

pub async fn instructions(
    ex: impl AnyExecutor<'_>,
    id: TaskId,
    version: i64,
) -> Result<Option<Instructions>, sqlx::Error> {
    sqlx::query_as("SELECT version, markdown, html, created_at FROM instruction_versions WHERE task_id = $1 AND version = $2")
        .bind(id.0)
        .bind(version)
        .fetch_optional(ex)
        .await
}

pub async fn acked_version(
    ex: impl AnyExecutor<'_>,
    id: TaskId,
    user: UserId,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT version FROM instruction_acks WHERE task_id = $1 AND user_id = $2")
        .bind(id.0)
        .bind(user.0)
        .fetch_optional(ex)
        .await
}

pub async fn ack(
    ex: impl AnyExecutor<'_>,
    id: TaskId,
    user: UserId,
    version: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO instruction_acks (task_id, user_id, version, acked_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (task_id, user_id) DO UPDATE SET version = excluded.version, acked_at = excluded.acked_at",
    )
    .bind(id.0)
    .bind(user.0)
    .bind(version)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// What a lease asks about a rater in a task, in one read: membership, the instructions version
/// they acknowledged, and their pause and qualification waiver (`crate::db::quality::status`).
#[derive(Clone, Debug, Default, FromRow)]
pub struct RaterGate {
    pub member: i64,
    pub acked: Option<i64>,
    pub paused: i64,
    pub reason: String,
    pub qualification_waived: i64,
}

pub async fn rater_gate(
    ex: impl AnyExecutor<'_>,
    id: TaskId,
    user: UserId,
) -> Result<RaterGate, sqlx::Error> {
    sqlx::query_as(
        "SELECT
            (SELECT COUNT(*) FROM task_members WHERE task_id = $1 AND user_id = $2) AS member,
            (SELECT version FROM instruction_acks WHERE task_id = $1 AND user_id = $2) AS acked,
            COALESCE((SELECT paused FROM rater_status WHERE task_id = $1 AND user_id = $2), 0) AS paused,
            COALESCE((SELECT reason FROM rater_status WHERE task_id = $1 AND user_id = $2), '') AS reason,
            COALESCE((SELECT qualification_waived FROM rater_status WHERE task_id = $1 AND user_id = $2), 0) AS qualification_waived",
    )
    .bind(id.0)
    .bind(user.0)
    .fetch_one(ex)
    .await
}

pub async fn is_member(
    ex: impl AnyExecutor<'_>,
    id: TaskId,
    user: UserId,
) -> Result<bool, sqlx::Error> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM task_members WHERE task_id = $1 AND user_id = $2")
            .bind(id.0)
            .bind(user.0)
            .fetch_one(ex)
            .await?;
    Ok(n > 0)
}

/// Adds a member; false when they were one already.
pub async fn add_member(
    ex: impl AnyExecutor<'_>,
    id: TaskId,
    user: UserId,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("INSERT INTO task_members (task_id, user_id, added_at) VALUES ($1, $2, $3) ON CONFLICT (task_id, user_id) DO NOTHING")
        .bind(id.0)
        .bind(user.0)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn remove_member(
    ex: impl AnyExecutor<'_>,
    id: TaskId,
    user: UserId,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM task_members WHERE task_id = $1 AND user_id = $2")
        .bind(id.0)
        .bind(user.0)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

#[derive(Clone, Debug, FromRow)]
pub struct Member {
    pub user_id: UserId,
    pub username: String,
    pub role: Role,
    pub active: i64,
    pub added_at: i64,
    pub labels: i64,
    pub acked_version: Option<i64>,
}

/// Active members of a task, and how many of them acknowledged instructions `version`.
pub async fn rater_counts(
    ex: impl AnyExecutor<'_>,
    id: TaskId,
    version: i64,
) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM instruction_acks a
                 WHERE a.task_id = m.task_id AND a.user_id = u.id AND a.version = $2) THEN 1 ELSE 0 END), 0) AS BIGINT)
         FROM task_members m JOIN users u ON u.id = m.user_id WHERE m.task_id = $1 AND u.active = 1",
    )
    .bind(id.0)
    .bind(version)
    .fetch_one(ex)
    .await
}

pub async fn members(ex: impl AnyExecutor<'_>, id: TaskId) -> Result<Vec<Member>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id AS user_id, u.username, u.role, u.active, m.added_at,
            (SELECT COUNT(*) FROM labels l WHERE l.task_id = m.task_id AND l.user_id = u.id) AS labels,
            (SELECT a.version FROM instruction_acks a WHERE a.task_id = m.task_id AND a.user_id = u.id) AS acked_version
         FROM task_members m JOIN users u ON u.id = m.user_id WHERE m.task_id = $1 ORDER BY u.username",
    )
    .bind(id.0)
    .fetch_all(ex)
    .await
}

/// One page of a task's members in username order, after the member whose user id is `after`
/// (usernames are unique, so the cursor can name the user by id).
pub async fn members_page(
    ex: impl AnyExecutor<'_>,
    id: TaskId,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Member>, sqlx::Error> {
    sqlx::query_as(
        "SELECT u.id AS user_id, u.username, u.role, u.active, m.added_at,
            (SELECT COUNT(*) FROM labels l WHERE l.task_id = m.task_id AND l.user_id = u.id) AS labels,
            (SELECT a.version FROM instruction_acks a WHERE a.task_id = m.task_id AND a.user_id = u.id) AS acked_version
         FROM task_members m JOIN users u ON u.id = m.user_id
         WHERE m.task_id = $1 AND ($2 IS NULL OR u.username > (SELECT username FROM users WHERE id = $2))
         ORDER BY u.username LIMIT $3",
    )
    .bind(id.0)
    .bind(after)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// Whether any label exists in the task (the schema is frozen from then on).
pub async fn has_labels(ex: impl AnyExecutor<'_>, id: TaskId) -> Result<bool, sqlx::Error> {
    let n: Option<i64> = sqlx::query_scalar("SELECT 1 FROM labels WHERE task_id = $1 LIMIT 1")
        .bind(id.0)
        .fetch_optional(ex)
        .await?;
    Ok(n.is_some())
}

/// The tasks of `ids` that exist (for the group-commit writer: one read per batch).
pub async fn get_many(ex: impl AnyExecutor<'_>, ids: &[TaskId]) -> Result<Vec<Task>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM tasks WHERE id IN ({})",
        list.join(", ")
    ));
    let mut q = sqlx::query_as(sql);
    for id in ids {
        q = q.bind(id.0);
    }
    let rows: Vec<Row> = q.fetch_all(ex).await?;
    rows.into_iter().map(Task::try_from).collect()
}
