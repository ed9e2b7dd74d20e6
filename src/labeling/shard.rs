//! A shard as its rater sees it: the lease's expiry and the items to label, never anything of
//! other raters (blind labeling) and nothing that tells gold items apart.

use serde::Serialize;
use serde_json::Value;

use crate::auth::AuthCtx;
use crate::db;
use crate::domain::ids::{ShardId, UserId};
use crate::domain::layout::ItemLayout;
use crate::domain::states::ShardItemState;
use crate::error::{AppError, Result};
use crate::state::AppState;

/// A shard: `items` are the ones still to label, or with every item of the shard for its owner's
/// full view (`GET /api/v1/shards/{id}` and the labeling page, which can go back).
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ShardView {
    pub id: i64,
    pub task_id: i64,
    /// RFC 3339.
    pub expires_at: String,
    /// False once the lease expired or was given back.
    pub live: bool,
    pub items: Vec<ShardItemView>,
    /// How the task shows its items (`{"fields": []}`: the default layout), without the hidden
    /// fields, which `items` leave out.
    pub layout: ItemLayout,
}

/// One item of a shard.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ShardItemView {
    pub id: i64,
    /// The item's data as imported, without the fields the task's layout hides from raters.
    #[schema(value_type = Object)]
    pub data: Value,
    /// Full view only: the item's place in the shard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<ShardItemState>,
    /// Full view only: this rater's current answer, `null` when there is none yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// The model's prediction, to pre-fill the answer, when the task shows predictions (absent
    /// otherwise, and on tasks that hide them for unbiased labels).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub prediction: Option<Value>,
}

/// The shard `id` of `user`; with `all`, every item with its state and the rater's answer,
/// otherwise only the items still leased. `known` is the shard's task when the caller has it.
pub async fn view(
    state: &AppState,
    id: ShardId,
    user: UserId,
    all: bool,
    known: Option<&crate::db::tasks::Task>,
) -> Result<ShardView> {
    let shard = db::shards::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let read;
    let task = match known.filter(|t| t.id == shard.task_id) {
        Some(t) => t,
        None => {
            read = db::tasks::get(&state.db.pool, shard.task_id)
                .await?
                .ok_or(AppError::NotFound)?;
            &read
        }
    };
    let layout = crate::layout::service::of_task(&state.db.pool, shard.task_id).await?;
    let mut items: Vec<ShardItemView> = db::shards::items(&state.db.pool, id, user)
        .await?
        .into_iter()
        .filter(|i| all || i.state == ShardItemState::Leased)
        .map(|i| ShardItemView {
            id: i.item_id.0,
            data: {
                // Hidden fields never leave the server for a rater: taken out here, where
                // every shard answer and the labeling page get their items.
                let mut d = serde_json::from_str(&i.data_json).unwrap_or(Value::Null);
                layout.strip(&task.schema, &mut d);
                d
            },
            state: all.then_some(i.state),
            value: all.then(|| {
                i.value_json
                    .and_then(|s| serde_json::from_str(&s).ok())
                    .unwrap_or(Value::Null)
            }),
            prediction: None,
        })
        .collect();
    let ids: Vec<crate::domain::ids::ItemId> = items
        .iter()
        .map(|i| crate::domain::ids::ItemId(i.id))
        .collect();
    let shown = crate::sampling::service::shown(&state.db.pool, shard.task_id, &ids).await?;
    for (item, prediction) in items.iter_mut().zip(shown) {
        item.prediction = prediction;
    }
    Ok(ShardView {
        id: shard.id.0,
        task_id: shard.task_id.0,
        expires_at: crate::clock::rfc3339(shard.expires_at),
        live: shard.is_live(state.now()),
        items,
        layout: layout.for_raters(),
    })
}

/// The signed-in user's own shard with every item; anyone else's is as missing as one that does
/// not exist.
#[tracing::instrument(skip_all, fields(shard = %id, user = %ctx.user.id))]
pub async fn own_shard(state: &AppState, ctx: &AuthCtx, id: ShardId) -> Result<ShardView> {
    let shard = db::shards::get(&state.db.pool, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if shard.user_id != ctx.user.id {
        return Err(AppError::NotFound);
    }
    view(state, id, ctx.user.id, true, None).await
}
