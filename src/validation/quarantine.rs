//! The quarantine: anomalous items a `quarantine` import held aside. They are never leased (they
//! are not items yet); an admin releases them into the task — then they are items of the import
//! that brought them, with their gold answer and predictions — or discards them.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::codes;

use crate::auth::AuthCtx;
use crate::clock::rfc3339;
use crate::db::imports::{BATCH, NewItem};
use crate::db::validation::QuarantinedRow;
use crate::db::{self};
use crate::domain::ids::{ImportId, TaskId};
use crate::domain::sampling::Prediction;
use crate::error::{AppError, Result};
use crate::http::page::{PageRequest, cut};
use crate::state::AppState;

/// The most ids one release or discard may name.
pub const MAX_IDS: usize = 10_000;

/// An item held aside.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct QuarantinedView {
    pub id: i64,
    /// The import that brought it, and its line there.
    pub import_id: i64,
    pub line: i64,
    pub external_id: String,
    pub data: Value,
    /// Its anomalies, as `kind` or `kind:field`.
    pub reasons: Vec<String>,
    /// RFC 3339.
    pub created_at: String,
}

impl From<QuarantinedRow> for QuarantinedView {
    fn from(r: QuarantinedRow) -> Self {
        QuarantinedView {
            id: r.id,
            import_id: r.import_id,
            line: r.line,
            external_id: r.external_id,
            data: serde_json::from_str(&r.data_json).unwrap_or(Value::Null),
            reasons: serde_json::from_str(&r.reasons_json).unwrap_or_default(),
            created_at: rfc3339(r.created_at),
        }
    }
}

/// `GET /api/v1/tasks/{id}/quarantine`: one page, oldest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct QuarantineList {
    /// Items held aside in all.
    pub total: i64,
    pub items: Vec<QuarantinedView>,
    pub next_cursor: Option<String>,
}

/// Which held items to release or discard: `ids`, or `all`.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuarantineAction {
    #[serde(default)]
    pub ids: Vec<i64>,
    #[serde(default)]
    pub all: bool,
}

/// What a release or discard did.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct QuarantineOutcome {
    /// Items now in the task.
    pub released: u64,
    /// Items dropped.
    pub discarded: u64,
    /// Released items whose external id the task had meanwhile (dropped, as an import skips them).
    pub already_in_task: u64,
}

/// One page of the task's quarantine (admins).
pub async fn list(
    state: &AppState,
    ctx: &AuthCtx,
    id: TaskId,
    page: PageRequest,
) -> Result<QuarantineList> {
    crate::tasks::service::administered(state, ctx, id).await?;
    let rows =
        db::validation::quarantine_page(&state.db.pool, id, page.after, page.limit + 1).await?;
    let (rows, next_cursor) = cut(rows, page, |r| r.id);
    Ok(QuarantineList {
        total: db::validation::quarantine_count(&state.db.pool, id).await?,
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor,
    })
}

fn check_action(a: &QuarantineAction) -> Result<()> {
    // Exactly one of the two.
    if a.all != a.ids.is_empty() {
        return Err(AppError::bad_request(
            codes::INVALID_QUARANTINE_ACTION,
            "give either \"ids\" (a non-empty list) or \"all\": true",
        ));
    }
    if a.ids.len() > MAX_IDS {
        return Err(AppError::bad_request(
            codes::INVALID_QUARANTINE_ACTION,
            format!("ids: at most {MAX_IDS} at once"),
        ));
    }
    Ok(())
}

/// Releases held items into the task (admins), in one transaction. Ids the task does not hold
/// are a 400 and nothing changes. Audited.
#[tracing::instrument(skip_all, fields(task = %id, admin = %ctx.user.id))]
pub async fn release(
    state: &AppState,
    ctx: &AuthCtx,
    id: TaskId,
    action: QuarantineAction,
    ip: &str,
) -> Result<QuarantineOutcome> {
    act(state, ctx, id, action, ip, true).await
}

/// Discards held items (admins), in one transaction. Audited.
#[tracing::instrument(skip_all, fields(task = %id, admin = %ctx.user.id))]
pub async fn discard(
    state: &AppState,
    ctx: &AuthCtx,
    id: TaskId,
    action: QuarantineAction,
    ip: &str,
) -> Result<QuarantineOutcome> {
    act(state, ctx, id, action, ip, false).await
}

async fn act(
    state: &AppState,
    ctx: &AuthCtx,
    id: TaskId,
    action: QuarantineAction,
    ip: &str,
    release: bool,
) -> Result<QuarantineOutcome> {
    let task = crate::tasks::service::administered(state, ctx, id).await?;
    check_action(&action)?;
    let now = state.clock.now_ms();
    let db = &state.db;
    let mut tx = db.begin_write().await?;
    let mut out = QuarantineOutcome::default();
    let mut imports: Vec<i64> = Vec::new();
    loop {
        let rows = if action.all {
            db::validation::quarantined(&mut tx, id, None, BATCH as i64).await?
        } else {
            let rows =
                db::validation::quarantined(&mut tx, id, Some(&action.ids), MAX_IDS as i64).await?;
            if rows.len() != action.ids.len() {
                return Err(AppError::bad_request(
                    codes::UNKNOWN_QUARANTINED,
                    "some ids are not items this task holds in quarantine (or are listed twice); nothing changed",
                ));
            }
            rows
        };
        if rows.is_empty() {
            break;
        }
        for chunk in rows.chunk_by(|a, b| a.import_id == b.import_id) {
            for part in chunk.chunks(BATCH) {
                for r in part {
                    db::validation::remove_quarantined(&mut tx, id, r.id).await?;
                }
                if !release {
                    out.discarded += part.len() as u64;
                    continue;
                }
                let import = ImportId(part[0].import_id);
                if !imports.contains(&import.0) {
                    imports.push(import.0);
                }
                let items: Vec<NewItem> = part
                    .iter()
                    .map(|r| NewItem {
                        external_id: r.external_id.clone(),
                        data_json: r.data_json.clone(),
                        gold_json: r.gold_json.clone(),
                        priority: r.priority,
                    })
                    .collect();
                let n = db::imports::insert_batch(
                    &mut tx,
                    db.backend,
                    id,
                    import,
                    task.overlap,
                    &items,
                    now,
                )
                .await?;
                out.released += n;
                out.already_in_task += part.len() as u64 - n;
                for r in part {
                    let p: Option<Vec<Prediction>> = r
                        .predictions_json
                        .as_deref()
                        .and_then(|p| serde_json::from_str(p).ok());
                    if let Some(p) = p {
                        crate::sampling::store_predictions(&mut tx, &task, &r.external_id, &p, now)
                            .await?;
                    }
                }
            }
        }
        if !action.all {
            break;
        }
    }
    for import in imports {
        crate::sampling::place_imported(&mut tx, id, ImportId(import)).await?;
        db::quality::resolve_gold(&mut tx, ImportId(import), now).await?;
    }
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        if release {
            "quarantine.release"
        } else {
            "quarantine.discard"
        },
        &format!("task #{id}"),
        &json!({"all": action.all, "ids": action.ids, "released": out.released,
            "discarded": out.discarded, "already_in_task": out.already_in_task}),
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(out)
}
