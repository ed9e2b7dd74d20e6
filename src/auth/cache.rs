//! Who a bearer token or a session cookie is, remembered for at most [`TTL_MS`].
//!
//! Every API request asks this (a labeling client sends a few a second), and the answer rarely
//! changes, so it is read from the database once per second per credential instead of on every
//! request. What the cache relies on:
//! - **In this process, a change is seen at once.** Every statement that changes a user's role,
//!   active flag or password, revokes a token or ends sessions moves `db::auth_epoch`, and an
//!   entry made before the move is never used again. So a demoted or deactivated user's next
//!   request on this instance is refused (security.md, "stale privilege").
//! - **Other instances of one deployment** (on PostgreSQL) see the change within [`TTL_MS`], when
//!   their entry expires.
//! - **Time-based limits are checked on every request** from the cached timestamps: a session's
//!   idle and absolute limits, and when to record a token's or a session's last use.
//!
//! The cache holds at most [`CAPACITY`] credentials and starts over when full.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::db::sessions::Session;
use crate::db::users::{LiveToken, User};

/// How long an entry may be used, in milliseconds of the server's clock.
pub const TTL_MS: i64 = 1_000;
/// The most credentials remembered.
pub const CAPACITY: usize = 50_000;

/// What a credential resolved to.
#[derive(Clone, Debug)]
pub enum Known {
    Token(LiveToken),
    Session(Session, User),
}

struct Entry {
    known: Known,
    read_at: i64,
    epoch: u64,
}

/// Credential (the sha256 of the token or session id) → what it resolved to.
#[derive(Default)]
pub struct AuthCache {
    map: Mutex<HashMap<String, Entry>>,
}

impl AuthCache {
    /// What `hash` resolved to, if read less than [`TTL_MS`] ago and no access changed since.
    pub fn get(&self, hash: &str, now: i64) -> Option<Known> {
        let epoch = crate::db::auth_epoch();
        let mut map = self.lock();
        let fresh = map
            .get(hash)
            .map(|e| e.epoch == epoch && now >= e.read_at && now - e.read_at < TTL_MS)?;
        if fresh {
            map.get(hash).map(|e| e.known.clone())
        } else {
            map.remove(hash);
            None
        }
    }

    /// Remembers what `hash` resolved to, read at `now` when the access epoch was `epoch` (taken
    /// before the read, so a change during the read makes the entry stale at once).
    pub fn put(&self, hash: &str, known: Known, now: i64, epoch: u64) {
        let mut map = self.lock();
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(
            hash.to_string(),
            Entry {
                known,
                read_at: now,
                epoch,
            },
        );
    }

    /// Forgets `hash` (its row was just written).
    pub fn forget(&self, hash: &str) {
        self.lock().remove(hash);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock cannot leave the map half written: use it as it is.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::UserId;

    fn known() -> Known {
        Known::Session(
            Session {
                id_hash: "h".into(),
                user_id: UserId(1),
                csrf_token: "c".into(),
                created_at: 0,
                last_seen_at: 0,
            },
            User {
                id: UserId(1),
                username: "ann".into(),
                role: crate::domain::role::Role::Rater,
                active: true,
                can_login: true,
                has_password: true,
                created_at: 0,
            },
        )
    }

    #[test]
    fn entries_expire_and_an_access_change_drops_them() {
        let c = AuthCache::default();
        let e = crate::db::auth_epoch();
        c.put("h", known(), 1_000, e);
        assert!(c.get("h", 1_500).is_some());
        assert!(c.get("h", 1_999).is_some());
        assert!(c.get("h", 2_000).is_none(), "a second old: read again");
        c.put("h", known(), 5_000, e);
        crate::db::auth_changed();
        assert!(c.get("h", 5_001).is_none(), "a role change is seen at once");
        // An entry read while access changed is never used.
        c.put("h", known(), 6_000, e);
        assert!(c.get("h", 6_001).is_none());
        // A clock that went back does not make an entry last.
        c.put("h", known(), 9_000, crate::db::auth_epoch());
        assert!(c.get("h", 8_000).is_none());
    }
}
