//! The state every handler gets: database, configuration, clock and the password hasher.

use std::sync::Arc;

use crate::auth::password::Hasher;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub clock: Clock,
    pub hasher: Hasher,
    /// The base URL used in every link the server makes.
    pub base_url: Arc<str>,
    /// Label submissions go through group commit.
    pub submitter: crate::labeling::writer::Submitter,
    /// Shard → (task, owner), for the submit path (`labeling::owners`).
    pub shard_owners: Arc<crate::labeling::owners::ShardOwners>,
    /// Who a token or session is, for at most a second (`auth::cache`).
    pub auth_cache: Arc<crate::auth::cache::AuthCache>,
}

impl AppState {
    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// An absolute link for `path` (which starts with `/`).
    pub fn link(&self, path: &str) -> String {
        format!("{}{}", self.base_url.trim_end_matches('/'), path)
    }
}
