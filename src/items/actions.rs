//! What reviewers and admins may do to one item from the data browser (its page or the API):
//! send it to a reviewer, make it gold or ordinary again, leave it out of exports or take it
//! back. Each change is one write transaction with its audit entry (target `item #<id>`, which
//! is how the item's history finds it again).
//!
//! What gold means for an item that was already labeled (the rule of `labeling/gold.rs` and the
//! import): a gold item is resolved to its gold answer and is never leased as real work again; it
//! is mixed into shards as gold for raters who have not seen it. The labels it already has stay,
//! and from then on they count as gold answers in the raters' gold accuracy (and the continuous
//! gold check). Unmarking takes the gold resolution away and settles the item on the labels it
//! has, as if they had just come in: it is decided, goes to the queue, or asks for one more label.

use serde_json::{Value, json};

use crate::auth::AuthCtx;
use crate::db::tasks::Task;
use crate::db::{self, Tx, browse};
use crate::domain::ids::ItemId;
use crate::domain::schema::LabelSchema;
use crate::domain::states::ItemState;
use crate::error::{AppError, Result};
use crate::items::service::{ItemSummary, may_browse, summary};
use crate::state::AppState;

/// Error codes of the item actions.
pub mod codes {
    pub const GOLD_ITEM: &str = "gold_item";
    pub const INVALID_VALUE: &str = "invalid_value";
}

/// The audit log target of an item's actions.
pub fn audit_target(id: ItemId) -> String {
    format!("item #{id}")
}

/// A gold answer as it arrives: JSON from the API, or the fields of the item page's form (one
/// option for a single choice, any number of options for a multiple choice, the text for free
/// text).
#[derive(Clone, Debug)]
pub enum GoldAnswer {
    Json(Value),
    Form(Vec<String>),
}

impl GoldAnswer {
    /// The answer as a label value of `schema`, checked and in canonical form.
    fn value(self, schema: &LabelSchema) -> Result<Value> {
        let raw = match self {
            GoldAnswer::Json(v) => v,
            GoldAnswer::Form(fields) => match schema {
                LabelSchema::MultiChoice { .. } => {
                    Value::Array(fields.into_iter().map(Value::String).collect())
                }
                _ => match fields.into_iter().find(|f| !f.is_empty()) {
                    Some(f) => Value::String(f),
                    None => {
                        return Err(AppError::bad_request(
                            codes::INVALID_VALUE,
                            "value: choose the gold answer",
                        ));
                    }
                },
            },
        };
        schema
            .check_value(&raw)
            .map_err(|e| AppError::bad_request(codes::INVALID_VALUE, e))
    }
}

/// The item and its task, read inside the write transaction; 404 for raters and unknown items.
async fn load(tx: &mut Tx, ctx: &AuthCtx, id: ItemId) -> Result<(browse::ItemRow, Task)> {
    may_browse(ctx)?;
    let row = browse::item(&mut **tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let task = db::tasks::get(&mut **tx, row.task_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((row, task))
}

/// Records the action, commits, and answers the item as it is now.
async fn finish(
    state: &AppState,
    mut tx: Tx,
    ctx: &AuthCtx,
    row: &browse::ItemRow,
    action: &str,
    change: Value,
) -> Result<ItemSummary> {
    let mut detail = json!({"item": row.id, "task": row.task_id, "external_id": row.external_id});
    if let (Some(d), Some(c)) = (detail.as_object_mut(), change.as_object()) {
        d.extend(c.clone());
    }
    let target = audit_target(row.id);
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        action,
        &target,
        &detail,
        "",
        state.now(),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(item = %row.id, action, "item changed from the data browser");
    let now = browse::item(&state.db.pool, row.id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(summary(now))
}

/// Puts the item in the adjudication queue whatever its state, so a reviewer decides it. Gold
/// items are refused (their gold answer decides them); an item already waiting stays as it is.
#[tracing::instrument(skip_all, fields(item = %id))]
pub async fn send_to_adjudication(
    state: &AppState,
    ctx: &AuthCtx,
    id: ItemId,
) -> Result<ItemSummary> {
    let mut tx = state.db.begin_write().await?;
    let (row, _) = load(&mut tx, ctx, id).await?;
    if row.gold_json.is_some() {
        return Err(AppError::conflict(
            codes::GOLD_ITEM,
            "a gold item is decided by its gold answer; unmark it as gold first",
        ));
    }
    if row.state == ItemState::Adjudication {
        return Ok(summary(row));
    }
    browse::send_to_adjudication(&mut tx, id).await?;
    let change = json!({"state": {"before": row.state.as_str(), "after": "adjudication"}});
    finish(state, tx, ctx, &row, "item.send_to_review", change).await
}

/// Makes the item gold with `answer` (checked against the task's schema); see the module notes
/// for what happens to its labels and leases.
#[tracing::instrument(skip_all, fields(item = %id))]
pub async fn set_gold(
    state: &AppState,
    ctx: &AuthCtx,
    id: ItemId,
    answer: GoldAnswer,
) -> Result<ItemSummary> {
    let mut tx = state.db.begin_write().await?;
    let (row, task) = load(&mut tx, ctx, id).await?;
    let value = answer.value(&task.schema)?;
    let gold_json = value.to_string();
    browse::set_gold(&mut tx, id, task.id, &gold_json, state.now()).await?;
    let before = row.gold_json.as_deref().map(super::service::json);
    let change = json!({"gold": {"before": before, "after": value},
        "state": {"before": row.state.as_str(), "after": "resolved"}});
    finish(state, tx, ctx, &row, "item.gold", change).await
}

/// Makes a gold item ordinary again and settles it on the labels it has. Not gold: unchanged.
#[tracing::instrument(skip_all, fields(item = %id))]
pub async fn unset_gold(state: &AppState, ctx: &AuthCtx, id: ItemId) -> Result<ItemSummary> {
    let mut tx = state.db.begin_write().await?;
    let (row, task) = load(&mut tx, ctx, id).await?;
    let Some(gold) = row.gold_json.as_deref() else {
        return Ok(summary(row));
    };
    browse::unset_gold(&mut tx, id).await?;
    let after = crate::labeling::settle::settle(&mut tx, &task, id.0, state.now()).await?;
    let change = json!({"gold": {"before": super::service::json(gold), "after": null},
        "state": {"before": row.state.as_str(), "after": after.as_str()}});
    finish(state, tx, ctx, &row, "item.ungold", change).await
}

/// Leaves the item out of exports (and of quality figures and re-resolution), or takes it back
/// in. Asking for what already holds changes nothing.
#[tracing::instrument(skip_all, fields(item = %id, excluded))]
pub async fn set_excluded(
    state: &AppState,
    ctx: &AuthCtx,
    id: ItemId,
    excluded: bool,
) -> Result<ItemSummary> {
    let mut tx = state.db.begin_write().await?;
    let (row, _) = load(&mut tx, ctx, id).await?;
    if row.excluded_at.is_some() == excluded {
        return Ok(summary(row));
    }
    let mark = excluded.then(|| (ctx.user.id, state.now()));
    browse::set_excluded(&mut *tx, id, mark).await?;
    let (action, change) = if excluded {
        (
            "item.exclude",
            json!({"excluded": {"before": false, "after": true}}),
        )
    } else {
        (
            "item.include",
            json!({"excluded": {"before": true, "after": false}}),
        )
    };
    finish(state, tx, ctx, &row, action, change).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(kind: &str) -> LabelSchema {
        LabelSchema::parse(&json!({"kind": kind, "options": [
            {"value": "a", "label": "A"}, {"value": "b", "label": "B"}]}))
        .unwrap()
    }

    #[test]
    fn form_answers_become_values_of_the_schema() {
        let one = schema("single_choice");
        let form = |v: &[&str]| GoldAnswer::Form(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(form(&["b"]).value(&one).unwrap(), json!("b"));
        assert!(form(&[""]).value(&one).is_err(), "nothing chosen");
        assert!(form(&["c"]).value(&one).is_err(), "not an option");
        let many = schema("multi_choice");
        assert_eq!(form(&["b", "a"]).value(&many).unwrap(), json!(["a", "b"]));
        let text = LabelSchema::parse(&json!({"kind": "free_text"})).unwrap();
        assert_eq!(form(&["", "hi"]).value(&text).unwrap(), json!("hi"));
        assert!(GoldAnswer::Json(json!(3)).value(&one).is_err());
    }
}
