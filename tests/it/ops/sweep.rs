//! The sweeper clears expired sessions, stale login-throttle rows and expired leases while the
//! server runs, not only at start; sweeps running at once are safe.

use std::time::Duration;

use quorum::domain::role::Role;

use crate::labeling::{rater, task_with_items};
use crate::support::*;

const MINUTE: i64 = 60_000;

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// Sets up one of each: a session, a throttle row and a lease, all of which expire after a day.
async fn leftovers(app: &TestApp) {
    app.create_user("sam", Role::Rater).await;
    let _session = app.session_for("sam").await;
    sqlx::query(
        "INSERT INTO login_throttle (key, failures, window_start) VALUES ('ip:9.9.9.9', 3, $1)",
    )
    .bind(app.clock.now_ms())
    .execute(&app.state.db.pool)
    .await
    .unwrap();
    let (task, admin) = task_with_items(app, 1, 4, 2, 5).await;
    let r = rater(app, &admin, task, "rita").await;
    r.lease(task).await;
    assert_eq!(
        count(
            app,
            "SELECT COUNT(*) FROM shard_items WHERE state = 'leased'"
        )
        .await,
        2
    );
}

#[tokio::test]
async fn the_sweeper_clears_what_expired_while_the_server_runs() {
    let app = TestApp::spawn_with(|c| c.sweep_interval = Duration::from_millis(50)).await;
    leftovers(&app).await;
    let before = count(&app, "SELECT COUNT(*) FROM sessions").await;
    assert!(before >= 1);
    // A day passes with nobody signing in, leasing or submitting.
    app.clock.advance(24 * 60 * MINUTE);
    let mut cleared = false;
    for _ in 0..400 {
        let sessions = count(&app, "SELECT COUNT(*) FROM sessions").await;
        let throttle = count(&app, "SELECT COUNT(*) FROM login_throttle").await;
        let leased = count(
            &app,
            "SELECT COUNT(*) FROM shard_items WHERE state = 'leased'",
        )
        .await;
        let active = count(
            &app,
            "SELECT CAST(COALESCE(SUM(active_leases), 0) AS BIGINT) FROM items",
        )
        .await;
        if sessions == 0 && throttle == 0 && leased == 0 && active == 0 {
            cleared = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        cleared,
        "the sweeper did not clear sessions, throttle rows and leases"
    );
    app.stop().await;
}

#[tokio::test]
async fn sweeps_running_at_once_clear_everything_exactly_once() {
    // The background sweeper stays out of the way: this test sweeps by hand.
    let app = TestApp::spawn_with(|c| c.sweep_interval = Duration::from_secs(3600)).await;
    leftovers(&app).await;
    app.clock.advance(24 * 60 * MINUTE);
    let sweeps = (0..6).map(|_| quorum::sweep::sweep_once(&app.state));
    let results = futures_util::future::join_all(sweeps).await;
    let mut total = quorum::sweep::Swept::default();
    for r in results {
        let r = r.expect("a concurrent sweep succeeds");
        total.sessions += r.sessions;
        total.throttle_rows += r.throttle_rows;
        total.leases += r.leases;
    }
    assert!(total.sessions >= 1, "{total:?}");
    assert_eq!(total.throttle_rows, 1, "{total:?}");
    assert_eq!(total.leases, 1, "one shard given back once: {total:?}");
    assert_eq!(
        count(
            &app,
            "SELECT CAST(COALESCE(SUM(active_leases), 0) AS BIGINT) FROM items"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM shard_items WHERE state = 'expired'"
        )
        .await,
        2
    );
    app.stop().await;
}
