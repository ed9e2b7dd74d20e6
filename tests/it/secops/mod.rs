//! Running Quorum for real, the security half: scoped API tokens, admin MFA, backup and restore.

mod backup;
mod mfa;
mod scopes;
