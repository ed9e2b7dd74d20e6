//! The rules of reading items: who may (reviewers and admins), which filters exist and what they
//! mean, and how an item's history is told.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthCtx;
use crate::clock::rfc3339;
use crate::db::tasks::Task;
use crate::db::{self, browse};
use crate::domain::ids::{ItemId, ShardId, TaskId, UserId};
use crate::domain::layout::ItemLayout;
use crate::domain::role::Role;
use crate::domain::states::{ItemState, ShardItemState};
use crate::error::{AppError, Result};
use crate::http::page::{PageQuery, cut};
use crate::state::AppState;

/// Error codes of this feature.
pub mod codes {
    pub const INVALID_STATE: &str = "invalid_state";
    pub const INVALID_QUERY: &str = "invalid_query";
}

/// The item states, as stored and as filters name them.
pub const STATES: &[&str] = &["open", "complete", "adjudication", "resolved"];
/// The longest text search accepted.
pub const MAX_QUERY_CHARS: usize = 200;

/// `GET /api/v1/tasks/{id}/items` query: the page and the filters (all optional, combined with AND).
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ItemQuery {
    /// Page size, 1–1000 (default 100).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only items in this state: `open`, `complete`, `adjudication` or `resolved`.
    pub state: Option<String>,
    /// Only items that wait for a reviewer (true) or that do not (false).
    pub needs_review: Option<bool>,
    /// Only gold items (true) or only non-gold items (false).
    pub gold: Option<bool>,
    /// The item with this external id.
    pub external_id: Option<String>,
    /// Items whose data contains this text (case-insensitive for ASCII letters).
    pub q: Option<String>,
    /// Items that this rater (a username) has labeled.
    pub labeled_by: Option<String>,
    /// Only items excluded from exports (true) or only included ones (false).
    pub excluded: Option<bool>,
}

/// An item's final label.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Resolution {
    /// The label value, in the task's schema (a string, a list, a number or an object).
    pub value: Value,
    /// `unanimous`, `majority`, `dawid_skene`, `wawa`, `glad`, `adjudicated` or `gold`.
    pub method: String,
    pub confidence: f64,
    /// Votes per answer at the time of resolution.
    pub votes: Value,
    /// The reviewer who decided, for adjudicated items.
    pub resolved_by: Option<String>,
    pub resolved_at: String,
    #[serde(skip)]
    resolved_at_ms: i64,
}

/// An item as a list shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ItemSummary {
    pub id: ItemId,
    pub task_id: TaskId,
    pub external_id: String,
    #[schema(value_type = Object)]
    pub data: Value,
    /// `open`, `complete`, `adjudication` or `resolved`.
    pub state: String,
    /// How many labels the item asks for now (grows with adaptive overlap).
    pub target: i64,
    pub label_count: i64,
    pub active_leases: i64,
    /// The gold answer, for gold items.
    pub gold: Option<Value>,
    pub flagged: bool,
    /// Whether the item waits for a reviewer.
    pub needs_review: bool,
    /// Bumped at every change of the resolution (reviewers send it back to decide).
    pub version: i64,
    pub resolution: Option<Resolution>,
    pub created_at: String,
    /// Left out of exports, quality figures and re-resolution.
    pub excluded: bool,
    /// Since when, and by whom, for excluded items.
    pub excluded_at: Option<String>,
    pub excluded_by: Option<String>,
}

/// A page of items.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ItemPage {
    pub items: Vec<ItemSummary>,
    /// Pass back as `cursor` for the next page; null on the last one.
    pub next_cursor: Option<String>,
}

/// One rater's label on an item.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ItemLabel {
    pub label_id: i64,
    pub rater_id: UserId,
    pub rater: String,
    pub shard_id: Option<ShardId>,
    /// The label value, in the task's schema (a string, a list, a number or an object).
    pub value: Value,
    pub duration_ms: i64,
    pub instruction_version: i64,
    /// 1, plus one per change of answer.
    pub revision: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// A rater's skip of an item.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ItemSkip {
    pub rater_id: UserId,
    pub rater: String,
    pub reason: String,
    pub flagged: bool,
    pub created_at: String,
}

/// One event in an item's life, oldest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ItemEvent {
    pub at: String,
    /// `imported`, `leased`, `lease_expired`, `labeled`, `relabeled`, `skipped`, `resolved`, or a
    /// reviewer's or admin's action: `sent_to_review`, `marked_gold`, `unmarked_gold`,
    /// `excluded`, `included`.
    pub event: String,
    /// Who: the rater, or the reviewer who decided.
    pub by: Option<String>,
    pub detail: String,
    #[serde(skip)]
    at_ms: i64,
    /// For pages: the label value the event is about (shown by its option labels) and the rest
    /// of the detail without it.
    #[serde(skip)]
    pub value: Option<Value>,
    #[serde(skip)]
    pub note: String,
}

impl ItemEvent {
    fn about(mut self, value: Value, note: impl Into<String>) -> Self {
        self.value = Some(value);
        self.note = note.into();
        self
    }
}

/// `GET /api/v1/items/{id}`: the item with its labels, skips, resolution and history.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ItemDetail {
    #[serde(flatten)]
    pub item: ItemSummary,
    pub labels: Vec<ItemLabel>,
    pub skips: Vec<ItemSkip>,
    pub history: Vec<ItemEvent>,
}

/// Reviewers and admins only; to anyone else the item does not exist.
pub(crate) fn may_browse(ctx: &AuthCtx) -> Result<()> {
    if ctx.user.role.at_least(Role::Reviewer) {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

pub(crate) fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

pub(crate) fn summary(r: browse::ItemRow) -> ItemSummary {
    let needs_review =
        r.state == ItemState::Adjudication || (r.flagged != 0 && r.state != ItemState::Resolved);
    let resolution = match (
        r.resolution_json,
        r.resolution_method,
        r.resolution_confidence,
    ) {
        (Some(v), Some(method), Some(confidence)) => Some(Resolution {
            value: json(&v),
            method,
            confidence,
            votes: r.resolution_votes_json.as_deref().map_or(Value::Null, json),
            resolved_by: r.resolved_by,
            resolved_at: rfc3339(r.resolved_at.unwrap_or(0)),
            resolved_at_ms: r.resolved_at.unwrap_or(0),
        }),
        _ => None,
    };
    ItemSummary {
        id: r.id,
        task_id: r.task_id,
        external_id: r.external_id,
        data: json(&r.data_json),
        state: r.state.as_str().to_owned(),
        target: r.target,
        label_count: r.label_count,
        active_leases: r.active_leases,
        gold: r.gold_json.as_deref().map(json),
        flagged: r.flagged != 0,
        needs_review,
        version: r.version,
        resolution,
        created_at: rfc3339(r.created_at),
        excluded: r.excluded_at.is_some(),
        excluded_at: r.excluded_at.map(rfc3339),
        excluded_by: r.excluded_by,
    }
}

/// `text` as a `LIKE` pattern over stored JSON: escaped the way the data is stored (quotes and
/// backslashes as JSON writes them), with `%`, `_` and `\` taken literally.
fn like_pattern(text: &str) -> String {
    let encoded = serde_json::to_string(text).unwrap_or_default();
    let inner = encoded
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or("");
    let mut out = String::with_capacity(inner.len() + 2);
    out.push('%');
    for c in inner.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A page of a task's items that pass the query's filters.
#[tracing::instrument(skip_all, fields(task = %task))]
pub async fn list(state: &AppState, ctx: &AuthCtx, task: TaskId, q: ItemQuery) -> Result<ItemPage> {
    Ok(list_of_task(state, ctx, task, q).await?.1)
}

/// [`list`], with the task the items belong to (the browser's table shows its name and labels).
#[tracing::instrument(skip_all, fields(task = %task))]
pub async fn list_of_task(
    state: &AppState,
    ctx: &AuthCtx,
    task: TaskId,
    q: ItemQuery,
) -> Result<(Task, ItemPage)> {
    may_browse(ctx)?;
    let task = db::tasks::get(&state.db.pool, task)
        .await?
        .ok_or(AppError::NotFound)?;
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .parse()?;
    if let Some(s) = &q.state
        && !STATES.contains(&s.as_str())
    {
        return Err(AppError::bad_request(
            codes::INVALID_STATE,
            format!("state: one of {}", STATES.join(", ")),
        ));
    }
    let data_like = match q.q.as_deref() {
        None | Some("") => None,
        Some(t) if t.chars().count() > MAX_QUERY_CHARS => {
            return Err(AppError::bad_request(
                codes::INVALID_QUERY,
                format!("q: at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        Some(t) => Some(like_pattern(t)),
    };
    let labeled_by = match q.labeled_by.as_deref() {
        None => None,
        Some(name) => match db::users::by_username(&state.db.pool, name).await? {
            Some(u) => Some(u.id),
            // Nobody by that name has labeled anything.
            None => {
                let empty = ItemPage {
                    items: Vec::new(),
                    next_cursor: None,
                };
                return Ok((task, empty));
            }
        },
    };
    let filter = browse::ItemFilter {
        state: q.state,
        needs_review: q.needs_review,
        gold: q.gold,
        external_id: q.external_id,
        data_like,
        labeled_by,
        excluded: q.excluded,
    };
    let rows = browse::items(&state.db.pool, task.id, &filter, page.after, page.limit + 1).await?;
    let (rows, next_cursor) = cut(rows, page, |r| r.id.0);
    let page = ItemPage {
        items: rows.into_iter().map(summary).collect(),
        next_cursor,
    };
    Ok((task, page))
}

fn event(at_ms: i64, event: &str, by: Option<String>, detail: String) -> ItemEvent {
    ItemEvent {
        at: rfc3339(at_ms),
        event: event.to_string(),
        by,
        detail,
        at_ms,
        value: None,
        note: String::new(),
    }
}

/// [`get`], with the item's task (the item page shows its name and the schema's labels).
#[tracing::instrument(skip_all, fields(item = %id))]
pub async fn get_with_task(
    state: &AppState,
    ctx: &AuthCtx,
    id: ItemId,
) -> Result<(Task, ItemDetail, ItemLayout)> {
    let item = get(state, ctx, id).await?;
    let task = db::tasks::get(&state.db.pool, item.item.task_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let layout = crate::layout::service::of_task(&state.db.pool, task.id).await?;
    Ok((task, item, layout))
}

/// One item with its labels, skips and history.
#[tracing::instrument(skip_all, fields(item = %id))]
pub async fn get(state: &AppState, ctx: &AuthCtx, id: ItemId) -> Result<ItemDetail> {
    may_browse(ctx)?;
    let pool = &state.db.pool;
    let row = browse::item(pool, id).await?.ok_or(AppError::NotFound)?;
    let labels = browse::labels(pool, id).await?;
    let skips = browse::skips(pool, id).await?;
    let leases = browse::leases(pool, id).await?;
    let mut history = vec![event(row.created_at, "imported", None, String::new())];
    for l in &leases {
        let mut detail = format!("shard {}, until {}", l.shard_id, rfc3339(l.expires_at));
        if let Some(a) = &l.assigned_by {
            detail.push_str(&format!(", assigned by {a}"));
        }
        history.push(event(
            l.created_at,
            "leased",
            Some(l.username.clone()),
            detail,
        ));
        if l.state == ShardItemState::Expired {
            history.push(event(
                l.expires_at,
                "lease_expired",
                Some(l.username.clone()),
                format!("shard {}", l.shard_id),
            ));
        }
    }
    for l in &labels {
        let value = json(&l.value_json);
        history.push(
            event(
                l.created_at,
                "labeled",
                Some(l.username.clone()),
                l.value_json.clone(),
            )
            .about(value.clone(), ""),
        );
        if l.revision > 1 {
            let note = format!("revision {}", l.revision);
            history.push(
                event(
                    l.updated_at,
                    "relabeled",
                    Some(l.username.clone()),
                    format!("{note}: {}", l.value_json),
                )
                .about(value, note),
            );
        }
    }
    for s in &skips {
        let detail = if s.flagged != 0 {
            format!("flagged for review: {}", s.reason)
        } else {
            s.reason.clone()
        };
        history.push(event(
            s.created_at,
            "skipped",
            Some(s.username.clone()),
            detail,
        ));
    }
    let item = summary(row);
    if let Some(r) = &item.resolution {
        let note = format!("{}, confidence {:.2}", r.method, r.confidence);
        history.push(
            event(
                r.resolved_at_ms,
                "resolved",
                r.resolved_by.clone(),
                format!("{} ({note})", r.value),
            )
            .about(r.value.clone(), note),
        );
    }
    for a in browse::actions(pool, id).await? {
        let d = json(&a.detail);
        let (name, detail) = match a.action.as_str() {
            "item.send_to_review" => ("sent_to_review", String::new()),
            "item.gold" => {
                let gold = d["gold"]["after"].clone();
                let e = event(a.created_at, "marked_gold", a.actor, gold.to_string());
                history.push(e.about(gold, ""));
                continue;
            }
            "item.ungold" => (
                "unmarked_gold",
                format!("now {}", d["state"]["after"].as_str().unwrap_or("?")),
            ),
            "item.exclude" => ("excluded", "left out of exports".to_string()),
            "item.include" => ("included", "back in exports".to_string()),
            _ => continue,
        };
        history.push(event(a.created_at, name, a.actor, detail));
    }
    // Oldest first; at the same instant, in the order the events happen.
    history.sort_by_key(|e| e.at_ms);
    Ok(ItemDetail {
        labels: labels
            .into_iter()
            .map(|l| ItemLabel {
                label_id: l.id,
                rater_id: l.user_id,
                rater: l.username,
                shard_id: l.shard_id,
                value: json(&l.value_json),
                duration_ms: l.duration_ms,
                instruction_version: l.instruction_version,
                revision: l.revision,
                created_at: rfc3339(l.created_at),
                updated_at: rfc3339(l.updated_at),
            })
            .collect(),
        skips: skips
            .into_iter()
            .map(|s| ItemSkip {
                rater_id: s.user_id,
                rater: s.username,
                reason: s.reason,
                flagged: s.flagged != 0,
                created_at: rfc3339(s.created_at),
            })
            .collect(),
        history,
        item,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_match_the_data_as_stored() {
        assert_eq!(like_pattern("cat"), "%cat%");
        assert_eq!(like_pattern("100%_x"), "%100\\%\\_x%");
        // Quotes and backslashes are stored JSON-escaped.
        assert_eq!(like_pattern("say \"hi\""), "%say \\\\\"hi\\\\\"%");
        assert_eq!(like_pattern("é"), "%é%");
    }
}
