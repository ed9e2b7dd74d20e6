//! Exports of ratings and preferences: every existing format still works for the new kinds,
//! and a pairwise task exports preference pairs that match the database.

use serde_json::{Value, json};

use super::{item_of, kind_task, send};
use crate::export::{download, export};
use crate::labeling::rater;
use crate::support::*;

const PAIRS: &str = "{\"external_id\": \"p1\", \"prompt\": \"Capital of France?\", \"a\": \"Paris.\", \"b\": \"Lyon.\"}\n\
                     {\"external_id\": \"p2\", \"prompt\": \"2+2?\", \"a\": \"5\", \"b\": \"4\"}\n\
                     {\"external_id\": \"p3\", \"prompt\": \"Say hi\", \"a\": \"hi\", \"b\": \"hello\"}\n\
                     {\"external_id\": \"p4\", \"prompt\": \"Say bye\", \"a\": \"bye\", \"b\": \"ciao\"}\n";

#[tokio::test]
async fn pairwise_exports_preference_pairs_and_every_format() {
    let app = TestApp::spawn().await;
    let (task, admin) = kind_task(&app, json!({"kind": "pairwise"}), 1, 1, PAIRS).await;
    let r = rater(&app, &admin, task, "ann").await;
    let shard = r.lease(task).await;
    let sid = shard["id"].as_i64().unwrap();
    for (prompt, v) in [
        ("Capital", json!({"choice": "A", "reason": "right city"})),
        ("2+2", json!("B")),
        ("Say hi", json!("tie")),
        ("Say bye", json!("both_bad")),
    ] {
        let res = send(&r, sid, item_of(&shard, "prompt", prompt), &v, prompt).await;
        assert_eq!(res.status(), 201);
    }
    let e = export(&admin, task, json!({"format": "preference"})).await;
    let text = String::from_utf8(download(&admin, &e["id"]).await).unwrap();
    let got: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The same pairs, built here from the database with plain SQL.
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT i.external_id, i.data_json, r.value_json FROM items i JOIN resolutions r ON r.item_id = i.id
         WHERE i.task_id = $1 ORDER BY i.id",
    )
    .bind(task)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    let want: Vec<Value> = rows
        .iter()
        .filter_map(|(ext, data, value)| {
            let d: Value = serde_json::from_str(data).unwrap();
            let (c, r) = match serde_json::from_str::<String>(value).unwrap().as_str() {
                "A" => (d["a"].clone(), d["b"].clone()),
                "B" => (d["b"].clone(), d["a"].clone()),
                _ => return None,
            };
            Some(json!({"prompt": d["prompt"], "chosen": c, "rejected": r, "external_id": ext}))
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        got.len(),
        2,
        "the tie and both_bad items say nothing about order"
    );
    assert_eq!(got[0]["chosen"], "Paris.");
    assert_eq!(got[1]["chosen"], "4");
    let res = admin
        .get(&format!("/api/v1/exports/{}/download", e["id"]))
        .await;
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with(".preference.jsonl\"")
    );
    // The general formats keep working; JSONL carries the stored value (the reason included
    // in rater votes, the choice as the final label).
    let e = export(
        &admin,
        task,
        json!({"format": "jsonl", "include_votes": true}),
    )
    .await;
    let text = String::from_utf8(download(&admin, &e["id"]).await).unwrap();
    let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["label"], "A");
    assert_eq!(
        first["rater_votes"][0]["value"],
        json!({"choice": "A", "reason": "right city"})
    );
    for format in ["csv", "parquet", "tfrecord"] {
        let e = export(&admin, task, json!({"format": format})).await;
        assert_eq!(e["rows"], 4, "{format}");
        assert!(!download(&admin, &e["id"]).await.is_empty());
    }
}

#[tokio::test]
async fn rating_exports_numbers_and_refuses_preference_pairs() {
    let app = TestApp::spawn().await;
    let items = "{\"external_id\": \"r1\", \"text\": \"one\"}\n{\"external_id\": \"r2\", \"text\": \"two\"}\n";
    let (task, admin) = kind_task(
        &app,
        json!({"kind": "rating", "min": 1, "max": 5}),
        1,
        1,
        items,
    )
    .await;
    let r = rater(&app, &admin, task, "ann").await;
    let shard = r.lease(task).await;
    let sid = shard["id"].as_i64().unwrap();
    send(&r, sid, item_of(&shard, "text", "one"), &json!(5), "a").await;
    send(&r, sid, item_of(&shard, "text", "two"), &json!(2), "b").await;
    let e = export(&admin, task, json!({"format": "jsonl"})).await;
    let text = String::from_utf8(download(&admin, &e["id"]).await).unwrap();
    let labels: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["label"].clone())
        .collect();
    assert_eq!(labels, vec![json!(5), json!(2)]);
    for format in ["csv", "parquet", "tfrecord"] {
        let e = export(&admin, task, json!({"format": format})).await;
        assert_eq!(e["rows"], 2, "{format}");
    }
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{task}/exports"),
            &json!({"format": "preference"}),
        )
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_export");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("pairwise")
    );
}
