//! Online resolution: the cheap rule that runs as soon as an item has the labels it asked for.
//!
//! With every label in, the item is resolved when the leading answer reaches the task's agreement
//! threshold (`unanimous` / `majority`); otherwise it asks for one more label (adaptive overlap,
//! up to `max_overlap`) or, at the limit, goes to the adjudication queue. A reviewer's decision is
//! final: a resolved item is never settled again. Where the task compares direct labels
//! (`crate::outcomes`), a consensus that disagrees with the item's direct label goes to
//! adjudication instead.

use serde_json::Value;

use crate::db::items::NewResolution;
use crate::db::tasks::Task;
use crate::db::{self, Tx};
use crate::domain::resolve::Decision;
use crate::domain::states::ItemState;

/// Settles `item` once it has all the labels it asked for (and again when a rater changes an
/// answer on a finished item). Returns the item's state afterwards.
pub async fn settle(
    tx: &mut Tx,
    task: &Task,
    item: i64,
    now: i64,
) -> Result<ItemState, sqlx::Error> {
    let c = db::items::counts(&mut **tx, item).await?;
    if c.label_count < c.target || c.state == ItemState::Resolved {
        return Ok(c.state);
    }
    let values: Vec<Value> = db::items::values_of(&mut **tx, item)
        .await?
        .iter()
        .filter_map(|v| serde_json::from_str(v).ok())
        .collect();
    let new_state = match crate::domain::kinds::decide(
        &task.schema,
        &values,
        task.agreement,
        c.target,
        task.max_overlap,
    ) {
        Decision::Resolved {
            value,
            method,
            confidence,
            votes,
        } => {
            let value_json = value.to_string();
            // A task that compares direct labels sends a disagreeing consensus to a reviewer.
            if let Some(direct) = c.direct_json.as_deref()
                && crate::outcomes::consensus_disagrees(tx, task, direct, &value_json).await?
            {
                db::browse::send_to_adjudication(tx, crate::domain::ids::ItemId(item)).await?;
                return Ok(ItemState::Adjudication);
            }
            let r = NewResolution {
                item,
                task: task.id,
                value_json: &value_json,
                method,
                confidence,
                votes_json: &serde_json::to_string(&votes).unwrap_or_default(),
            };
            db::items::upsert_resolution(&mut **tx, &r, now).await?;
            ItemState::Complete
        }
        Decision::MoreLabels { .. } => {
            db::items::raise_target(&mut **tx, item).await?;
            db::items::delete_resolution(&mut **tx, item).await?;
            ItemState::Open
        }
        Decision::Adjudicate { .. } => {
            db::items::delete_resolution(&mut **tx, item).await?;
            ItemState::Adjudication
        }
    };
    db::items::set_state(&mut **tx, item, new_state).await?;
    if new_state == ItemState::Complete && c.state != ItemState::Complete {
        // The item has just been decided: if it was the task's last, `task.completed`.
        crate::webhooks::item_decided(tx, task.id, &task.name, now).await?;
    }
    Ok(new_state)
}
