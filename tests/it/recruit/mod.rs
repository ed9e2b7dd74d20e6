//! Recruitment and people management: invite links (form and API), their limits, expiry and
//! revocation; deactivation and role changes ending access at once; the last admin; the audit log.
//!
//! One file per topic; this one holds the helper they share (who a client is signed in as).

mod access;
mod audit;
mod invites;
mod listing;

use crate::support::*;

/// Who a client's cookie signs in as, if anyone.
async fn whoami(client: &reqwest::Client, app: &TestApp) -> Option<(String, String)> {
    let res = client.get(app.url("/api/v1/me")).send().await.unwrap();
    if res.status() != 200 {
        return None;
    }
    let me: serde_json::Value = res.json().await.unwrap();
    Some((
        me["username"].as_str()?.to_string(),
        me["role"].as_str()?.to_string(),
    ))
}
