//! Typed ids, so a `TaskId` can never be passed where an `ItemId` is expected.

macro_rules! typed_id {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {$(
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

typed_id! {
    /// A user (admin, reviewer or rater).
    UserId,
    /// An invite link.
    InviteId,
    /// An API token.
    TokenId,
    /// A labeling task.
    TaskId,
    /// One item to label.
    ItemId,
    /// A lease of items to one rater.
    ShardId,
    /// One import run.
    ImportId,
    /// An export snapshot.
    ExportId,
    /// A registered webhook.
    WebhookId,
    /// One delivery of one event to one webhook.
    DeliveryId,
}
