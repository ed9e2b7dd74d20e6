//! Skipping: a rater passes on one item of their shard. Its lease goes back to the pool, the rater
//! is not offered it again, and with `flag` a reviewer is asked to look at it.

use serde::{Deserialize, Serialize};

use crate::auth::AuthCtx;
use crate::db::labels::NewSkip;
use crate::db::{self, Tx};
use crate::domain::ids::{ShardId, TaskId, UserId};
use crate::domain::states::ShardItemState;
use crate::error::{AppError, Result};
use crate::labeling::submit::Refusal;
use crate::state::AppState;

/// `POST /api/v1/shards/{id}/skip`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkipRequest {
    pub item_id: i64,
    /// Why (kept for reviewers; control characters are dropped, at most 500 characters kept).
    #[serde(default)]
    pub reason: String,
    /// Also send the item to a reviewer (broken, offensive, or not answerable with the options).
    #[serde(default)]
    pub flag: bool,
}

/// The answer to a skip.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SkipOutcome {
    pub item_id: i64,
    pub skipped: bool,
}

/// Skips an item of the signed-in rater's shard.
#[tracing::instrument(skip_all, fields(shard = %shard, item = req.item_id, user = %ctx.user.id))]
pub async fn skip_item(
    state: &AppState,
    ctx: &AuthCtx,
    shard: ShardId,
    req: SkipRequest,
) -> Result<SkipOutcome> {
    let reason: String = req
        .reason
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect();
    let sh = db::shards::get(&state.db.pool, shard)
        .await?
        .ok_or(AppError::NotFound)?;
    if sh.user_id != ctx.user.id {
        return Err(AppError::NotFound);
    }
    let mut tx = state.db.begin_write().await?;
    let sk = Skip {
        task: sh.task_id,
        user: ctx.user.id,
        shard,
        item: req.item_id,
        reason: &reason,
        flag: req.flag,
    };
    // A refusal drops the transaction, which writes nothing.
    skip_in(&mut tx, &sk, state.now()).await??;
    tx.commit().await?;
    Ok(SkipOutcome {
        item_id: req.item_id,
        skipped: true,
    })
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

/// Runs a skip in `tx`: a leased item is given back; skipping it again only updates the reason.
pub async fn skip_in(
    tx: &mut Tx,
    sk: &Skip<'_>,
    now: i64,
) -> Result<Result<(), Refusal>, sqlx::Error> {
    let Some(sh) = db::shards::get(&mut **tx, sk.shard).await? else {
        return Ok(Err(Refusal::NotFound));
    };
    if sh.user_id != sk.user || sh.task_id != sk.task {
        return Ok(Err(Refusal::NotFound));
    }
    let Some(state) = db::shards::item_state(&mut **tx, sk.shard, sk.item).await? else {
        return Ok(Err(Refusal::NotFound));
    };
    if state == ShardItemState::Leased && sh.swept == 0 {
        db::items::release_lease(&mut **tx, sk.item).await?;
        db::shards::set_item_state(&mut **tx, sk.shard, sk.item, ShardItemState::Skipped).await?;
    } else if state != ShardItemState::Skipped {
        return Ok(Err(Refusal::LeaseExpired));
    }
    let row = NewSkip {
        item: sk.item,
        user: sk.user,
        shard: sk.shard,
        reason: sk.reason,
        flagged: sk.flag,
    };
    db::labels::upsert_skip(&mut **tx, &row, now).await?;
    if sk.flag {
        // A flagged item waits for a reviewer (gold items are not flagged: they are settled already).
        db::items::flag(&mut **tx, sk.item).await?;
    }
    Ok(Ok(()))
}
