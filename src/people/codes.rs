//! The public error codes of people: the `code` of a JSON error (and the reason behind a form's
//! message). Clients match on these strings, so they never change once published.

/// A username outside the rules (3 to 32 of `a-z 0-9 . _ -`).
pub const INVALID_USERNAME: &str = "invalid_username";
/// A new password outside the rules (length, not a common password).
pub const WEAK_PASSWORD: &str = "weak_password";
/// A form's new password and its confirmation differ.
pub const PASSWORDS_DIFFER: &str = "passwords_differ";
/// The username belongs to another account already.
pub const USERNAME_TAKEN: &str = "username_taken";
/// A role other than admin, reviewer or rater.
pub const INVALID_ROLE: &str = "invalid_role";
/// The change would leave no active admin.
pub const LAST_ADMIN: &str = "last_admin";
/// An admin tried to deactivate themselves.
pub const SELF: &str = "self";
/// An invite's `max_uses` outside 1..=10000.
pub const INVALID_MAX_USES: &str = "invalid_max_uses";
/// An invite's `expires_in_hours` outside 1..=8760.
pub const INVALID_EXPIRY: &str = "invalid_expiry";
/// An invite's note longer than 500 characters.
pub const INVALID_NOTE: &str = "invalid_note";
/// An invite names a task that does not exist.
pub const UNKNOWN_TASK: &str = "unknown_task";
/// A form field that should hold a whole number does not.
pub const INVALID_INPUT: &str = "invalid_input";
/// A token name that is empty or longer than 100 characters.
pub const INVALID_NAME: &str = "invalid_name";
/// No active account of that name (a token for someone who cannot sign in is refused).
pub const UNKNOWN_USER: &str = "unknown_user";
/// The current password given to change it is wrong.
pub const WRONG_PASSWORD: &str = "wrong_password";
/// A token scope that is not one of full, read, metrics, exports, label.
pub const INVALID_SCOPE: &str = "invalid_scope";
/// Two-factor sign-in is already on.
pub const MFA_ENROLLED: &str = "mfa_enrolled";
/// Confirming a two-factor set-up that was not started.
pub const MFA_NOT_STARTED: &str = "mfa_not_started";
/// A wrong one-time code.
pub const WRONG_CODE: &str = "wrong_code";
/// The second sign-in step came too late (or with a made-up challenge).
pub const MFA_EXPIRED: &str = "mfa_expired";
