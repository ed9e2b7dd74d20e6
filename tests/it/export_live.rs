//! Exports while raters work (security.md case 47): each snapshot is one instant of the
//! database, whatever is committed meanwhile.

use serde_json::{Value, json};

use crate::export::{download, export, label_everything};
use crate::labeling::{rater, task_with_items};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn snapshots_taken_while_raters_submit_are_each_one_instant() {
    let app = TestApp::spawn().await;
    // Overlap 1: every submitted label resolves its item at once.
    let (task, admin) = task_with_items(&app, 1, 240, 10, 30).await;
    // The raters wait for the first snapshot to start: otherwise the first raters, set up while
    // the others are made, could label everything before the loop below first looks, leaving a
    // single snapshot taken after all the work (and `snapshots >= 2` to chance).
    let (go, ready) = tokio::sync::watch::channel(false);
    let mut workers = Vec::new();
    for r in 0..4 {
        let api = rater(&app, &admin, task, &format!("live{r}")).await;
        let mut ready = ready.clone();
        // Each rater on a task of its own, so they submit at the same time as the exports run.
        workers.push(tokio::spawn(async move {
            ready
                .wait_for(|go| *go)
                .await
                .expect("the test holds the sender");
            label_everything(&[api], task, |_, _| "pos").await
        }));
    }
    let resolved = || async { app.count("SELECT COUNT(*) FROM resolutions").await };
    let mut previous_rows = 0;
    let mut snapshots = 0;
    loop {
        let done = workers.iter().all(|w| w.is_finished());
        let before = resolved().await;
        go.send_replace(true);
        let made = export(
            &admin,
            task,
            json!({"format": "jsonl", "include_votes": true}),
        )
        .await;
        let after = resolved().await;
        let rows = made["rows"].as_i64().unwrap();
        // The snapshot saw one state between the two counts, and only ever more of them.
        assert!(
            before <= rows && rows <= after,
            "{before} <= {rows} <= {after}"
        );
        assert!(rows >= previous_rows);
        let bytes = download(&admin, &made["id"]).await;
        let lines: Vec<Value> = std::str::from_utf8(&bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len() as i64, rows);
        // Each row is whole: its label and its one vote belong together.
        for l in &lines {
            assert_eq!(l["label"], "pos");
            assert_eq!(l["vote_count"], 1);
            assert_eq!(l["rater_votes"].as_array().unwrap().len(), 1);
        }
        assert_eq!(
            made["card"]["labels"], rows,
            "the card counts the same instant"
        );
        previous_rows = rows;
        snapshots += 1;
        if done {
            break;
        }
    }
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(previous_rows, 240, "the last snapshot has every item");
    assert!(snapshots >= 2);
}
