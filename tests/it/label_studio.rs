//! Label Studio JSON both ways: a labeled task exported as Label Studio tasks, then imported into
//! a fresh task (items, then the annotations as labels) resolves to the same final labels; Label
//! Studio predictions and ground-truth annotations become Quorum predictions and gold; bad
//! results are refused with the task and field, storing nothing.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::export::{download, export, label_everything};
use crate::labeling::{rater, task_with_items};
use crate::support::*;

async fn finals(app: &TestApp, task: i64) -> BTreeMap<String, String> {
    sqlx::query_as::<_, (String, String)>(
        "SELECT i.external_id, r.value_json FROM resolutions r JOIN items i ON i.id = r.item_id
         WHERE i.task_id = $1",
    )
    .bind(task)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

#[tokio::test]
async fn a_labeled_task_round_trips_through_label_studio_json() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 3, 12, 50, 30).await;
    let mut raters = Vec::new();
    for name in ["rita", "ravi", "rosa"] {
        raters.push(rater(&app, &admin, task, name).await);
    }
    label_everything(&raters, task, |r, text| {
        let i: usize = text.rsplit(' ').next().unwrap().parse().unwrap();
        if (i + r).is_multiple_of(3) {
            "neg"
        } else {
            "pos"
        }
    })
    .await;
    let before = finals(&app, task).await;
    assert_eq!(before.len(), 12);

    let made = export(
        &admin,
        task,
        json!({"format": "label_studio", "include_votes": true}),
    )
    .await;
    assert_eq!(made["format"], "label_studio");
    let bytes = download(&admin, &made["id"]).await;
    let tasks: Vec<Value> = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(tasks.len(), 12);
    let t = &tasks[0];
    assert_eq!(t["data"]["text"], "item number 0");
    assert_eq!(t["meta"]["external_id"], "e0");
    assert_eq!(
        t["annotations"].as_array().unwrap().len(),
        3,
        "one per rater's vote"
    );
    assert_eq!(t["meta"]["raters"].as_array().unwrap().len(), 3);
    let r = &t["annotations"][0]["result"][0];
    assert_eq!(
        (
            r["type"].as_str(),
            r["from_name"].as_str(),
            r["to_name"].as_str()
        ),
        (Some("choices"), Some("label"), Some("text"))
    );
    // The snapshot's schema carries the project's labeling config.
    let info: Value = admin
        .get(&format!("/api/v1/exports/{}", made["id"]))
        .await
        .json()
        .await
        .unwrap();
    let config = info["schema"]["labeling_config"].as_str().unwrap();
    assert!(config.contains("<Choice value=\"pos\"/>"), "{config}");

    // Into a fresh task: the file as items, then the same file as labels.
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "Moved", "schema": {"kind": "single_choice",
            "options": [{"value": "pos", "label": "P"}, {"value": "neg", "label": "N"}]},
            "overlap": 3, "max_overlap": 3, "state": "active"}),
        )
        .await;
    let moved = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{moved}/items"),
            "application/json",
            bytes.clone(),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{moved}/labels/import"),
            "application/json",
            bytes,
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let imported: Value = res.json().await.unwrap();
    assert_eq!(
        (imported["imported"].as_i64(), imported["items"].as_i64()),
        (Some(36), Some(12))
    );
    assert_eq!(finals(&app, moved).await, before, "the same final labels");
    let data: String =
        sqlx::query_scalar("SELECT data_json FROM items WHERE task_id = $1 AND external_id = 'e3'")
            .bind(moved)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&data).unwrap(),
        json!({"text": "item number 3"})
    );
}

#[tokio::test]
async fn label_studio_predictions_and_ground_truth_come_in_and_bad_results_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let res = admin
        .post_json("/api/v1/tasks", &json!({"name": "NER", "schema": {"kind": "spans", "field": "text",
            "labels": [{"value": "PER", "label": "Person"}, {"value": "ORG", "label": "Org"}]}, "state": "active"}))
        .await;
    let task = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let span = |start: u64, end: u64, label: &str| {
        json!({"from_name": "label", "to_name": "text", "type": "labels",
            "value": {"start": start, "end": end, "labels": [label]}})
    };
    // Label Studio counts UTF-16 units: "😀 Ada" has Ada at 3..6, Quorum at 2..5.
    let file = json!([
        {"id": 7, "data": {"text": "😀 Ada works at Acme"},
         "predictions": [{"model_version": "ner-2", "score": 0.8, "result": [span(3, 6, "PER")]}],
         "annotations": [{"ground_truth": true, "result": [span(3, 6, "PER"), span(16, 20, "ORG")]}]},
        {"id": 8, "data": {"text": "nobody here"}, "annotations": [], "predictions": []}
    ]);
    let bad = json!([
        {"id": 9, "data": {"text": "fine"}},
        {"id": 10, "data": {"text": "Bob"}, "predictions": [{"result": [span(0, 3, "LOC")]}]}
    ]);
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/json",
            bad.to_string(),
        )
        .await;
    assert_eq!(res.status(), 400);
    let text = res.text().await.unwrap();
    assert!(
        text.contains("predictions[0]") && text.contains("LOC"),
        "{text}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM items").await,
        0,
        "nothing stored"
    );

    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/json",
            file.to_string(),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let (ext, gold): (String, Option<String>) = sqlx::query_as(
        "SELECT external_id, gold_json FROM items WHERE task_id = $1 ORDER BY id LIMIT 1",
    )
    .bind(task)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(ext, "7");
    assert_eq!(
        serde_json::from_str::<Value>(&gold.unwrap()).unwrap(),
        json!([{"start": 2, "end": 5, "label": "PER"}, {"start": 15, "end": 19, "label": "ORG"}])
    );
    let (model, version, value, score): (String, String, String, Option<f64>) =
        sqlx::query_as("SELECT model, version, value_json, score FROM predictions")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(
        (model.as_str(), version.as_str(), score),
        ("label-studio", "ner-2", Some(0.8))
    );
    assert_eq!(
        serde_json::from_str::<Value>(&value).unwrap(),
        json!([{"start": 2, "end": 5, "label": "PER"}])
    );
}
