//! Splits: deterministic, grouped, and stable as items arrive.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Value, json};

use super::{download, export};
use crate::support::*;

#[tokio::test]
async fn splits_are_deterministic_grouped_and_stable_as_items_arrive() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let res = admin
        .post_json("/api/v1/tasks", &json!({"name": "Docs", "schema": {"kind": "single_choice",
            "options": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]}, "state": "active"}))
        .await;
    let task = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let body: String = (0..200)
        .map(|i| {
            format!(
                "{{\"external_id\": \"s{i}\", \"text\": \"t{i}\", \"doc\": \"d{}\"}}\n",
                i % 20
            )
        })
        .collect();
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            body,
        )
        .await;
    assert_eq!(res.status(), 200);
    let splits = |seed: u64, group: Option<&str>| {
        json!({"format": "jsonl", "only_resolved": false,
            "splits": {"train": 0.5, "validation": 0.25, "test": 0.25, "seed": seed, "group_by": group}})
    };
    let read = |bytes: Vec<u8>| -> BTreeMap<String, (String, String)> {
        std::str::from_utf8(&bytes)
            .unwrap()
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                (
                    v["external_id"].as_str().unwrap().to_string(),
                    (
                        v["split"].as_str().unwrap().to_string(),
                        v["data"]["doc"].as_str().unwrap().to_string(),
                    ),
                )
            })
            .collect()
    };
    let a = export(&admin, task, splits(1, None)).await;
    let b = export(&admin, task, splits(1, None)).await;
    assert_eq!(
        a["sha256"], b["sha256"],
        "same settings, same data: same bytes"
    );
    let first = read(download(&admin, &a["id"]).await);
    assert_eq!(first.len(), 200);
    let counts = first.values().fold(HashMap::new(), |mut m, (s, _)| {
        *m.entry(s.clone()).or_insert(0) += 1;
        m
    });
    assert!(counts.len() == 3 && counts["train"] > 70, "{counts:?}");
    let other_seed =
        read(download(&admin, &export(&admin, task, splits(2, None)).await["id"]).await);
    let moved = first
        .iter()
        .filter(|(k, v)| other_seed[*k].0 != v.0)
        .count();
    assert!(moved > 40, "another seed reshuffles ({moved} moved)");
    // Grouped: every row of a document in one split, and more than one split used.
    let grouped = read(
        download(
            &admin,
            &export(&admin, task, splits(1, Some("doc"))).await["id"],
        )
        .await,
    );
    let mut by_doc: HashMap<String, HashSet<String>> = HashMap::new();
    for (split, doc) in grouped.values() {
        by_doc.entry(doc.clone()).or_default().insert(split.clone());
    }
    assert_eq!(by_doc.len(), 20);
    assert!(by_doc.values().all(|s| s.len() == 1), "{by_doc:?}");
    let used: HashSet<&String> = by_doc.values().flatten().collect();
    assert!(used.len() >= 2);
    // New items do not move old ones.
    let more: String = (200..260)
        .map(|i| format!("{{\"external_id\": \"s{i}\", \"text\": \"t\", \"doc\": \"d1\"}}\n"))
        .collect();
    admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            more,
        )
        .await;
    let later = read(download(&admin, &export(&admin, task, splits(1, None)).await["id"]).await);
    assert_eq!(later.len(), 260);
    assert!(first.iter().all(|(k, v)| later[k].0 == v.0));
    // Bad split settings are a clear 400.
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{task}/exports"),
            &json!({"format": "jsonl", "splits": {"train": 0.9, "validation": 0.2, "test": 0.1}}),
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("add up to 1"));
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{task}/exports"),
            &json!({"format": "xlsx"}),
        )
        .await;
    assert_eq!(res.status(), 400);
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{task}/exports"),
            &json!({"format": "csv", "colour": 1}),
        )
        .await;
    assert_eq!(res.status(), 400);
}
