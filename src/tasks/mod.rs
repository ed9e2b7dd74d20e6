//! Task rules shared by the pages and the API: settings checks, who may see a task, instructions
//! acknowledgement, membership, leasing a shard and submitting labels.

pub mod api;
pub mod home;
pub mod pages;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::AuthCtx;
use crate::db::{self, labels::Refusal, tasks::QualitySettings, tasks::Task, tasks::TaskSettings};
use crate::domain::ids::{ShardId, TaskId, UserId};
use crate::domain::markdown;
use crate::domain::role::Role;
use crate::domain::schema::LabelSchema;
use crate::error::{AppError, Result};
use crate::state::AppState;

pub fn routes() -> crate::app::Routes {
    crate::app::Routes::new()
        .get("/", home::home)
        .get("/admin/tasks", pages::list)
        .post("/admin/tasks", pages::create)
        .get("/admin/tasks/new", pages::new_page)
        .get("/admin/tasks/{id}", pages::page)
        .get("/admin/tasks/{id}/edit", pages::edit_page)
        .post("/admin/tasks/{id}/edit", pages::edit)
        .post("/admin/tasks/{id}/members", pages::add_member)
        .post(
            "/admin/tasks/{id}/members/{user_id}/remove",
            pages::remove_member,
        )
        .post("/admin/tasks/{id}/assign", pages::assign)
        .get("/api/v1/tasks", api::list)
        .post("/api/v1/tasks", api::create)
        .get("/api/v1/tasks/{id}", api::get)
        .patch("/api/v1/tasks/{id}", api::patch)
        .get("/api/v1/tasks/{id}/progress", api::progress)
        .get("/api/v1/tasks/{id}/instructions", api::instructions)
        .post("/api/v1/tasks/{id}/instructions/ack", api::ack)
        .get("/api/v1/tasks/{id}/members", api::members)
        .post("/api/v1/tasks/{id}/members", api::add_member)
        .delete("/api/v1/tasks/{id}/members/{username}", api::remove_member)
        .get("/api/v1/tasks/{id}/imports", api::imports)
        .merge(crate::http::with_import_limit(
            crate::app::Routes::new().post("/api/v1/tasks/{id}/items", api::import),
        ))
}

pub const STATES: &[&str] = &["draft", "active", "paused", "archived"];
const MAX_INSTRUCTIONS: usize = 200_000;

/// `POST /api/v1/tasks` (and the new-task form).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskRequest {
    pub name: String,
    #[serde(default)]
    pub instructions: String,
    pub schema: Value,
    pub overlap: Option<i64>,
    pub max_overlap: Option<i64>,
    pub agreement: Option<f64>,
    pub shard_size: Option<i64>,
    pub lease_minutes: Option<i64>,
    pub state: Option<String>,
    pub gold_ratio: Option<f64>,
    pub resolution_method: Option<String>,
    pub qualification_items: Option<i64>,
    pub qualification_pass: Option<f64>,
    pub gold_window: Option<i64>,
    pub gold_min_accuracy: Option<f64>,
}

/// `PATCH /api/v1/tasks/{id}`: every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    pub name: Option<String>,
    pub instructions: Option<String>,
    pub schema: Option<Value>,
    pub overlap: Option<i64>,
    pub max_overlap: Option<i64>,
    pub agreement: Option<f64>,
    pub shard_size: Option<i64>,
    pub lease_minutes: Option<i64>,
    pub state: Option<String>,
    pub gold_ratio: Option<f64>,
    pub resolution_method: Option<String>,
    pub qualification_items: Option<i64>,
    pub qualification_pass: Option<f64>,
    pub gold_window: Option<i64>,
    pub gold_min_accuracy: Option<f64>,
}

/// The resolution methods a task can use.
pub const METHODS: &[&str] = &["majority", "wawa", "dawid_skene", "glad"];

/// Checks quality settings; every message names the field.
pub fn check_quality(q: &QualitySettings) -> Result<()> {
    if !METHODS.contains(&q.resolution_method.as_str()) {
        return Err(bad(
            "invalid_resolution_method",
            "resolution_method: majority, wawa, dawid_skene or glad",
        ));
    }
    if !(0..=1000).contains(&q.qualification_items) {
        return Err(bad(
            "invalid_qualification_items",
            "qualification_items: 0 to 1000 gold items",
        ));
    }
    if !(0.0..=1.0).contains(&q.qualification_pass) {
        return Err(bad(
            "invalid_qualification_pass",
            "qualification_pass: a share between 0 and 1",
        ));
    }
    if !(1..=1000).contains(&q.gold_window) {
        return Err(bad(
            "invalid_gold_window",
            "gold_window: 1 to 1000 gold answers",
        ));
    }
    if !(0.0..=1.0).contains(&q.gold_min_accuracy) {
        return Err(bad(
            "invalid_gold_min_accuracy",
            "gold_min_accuracy: a share between 0 and 1 (0 turns the check off)",
        ));
    }
    Ok(())
}

fn quality_from(
    base: &QualitySettings,
    method: &Option<String>,
    q_items: Option<i64>,
    q_pass: Option<f64>,
    window: Option<i64>,
    min_acc: Option<f64>,
) -> QualitySettings {
    QualitySettings {
        resolution_method: method
            .clone()
            .unwrap_or_else(|| base.resolution_method.clone()),
        qualification_items: q_items.unwrap_or(base.qualification_items),
        qualification_pass: q_pass.unwrap_or(base.qualification_pass),
        gold_window: window.unwrap_or(base.gold_window),
        gold_min_accuracy: min_acc.unwrap_or(base.gold_min_accuracy),
    }
}

fn bad(code: &'static str, msg: impl Into<String>) -> AppError {
    AppError::bad_request(code, msg)
}

/// Checks a complete set of settings; every message names the field.
pub fn check_settings(s: &TaskSettings) -> Result<()> {
    let name_len = s.name.trim().chars().count();
    if name_len == 0 || name_len > 200 {
        return Err(bad("invalid_name", "name: 1 to 200 characters"));
    }
    if !(1..=50).contains(&s.overlap) {
        return Err(bad("invalid_overlap", "overlap: 1 to 50 raters per item"));
    }
    if s.max_overlap < s.overlap || s.max_overlap > 100 {
        return Err(bad(
            "invalid_max_overlap",
            "max_overlap: at least overlap and at most 100",
        ));
    }
    if !(0.5..=1.0).contains(&s.agreement) {
        return Err(bad(
            "invalid_agreement",
            "agreement: a share between 0.5 and 1.0 that the leading answer must pass",
        ));
    }
    if !(1..=500).contains(&s.shard_size) {
        return Err(bad("invalid_shard_size", "shard_size: 1 to 500 items"));
    }
    if !(1..=24 * 60).contains(&s.lease_minutes) {
        return Err(bad("invalid_lease_minutes", "lease_minutes: 1 to 1440"));
    }
    if !STATES.contains(&s.state.as_str()) {
        return Err(bad(
            "invalid_state",
            "state: draft, active, paused or archived",
        ));
    }
    if !(0.0..=0.5).contains(&s.gold_ratio) {
        return Err(bad("invalid_gold_ratio", "gold_ratio: 0 to 0.5"));
    }
    Ok(())
}

fn check_instructions(md: &str) -> Result<()> {
    if md.len() > MAX_INSTRUCTIONS {
        return Err(bad(
            "invalid_instructions",
            "instructions: at most 200 KB of Markdown",
        ));
    }
    Ok(())
}

pub async fn create(state: &AppState, ctx: &AuthCtx, ip: &str, req: TaskRequest) -> Result<Task> {
    let schema = LabelSchema::parse(&req.schema).map_err(|e| bad("invalid_schema", e))?;
    let overlap = req.overlap.unwrap_or(3);
    let settings = TaskSettings {
        name: req.name.trim().to_string(),
        schema,
        overlap,
        max_overlap: req.max_overlap.unwrap_or(overlap + 2),
        agreement: req.agreement.unwrap_or(0.5),
        shard_size: req.shard_size.unwrap_or(20),
        lease_minutes: req.lease_minutes.unwrap_or(30),
        state: req.state.unwrap_or_else(|| "draft".into()),
        gold_ratio: req.gold_ratio.unwrap_or(0.0),
    };
    check_settings(&settings)?;
    let quality = quality_from(
        &QualitySettings::default(),
        &req.resolution_method,
        req.qualification_items,
        req.qualification_pass,
        req.gold_window,
        req.gold_min_accuracy,
    );
    check_quality(&quality)?;
    check_instructions(&req.instructions)?;
    let html = markdown::render(&req.instructions);
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let id = db::tasks::create(
        &mut tx,
        &settings,
        &req.instructions,
        &html,
        ctx.user.id,
        now,
    )
    .await?;
    db::tasks::set_quality(&mut tx, id, &quality).await?;
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "task.create",
        &format!("task #{id}"),
        &json!({"name": settings.name}),
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    db::tasks::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn patch(
    state: &AppState,
    ctx: &AuthCtx,
    ip: &str,
    id: TaskId,
    p: TaskPatch,
) -> Result<Task> {
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let task = db::tasks::get(&mut *tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let schema = match &p.schema {
        Some(v) => {
            let s = LabelSchema::parse(v).map_err(|e| bad("invalid_schema", e))?;
            if s != task.schema && db::tasks::has_labels(&mut *tx, id).await? {
                return Err(AppError::conflict(
                    "schema_frozen",
                    "the schema cannot change once labels exist; create a new task",
                ));
            }
            s
        }
        None => task.schema.clone(),
    };
    let overlap = p.overlap.unwrap_or(task.overlap);
    let settings = TaskSettings {
        name: p
            .name
            .as_deref()
            .map(str::trim)
            .unwrap_or(&task.name)
            .to_string(),
        schema,
        overlap,
        max_overlap: p.max_overlap.unwrap_or(task.max_overlap.max(overlap)),
        agreement: p.agreement.unwrap_or(task.agreement),
        shard_size: p.shard_size.unwrap_or(task.shard_size),
        lease_minutes: p.lease_minutes.unwrap_or(task.lease_minutes),
        state: p.state.clone().unwrap_or_else(|| task.state.clone()),
        gold_ratio: p.gold_ratio.unwrap_or(task.gold_ratio),
    };
    check_settings(&settings)?;
    let quality = quality_from(
        &task.quality,
        &p.resolution_method,
        p.qualification_items,
        p.qualification_pass,
        p.gold_window,
        p.gold_min_accuracy,
    );
    check_quality(&quality)?;
    db::tasks::update(&mut tx, id, &settings, now).await?;
    db::tasks::set_quality(&mut tx, id, &quality).await?;
    if overlap > task.overlap {
        db::tasks::raise_targets(&mut tx, id, overlap).await?;
    }
    let mut changed_instructions = false;
    if let Some(md) = &p.instructions {
        check_instructions(md)?;
        let current = db::tasks::instructions(&mut *tx, id, task.instructions_version).await?;
        if current.as_ref().map(|c| c.markdown.as_str()) != Some(md.as_str()) {
            let version = task.instructions_version + 1;
            db::tasks::add_instructions(
                &mut tx,
                id,
                version,
                md,
                &markdown::render(md),
                ctx.user.id,
                now,
            )
            .await?;
            changed_instructions = true;
        }
    }
    let detail = json!({"state": settings.state, "overlap": settings.overlap, "new_instructions": changed_instructions});
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "task.update",
        &format!("task #{id}"),
        &detail,
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    db::tasks::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Raters see a task they belong to once it is live (active or paused).
pub fn rater_may_see(t: &Task) -> bool {
    t.state == "active" || t.state == "paused"
}

/// The task if this user may see it; otherwise 404, exactly like a task that does not exist.
pub async fn visible(state: &AppState, ctx: &AuthCtx, id: TaskId) -> Result<Task> {
    let task = db::tasks::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if ctx.user.role.at_least(Role::Reviewer) {
        return Ok(task);
    }
    if rater_may_see(&task) && db::tasks::is_member(&state.db.pool, id, ctx.user.id).await? {
        Ok(task)
    } else {
        Err(AppError::NotFound)
    }
}

/// A task this user may label in: a member, whatever their role.
pub async fn workable(state: &AppState, ctx: &AuthCtx, id: TaskId) -> Result<Task> {
    let task = db::tasks::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let member = db::tasks::is_member(&state.db.pool, id, ctx.user.id).await?;
    if !member || !(rater_may_see(&task) || ctx.user.role.at_least(Role::Reviewer)) {
        return Err(AppError::NotFound);
    }
    Ok(task)
}

pub async fn acknowledge(state: &AppState, ctx: &AuthCtx, id: TaskId, version: i64) -> Result<()> {
    let task = workable(state, ctx, id).await?;
    if version != task.instructions_version {
        return Err(AppError::conflict(
            "stale_instructions",
            format!(
                "the current instructions are version {}; read them again",
                task.instructions_version
            ),
        ));
    }
    let mut tx = state.db.begin_write().await?;
    db::tasks::ack(&mut *tx, id, ctx.user.id, version, state.now()).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn add_member(
    state: &AppState,
    ctx: &AuthCtx,
    ip: &str,
    id: TaskId,
    username: &str,
) -> Result<bool> {
    let user = crate::tasks::api::user_named(state, username).await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    db::tasks::get(&mut *tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let added = db::tasks::add_member(&mut *tx, id, user, now).await?;
    if added {
        db::audit::record(
            &mut *tx,
            Some(ctx.user.id),
            "task.member_add",
            &format!("task #{id}"),
            &json!({"user": username.trim().to_lowercase()}),
            ip,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(added)
}

pub async fn remove_member(
    state: &AppState,
    ctx: &AuthCtx,
    ip: &str,
    id: TaskId,
    username: &str,
) -> Result<()> {
    let name = username.trim().to_lowercase();
    let user = db::users::by_username(&state.db.pool, &name)
        .await?
        .ok_or(AppError::NotFound)?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if !db::tasks::remove_member(&mut *tx, id, user.id).await? {
        return Err(AppError::NotFound);
    }
    // Their leases end now and go back to the pool; late answers from a non-member are refused.
    db::shards::expire_for(&mut tx, id, user.id, now).await?;
    db::shards::sweep_expired(&mut tx, now).await?;
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "task.member_remove",
        &format!("task #{id}"),
        &json!({"user": name}),
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The answer to a lease request.
pub enum Lease {
    Shard(Value),
    NothingLeft,
}

/// Leases the next shard for `user` (or returns their live one). `assigned_by` is the admin who
/// assigns it, when it is not the rater asking.
pub async fn lease(
    state: &AppState,
    task: &Task,
    user: UserId,
    assigned_by: Option<UserId>,
) -> Result<Lease> {
    if task.state != "active" {
        return Err(AppError::conflict(
            "task_not_active",
            format!("the task is {}; labeling is closed", task.state),
        ));
    }
    let acked = db::tasks::acked_version(&state.db.pool, task.id, user).await?;
    if assigned_by.is_none() && acked != Some(task.instructions_version) {
        return Err(AppError::conflict(
            "instructions_not_acknowledged",
            format!(
                "read and acknowledge the instructions (version {}) first",
                task.instructions_version
            ),
        ));
    }
    check_rater_may_work(state, task, user).await?;
    let now = state.now();
    // Asking again returns the live shard: a read, no write lock.
    if let Some(s) = db::shards::live_for(&state.db.pool, task.id, user, now).await? {
        return Ok(Lease::Shard(
            shard_json(state, ShardId(s.id), user, false).await?,
        ));
    }
    // New leases are written by the same writer as labels, batched with them.
    match state
        .submitter
        .lease(task.clone(), user, assigned_by)
        .await?
    {
        Some(id) => Ok(Lease::Shard(shard_json(state, id, user, false).await?)),
        None => Ok(Lease::NothingLeft),
    }
}

/// Leases a shard inside the writer's transaction: gives expired leases back, returns the
/// rater's live shard if one appeared meanwhile, else picks items and records the lease.
pub async fn lease_tx(
    tx: &mut db::Tx,
    task: &Task,
    user: UserId,
    assigned_by: Option<UserId>,
    now: i64,
) -> Result<Option<ShardId>> {
    db::shards::sweep_expired(tx, now).await?;
    if let Some(s) = db::shards::live_for(&mut **tx, task.id, user, now).await? {
        return Ok(Some(ShardId(s.id)));
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

/// Refuses work to a paused rater and to one who failed the qualification (unless an admin waived it).
async fn check_rater_may_work(state: &AppState, task: &Task, user: UserId) -> Result<()> {
    let status = db::quality::status(&state.db.pool, task.id, user).await?;
    if status.paused != 0 {
        return Err(AppError::conflict(
            "rater_paused",
            format!(
                "you are paused in this task: {}. An admin can lift the pause.",
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
                return Err(AppError::conflict(
                    "not_qualified",
                    format!(
                        "your qualification score is {:.0}%, below the pass mark of {:.0}%",
                        acc * 100.0,
                        task.quality.qualification_pass * 100.0
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The items of a new shard: only gold while a new rater qualifies; otherwise real items with
/// gold mixed in at the task's ratio, in an order that does not give the gold ones away.
async fn pick_mix(tx: &mut db::Tx, task: &Task, user: UserId) -> Result<Vec<i64>> {
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
    let real = db::shards::pick_items(tx, task.id, user, size - want_gold.min(size - 1)).await?;
    if real.is_empty() {
        // Never hand out a shard of gold alone once real work has run out.
        return Ok(real);
    }
    let gold =
        db::quality::pick_gold(tx, task.id, user, want_gold.min(size - real.len() as i64)).await?;
    // Real items keep their fullest-first order; each gold item goes in at a position taken from
    // a hash of its id, so gold lands anywhere in the shard and nothing marks it.
    let mut all = real;
    for g in gold {
        let h =
            (g as u64 ^ (user.0 as u64).rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33;
        let at = (h % (all.len() as u64 + 1)) as usize;
        all.insert(at, g);
    }
    Ok(all)
}

/// A shard as the API shows it: `items` are the ones still to label; with `all`, every item with
/// its state and this rater's answer (for the labeling page, which can go back).
pub async fn shard_json(state: &AppState, id: ShardId, user: UserId, all: bool) -> Result<Value> {
    let shard = db::shards::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let items = db::shards::items(&state.db.pool, id, user).await?;
    let items: Vec<Value> = items
        .into_iter()
        .filter(|i| all || i.state == "leased")
        .map(|i| {
            let data: Value = serde_json::from_str(&i.data_json).unwrap_or(Value::Null);
            let mut v = json!({"id": i.item_id, "data": data});
            if all {
                v["state"] = i.state.into();
                v["value"] = i
                    .value_json
                    .and_then(|s| serde_json::from_str(&s).ok())
                    .unwrap_or(Value::Null);
            }
            v
        })
        .collect();
    Ok(json!({
        "id": shard.id, "task_id": shard.task_id,
        "expires_at": crate::clock::rfc3339(shard.expires_at),
        "live": shard.is_live(state.now()),
        "items": items,
    }))
}

/// Maps a refused submission to the error the client sees.
pub fn refusal(r: Refusal) -> AppError {
    match r {
        Refusal::NotFound => AppError::NotFound,
        Refusal::KeyReused => AppError::unprocessable(
            "submission_key_reused",
            "this submission_key was used for a different answer",
        ),
        Refusal::InvalidValue(e) => AppError::bad_request("invalid_value", e),
        Refusal::LeaseExpired => AppError::conflict(
            "lease_expired",
            "the lease on this item expired and the item has all the labels it needs; your answer was not stored",
        ),
        Refusal::TaskNotActive => AppError::conflict(
            "task_not_active",
            "the task is not active; labeling is closed",
        ),
    }
}

/// Whether a task exists (invites may name one).
pub async fn task_exists(tx: &mut db::Tx, task: i64) -> Result<bool> {
    Ok(db::tasks::get(&mut **tx, crate::domain::ids::TaskId(task))
        .await?
        .is_some())
}

/// Task ids and names, for pickers.
pub async fn task_names(state: &AppState) -> Result<Vec<(i64, String)>> {
    Ok(db::tasks::list(&state.db.pool)
        .await?
        .into_iter()
        .map(|t| (t.id.0, t.name))
        .collect())
}

/// A user who signs up through an invite that names a task joins that task.
pub async fn invite_joins_task(tx: &mut db::Tx, task: i64, user: UserId, now: i64) -> Result<()> {
    db::tasks::add_member(&mut **tx, crate::domain::ids::TaskId(task), user, now).await?;
    Ok(())
}
