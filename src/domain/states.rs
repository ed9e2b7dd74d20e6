//! The life cycles of tasks, items and an item's place in a shard, as enums with the names they are stored and shown under.
//!
//! The database keeps them as TEXT (the `sqlx` encoding lives in `crate::db::states`, so this
//! module stays free of sqlx); the API shows the same lowercase names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A task's state: `draft → active ⇄ paused → archived`. Raters label only in an active task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    Draft,
    Active,
    Paused,
    Archived,
}

impl TaskState {
    /// Every state, in life-cycle order (for pickers).
    pub const ALL: [TaskState; 4] = [
        TaskState::Draft,
        TaskState::Active,
        TaskState::Paused,
        TaskState::Archived,
    ];

    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Draft => "draft",
            TaskState::Active => "active",
            TaskState::Paused => "paused",
            TaskState::Archived => "archived",
        }
    }

    /// What the state means for raters, as the task form and task page explain it.
    pub fn meaning(self) -> &'static str {
        match self {
            TaskState::Draft => "being set up: raters cannot see it yet",
            TaskState::Active => "raters on the task can label now",
            TaskState::Paused => "raters see it but get no new work",
            TaskState::Archived => "finished: hidden from raters, kept for exports",
        }
    }

    /// Raters who belong to the task see it while it is live (active or paused).
    pub fn is_live(self) -> bool {
        matches!(self, TaskState::Active | TaskState::Paused)
    }
}

/// An item's state: `open → complete → resolved`, or `open → adjudication → resolved`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ItemState {
    Open,
    Complete,
    Adjudication,
    Resolved,
}

impl ItemState {
    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Open => "open",
            ItemState::Complete => "complete",
            ItemState::Adjudication => "adjudication",
            ItemState::Resolved => "resolved",
        }
    }

    /// Every state, in life-cycle order.
    pub const ALL: [ItemState; 4] = [
        ItemState::Open,
        ItemState::Complete,
        ItemState::Adjudication,
        ItemState::Resolved,
    ];

    /// The words every page uses for the state (the API keeps the stored names). One vocabulary:
    /// an item is *decided* when it needs no more labels, either by the raters' agreement
    /// (`complete`) or by a reviewer (`resolved`).
    pub fn label(self) -> &'static str {
        match self {
            ItemState::Open => "Labeling",
            ItemState::Complete => "Decided by raters",
            ItemState::Adjudication => "Waiting for review",
            ItemState::Resolved => "Decided by reviewer",
        }
    }

    /// One sentence on what the item waits for.
    pub fn meaning(self) -> &'static str {
        match self {
            ItemState::Open => "needs more labels from raters",
            ItemState::Complete => "the raters' labels agreed (or an aggregation method decided)",
            ItemState::Adjudication => "raters disagreed at the maximum overlap, or flagged it",
            ItemState::Resolved => "a reviewer decided the final label",
        }
    }

    /// Whether the item needs no more labels.
    pub fn is_decided(self) -> bool {
        matches!(self, ItemState::Complete | ItemState::Resolved)
    }
}

/// An item's place in one shard: `leased → labeled`, `leased → skipped`, or `leased → expired`
/// when the lease ran out before an answer came.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ShardItemState {
    Leased,
    Labeled,
    Skipped,
    Expired,
}

impl ShardItemState {
    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            ShardItemState::Leased => "leased",
            ShardItemState::Labeled => "labeled",
            ShardItemState::Skipped => "skipped",
            ShardItemState::Expired => "expired",
        }
    }
}

impl FromStr for ShardItemState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            ShardItemState::Leased,
            ShardItemState::Labeled,
            ShardItemState::Skipped,
            ShardItemState::Expired,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
        .ok_or_else(|| UnknownState(s.to_string()))
    }
}

impl fmt::Display for ShardItemState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the states.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown state {0:?}")]
pub struct UnknownState(pub String);

impl FromStr for TaskState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaskState::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_string()))
    }
}

impl FromStr for ItemState {
    type Err = UnknownState;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            ItemState::Open,
            ItemState::Complete,
            ItemState::Adjudication,
            ItemState::Resolved,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
        .ok_or_else(|| UnknownState(s.to_string()))
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for ItemState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for s in TaskState::ALL {
            assert_eq!(s.as_str().parse::<TaskState>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in ["open", "complete", "adjudication", "resolved"] {
            assert_eq!(s.parse::<ItemState>().unwrap().as_str(), s);
        }
        for s in ["leased", "labeled", "skipped", "expired"] {
            assert_eq!(s.parse::<ShardItemState>().unwrap().as_str(), s);
        }
        assert!("Active".parse::<TaskState>().is_err());
        assert!("deleted".parse::<ItemState>().is_err());
        assert!(TaskState::Paused.is_live() && !TaskState::Draft.is_live());
    }
}
