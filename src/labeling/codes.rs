//! The error codes labeling answers with (the `code` of an API error). Clients match on them,
//! so the strings never change.

/// The lease on the item ran out and the item has every label it needs; the answer was not kept.
pub const LEASE_EXPIRED: &str = "lease_expired";
/// The task is not active (draft, paused or archived): no leases, no answers.
pub const TASK_NOT_ACTIVE: &str = "task_not_active";
/// A submission key used before for a different answer.
pub const SUBMISSION_KEY_REUSED: &str = "submission_key_reused";
/// A label value the task's schema refuses.
pub const INVALID_VALUE: &str = "invalid_value";
/// A submission key that is empty or too long.
pub const INVALID_SUBMISSION_KEY: &str = "invalid_submission_key";
/// A lease request whose body is not the JSON it should be.
pub const INVALID_JSON: &str = "invalid_json";
/// The rater has not acknowledged the current instructions.
pub const INSTRUCTIONS_NOT_ACKNOWLEDGED: &str = "instructions_not_acknowledged";
/// The rater is paused in the task (by the gold check or an admin).
pub const RATER_PAUSED: &str = "rater_paused";
/// The rater's qualification score is below the task's pass mark.
pub const NOT_QUALIFIED: &str = "not_qualified";
/// An admin assigned work to someone who is not a member of the task.
pub const NOT_A_MEMBER: &str = "not_a_member";
