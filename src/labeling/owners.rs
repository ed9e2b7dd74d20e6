//! Which rater and task a shard belongs to, cached for the submit path.
//!
//! A shard's owner and task are written once, when it is leased, and never change, so an entry
//! can only go wrong if its shard row is deleted (with its task) and the id used again. The
//! writer checks the owner and task again in the batch's own read, so a wrong entry can only
//! refuse a submission, never admit one; the entry is dropped on that refusal, and the next try
//! reads the row. The cache holds at most [`CAPACITY`] shards and starts over when full.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::db::{self, Db};
use crate::domain::ids::{ShardId, TaskId, UserId};
use crate::error::{AppError, Result};

/// The most shards remembered (about 40 bytes each).
pub const CAPACITY: usize = 100_000;

#[derive(Default)]
pub struct ShardOwners {
    map: Mutex<HashMap<ShardId, (TaskId, UserId)>>,
}

impl ShardOwners {
    /// The task of `shard` when `user` owns it; someone else's shard is as missing as one that
    /// does not exist.
    pub async fn task_of(&self, db: &Db, shard: ShardId, user: UserId) -> Result<TaskId> {
        let cached = self.lock().get(&shard).copied();
        let (task, owner) = match cached {
            Some(hit) => hit,
            None => {
                let found = db::shards::owner(&db.pool, shard)
                    .await?
                    .ok_or(AppError::NotFound)?;
                let mut map = self.lock();
                if map.len() >= CAPACITY {
                    map.clear();
                }
                map.insert(shard, found);
                found
            }
        };
        if owner != user {
            return Err(AppError::NotFound);
        }
        Ok(task)
    }

    /// Forgets `shard` (the writer did not find it as cached).
    pub fn forget(&self, shard: ShardId) {
        self.lock().remove(&shard);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ShardId, (TaskId, UserId)>> {
        // A panic while holding the lock cannot leave the map half written: use it as it is.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}
