//! The error codes the webhooks feature answers with. Clients match on these: never change a string.

/// A webhook that cannot be registered (the message names the field: url or events).
pub const INVALID_WEBHOOK: &str = "invalid_webhook";
/// The task has as many webhooks as it may.
pub const TOO_MANY_WEBHOOKS: &str = "too_many_webhooks";
