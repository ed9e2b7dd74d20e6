//! Online resolution: the cheap rule that runs as soon as an item has the labels it asked for.
//!
//! With every label in, the item is resolved when the leading answer reaches the task's agreement
//! threshold (`unanimous` / `majority`); otherwise it asks for one more label (adaptive overlap,
//! up to `max_overlap`) or, at the limit, goes to the adjudication queue. A reviewer's decision is
//! final: a resolved item is never settled again. Where the task compares direct labels
//! (`crate::outcomes`), a consensus that disagrees with the item's direct label goes to
//! adjudication instead.
//!
//! [`settle_many`] is the one implementation: it settles any number of items of a task with a
//! fixed number of statements (the group-commit writer settles every item a round completed at
//! once); [`settle`] is the same for one item.

use std::collections::HashMap;

use serde_json::Value;

use crate::db::label_batch::NewResolution;
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
    let states = settle_many(tx, task, &[item], now).await?;
    Ok(states.get(&item).copied().unwrap_or(ItemState::Open))
}

/// Settles every item of `items` (all of `task`) that has the labels it asked for; returns each
/// item's state afterwards (items that do not exist are left out).
pub async fn settle_many(
    tx: &mut Tx,
    task: &Task,
    items: &[i64],
    now: i64,
) -> Result<HashMap<i64, ItemState>, sqlx::Error> {
    let counts = db::label_batch::counts_of(tx, items).await?;
    let mut after: HashMap<i64, ItemState> = counts.iter().map(|c| (c.id, c.state)).collect();
    let due: Vec<&db::label_batch::Counts> = counts
        .iter()
        .filter(|c| c.label_count >= c.target && c.state != ItemState::Resolved)
        .collect();
    if due.is_empty() {
        return Ok(after);
    }
    let ids: Vec<i64> = due.iter().map(|c| c.id).collect();
    let mut values: HashMap<i64, Vec<Value>> = HashMap::with_capacity(ids.len());
    for (item, v) in db::label_batch::values_of(tx, &ids).await? {
        if let Ok(v) = serde_json::from_str(&v) {
            values.entry(item).or_default().push(v);
        }
    }
    let mut resolved = Vec::new();
    let mut more = Vec::new();
    let mut adjudicate = Vec::new();
    let mut decided_now = false;
    for c in due {
        let vals = values.get(&c.id).map(Vec::as_slice).unwrap_or(&[]);
        let decision = crate::domain::kinds::decide(
            &task.schema,
            vals,
            task.agreement,
            c.target,
            task.max_overlap,
        );
        match decision {
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
                    db::browse::send_to_adjudication(tx, crate::domain::ids::ItemId(c.id)).await?;
                    after.insert(c.id, ItemState::Adjudication);
                    continue;
                }
                decided_now |= c.state != ItemState::Complete;
                resolved.push(NewResolution {
                    item: c.id,
                    task: task.id,
                    value_json,
                    method,
                    confidence,
                    votes_json: serde_json::to_string(&votes).unwrap_or_default(),
                });
                after.insert(c.id, ItemState::Complete);
            }
            Decision::MoreLabels { .. } => {
                more.push(c.id);
                after.insert(c.id, ItemState::Open);
            }
            Decision::Adjudicate { .. } => {
                adjudicate.push(c.id);
                after.insert(c.id, ItemState::Adjudication);
            }
        }
    }
    db::label_batch::upsert_resolutions(tx, &resolved, now).await?;
    let complete: Vec<i64> = resolved.iter().map(|r| r.item).collect();
    db::label_batch::set_states(tx, &complete, ItemState::Complete).await?;
    db::label_batch::raise_targets(tx, &more).await?;
    let unresolved: Vec<i64> = more.iter().chain(&adjudicate).copied().collect();
    db::label_batch::delete_resolutions(tx, &unresolved).await?;
    db::label_batch::set_states(tx, &more, ItemState::Open).await?;
    db::label_batch::set_states(tx, &adjudicate, ItemState::Adjudication).await?;
    if decided_now {
        // Items were just decided: if they were the task's last, `task.completed`.
        crate::webhooks::item_decided(tx, task.id, &task.name, now).await?;
    }
    Ok(after)
}
