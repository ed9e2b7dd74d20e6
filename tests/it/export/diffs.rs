//! The diff between two snapshots, on a hand-made case.

use reqwest::Method;
use serde_json::{Value, json};

use super::export;
use crate::labeling::task_with_items;
use crate::support::*;

#[tokio::test]
async fn diff_between_snapshots_on_a_hand_made_case() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 3, 10, 20, 30).await;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM items WHERE task_id = $1 ORDER BY id")
        .bind(task)
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    let resolve = |i: usize, value: &'static str| {
        let pool = app.state.db.pool.clone();
        let id = ids[i];
        async move {
            sqlx::query("INSERT INTO resolutions (item_id, task_id, value_json, method, confidence, votes_json, resolved_at)
                 VALUES ($1, $2, $3, 'majority', 0.67, $4, 0)
                 ON CONFLICT (item_id) DO UPDATE SET value_json = excluded.value_json, votes_json = excluded.votes_json")
                .bind(id).bind(task).bind(json!(value).to_string())
                .bind(json!({json!(value).to_string(): 2, "\"other\"": 1}).to_string())
                .execute(&pool).await.unwrap();
        }
    };
    // Snapshot A: items 0–7, six pos and two neg → pos 0.75, neg 0.25.
    for i in 0..8 {
        resolve(i, if i < 6 { "pos" } else { "neg" }).await;
    }
    let a = export(&admin, task, json!({"format": "jsonl"})).await;
    assert_eq!(a["diff"]["previous_export_id"], Value::Null);
    // Then: item 0 loses its label (removed), items 8 and 9 arrive as neg (added), item 1
    // turns neg (relabeled). B has items 1–9: pos 2–5 (4), neg 1, 6, 7, 8, 9 (5).
    sqlx::query("DELETE FROM resolutions WHERE item_id = $1")
        .bind(ids[0])
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    resolve(8, "neg").await;
    resolve(9, "neg").await;
    resolve(1, "neg").await;
    let b = export(&admin, task, json!({"format": "tfrecord"})).await;
    let d = &b["diff"];
    assert_eq!(d["previous_export_id"], a["id"]);
    assert_eq!(
        (
            d["rows_added"].as_i64(),
            d["rows_removed"].as_i64(),
            d["rows_relabeled"].as_i64(),
            d["rows_unchanged"].as_i64()
        ),
        (Some(2), Some(1), Some(1), Some(6))
    );
    // pos 0.75 → 4/9, neg 0.25 → 5/9: both move by 0.75 − 4/9 = 0.30556.
    let linf = d["label_distribution_linf"].as_f64().unwrap();
    assert!((linf - (0.75 - 4.0 / 9.0)).abs() < 1e-9, "{linf}");
    assert_eq!(d["drift_threshold"], 0.1);
    assert_eq!(d["drift"], true);
    assert_eq!(b["card"]["splits"]["all"]["labels"]["neg"], 5);
    // A looser threshold set on the task: the same change is no longer flagged.
    let res = admin
        .send_json(
            Method::PATCH,
            &format!("/api/v1/tasks/{task}/export-settings"),
            &json!({"drift_threshold": 0.5}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = admin
        .send_json(
            Method::PATCH,
            &format!("/api/v1/tasks/{task}/export-settings"),
            &json!({"drift_threshold": 7}),
        )
        .await;
    assert_eq!(res.status(), 400);
    sqlx::query("DELETE FROM resolutions WHERE item_id IN ($1, $2)")
        .bind(ids[8])
        .bind(ids[9])
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    resolve(0, "pos").await;
    resolve(1, "pos").await;
    let c = export(&admin, task, json!({"format": "csv"})).await;
    let d = &c["diff"];
    assert_eq!(d["previous_export_id"], b["id"]);
    assert_eq!(
        (
            d["rows_added"].as_i64(),
            d["rows_removed"].as_i64(),
            d["rows_relabeled"].as_i64()
        ),
        (Some(1), Some(2), Some(1))
    );
    // Back to A: pos 0.75, neg 0.25 against 4/9 and 5/9.
    assert!((d["label_distribution_linf"].as_f64().unwrap() - (0.75 - 4.0 / 9.0)).abs() < 1e-9);
    assert_eq!(
        d["drift"], false,
        "0.31 is under the task's threshold of 0.5"
    );
}
