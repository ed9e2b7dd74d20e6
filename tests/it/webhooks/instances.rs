//! Two servers on one database, both running the delivery worker: every delivery reaches the
//! receiver exactly once (their claims take turns in write transactions), on SQLite and, in the
//! PostgreSQL half of the suite, on one PostgreSQL database.

use std::collections::BTreeSet;
use std::time::Duration;

use quorum::domain::ids::TaskId;
use quorum::webhooks::{Event, ImportFinished};

use super::{receiver, registered, settled, task, verify};
use crate::support::*;

const EVENTS: usize = 40;

#[tokio::test]
async fn two_instances_send_each_delivery_once() {
    let (base, r) = receiver().await;
    let tweak = |c: &mut quorum::config::Config| {
        c.webhooks.allow = vec!["127.0.0.1/32".parse().unwrap()];
        c.webhooks.poll = Duration::from_millis(5);
        c.webhooks.backoff = Duration::from_millis(30);
    };
    let one = TestApp::spawn_with(tweak).await;
    let url = one.state.config.database_url();
    let two = TestApp::spawn_with(|c| {
        tweak(c);
        c.database = Some(url);
    })
    .await;
    let admin = one.bearer(&one.token("admin").await);
    let t = task(&admin, "Shared").await;
    let (_, secret) = registered(&admin, t, &format!("{base}/ok"), &["import.finished"]).await;
    // Events committed one by one, as imports on either instance would.
    for i in 0..EVENTS {
        let app = if i % 2 == 0 { &one } else { &two };
        let mut tx = app.state.db.begin_write().await.unwrap();
        let e = Event::ImportFinished(ImportFinished {
            import_id: i as i64,
            rows: 1,
            imported: 1,
            skipped_duplicates: 0,
            anomalies: None,
        });
        quorum::webhooks::emit(&mut tx, TaskId(t), e, app.state.now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let l = settled(&admin, t, EVENTS).await;
    assert_eq!(l.len(), EVENTS);
    assert!(
        l.iter()
            .all(|d| d["state"] == "delivered" && d["attempts"] == 1)
    );
    let got = r.got("/ok");
    assert_eq!(got.len(), EVENTS, "no delivery was sent twice");
    let ids: BTreeSet<String> = got
        .iter()
        .map(|g| verify(&secret, g)["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), EVENTS, "every event arrived");
    two.stop().await;
    one.stop().await;
}
