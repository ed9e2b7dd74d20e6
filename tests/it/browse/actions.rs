//! The item actions through the JSON API: what each does to the item, the queue, the history,
//! the audit log and exports; refusals that change nothing; 404 for raters.

use reqwest::Method;
use serde_json::{Value, json};

use super::{item, labeled};
use crate::export::{download, export};
use crate::support::*;

async fn send(api: &Api, method: Method, path: &str, body: Value) -> (u16, Value) {
    let res = api.send_json(method, path, &body).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn events(item: &Value) -> Vec<String> {
    item["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn send_to_adjudication_puts_any_item_in_the_queue() {
    let app = TestApp::spawn().await;
    let (task, admin, _, ids) = labeled(&app, 4).await;
    let before = item(&admin, ids[0]).await;
    assert_eq!(before["state"], "complete");
    assert_eq!(before["resolution"]["method"], "unanimous");

    let path = format!("/api/v1/items/{}/adjudication", ids[0]);
    let (status, it) = send(&admin, Method::POST, &path, json!(null)).await;
    assert_eq!(status, 200, "{it}");
    assert_eq!(it["state"], "adjudication");
    assert_eq!(it["needs_review"], true);
    assert!(it["resolution"].is_null());
    // Again: it is waiting already, nothing changes.
    let (status, again) = send(&admin, Method::POST, &path, json!(null)).await;
    assert_eq!(status, 200);
    assert_eq!(again["version"], it["version"]);

    let queue: Value = admin
        .get(&format!("/api/v1/tasks/{task}/adjudication"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue["total"], 1);
    assert_eq!(queue["items"][0]["id"], ids[0]);
    let waiting: Value = admin
        .get(&format!("/api/v1/tasks/{task}/items?needs_review=true"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(waiting["items"].as_array().unwrap().len(), 1);
    assert!(events(&item(&admin, ids[0]).await).contains(&"sent_to_review".to_string()));

    // A reviewer decides it as usual, and it leaves the queue.
    let (status, body) = send(
        &admin,
        Method::POST,
        &format!("/api/v1/items/{}/resolution", ids[0]),
        json!({"value": "neg"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let after = item(&admin, ids[0]).await;
    assert_eq!(after["state"], "resolved");
    assert_eq!(after["needs_review"], false);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'item.send_to_review'")
            .await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn gold_is_set_checked_and_taken_back() {
    let app = TestApp::spawn().await;
    let (task, admin, _, ids) = labeled(&app, 4).await;
    let path = format!("/api/v1/items/{}/gold", ids[1]);

    // A value the schema does not know is refused and changes nothing.
    let (status, body) = send(&admin, Method::PUT, &path, json!({"value": "maybe"})).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_value");
    assert!(item(&admin, ids[1]).await["gold"].is_null());

    let (status, it) = send(&admin, Method::PUT, &path, json!({"value": "neg"})).await;
    assert_eq!(status, 200, "{it}");
    assert_eq!(it["gold"], "neg");
    assert_eq!(it["state"], "resolved");
    assert_eq!(it["resolution"]["method"], "gold");
    assert_eq!(it["resolution"]["value"], "neg");
    assert_eq!(it["label_count"], 2, "its labels stay");
    let gold: Value = admin
        .get(&format!("/api/v1/tasks/{task}/items?gold=true"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(gold["items"].as_array().unwrap().len(), 1);
    // The raters' earlier labels now count as (wrong) gold answers.
    let quality: Value = admin
        .get(&format!("/api/v1/tasks/{task}/quality"))
        .await
        .json()
        .await
        .unwrap();
    assert!(quality.to_string().contains("gold"), "{quality}");

    // A gold item is decided by its answer: not sent to a reviewer.
    let (status, body) = send(
        &admin,
        Method::POST,
        &format!("/api/v1/items/{}/adjudication", ids[1]),
        json!(null),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "gold_item");

    // Unmarked, it is settled on its two "pos" labels again.
    let (status, it) = send(&admin, Method::DELETE, &path, json!(null)).await;
    assert_eq!(status, 200, "{it}");
    assert!(it["gold"].is_null());
    assert_eq!(it["state"], "complete");
    assert_eq!(it["resolution"]["value"], "pos");
    assert_eq!(it["resolution"]["method"], "unanimous");
    let story = events(&item(&admin, ids[1]).await);
    assert!(story.contains(&"marked_gold".to_string()), "{story:?}");
    assert!(story.contains(&"unmarked_gold".to_string()), "{story:?}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action IN ('item.gold', 'item.ungold')")
            .await,
        2
    );
    app.stop().await;
}

fn external_ids(jsonl: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(jsonl)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["external_id"].as_str().unwrap().to_string()
        })
        .collect()
}

#[tokio::test]
async fn excluded_items_leave_exports_until_included_again() {
    let app = TestApp::spawn().await;
    let (task, admin, _, ids) = labeled(&app, 5).await;
    let body = json!({"format": "jsonl", "only_resolved": true});
    let all =
        external_ids(&download(&admin, &export(&admin, task, body.clone()).await["id"]).await);
    assert_eq!(all.len(), 5);

    let path = format!("/api/v1/items/{}/exclusion", ids[2]);
    let (status, it) = send(&admin, Method::PUT, &path, json!(null)).await;
    assert_eq!(status, 200, "{it}");
    assert_eq!(it["excluded"], true);
    assert_eq!(it["excluded_by"], "admin");
    let snap = export(&admin, task, body.clone()).await;
    assert_eq!(snap["rows"], 4);
    let without = external_ids(&download(&admin, &snap["id"]).await);
    assert!(!without.contains(&"e2".to_string()), "{without:?}");
    let listed: Value = admin
        .get(&format!("/api/v1/tasks/{task}/items?excluded=true"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"][0]["id"], ids[2]);

    let (status, it) = send(&admin, Method::DELETE, &path, json!(null)).await;
    assert_eq!(status, 200);
    assert_eq!(it["excluded"], false);
    let back = external_ids(&download(&admin, &export(&admin, task, body).await["id"]).await);
    assert_eq!(back, all);
    let story = events(&item(&admin, ids[2]).await);
    assert!(
        story.ends_with(&["excluded".to_string(), "included".to_string()]),
        "{story:?}"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action IN ('item.exclude', 'item.include')"
        )
        .await,
        2
    );
    app.stop().await;
}

#[tokio::test]
async fn raters_get_404_for_every_action_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let (_, admin, ann, ids) = labeled(&app, 2).await;
    let id = ids[0];
    let before = item(&admin, id).await;
    let calls = [
        (Method::GET, format!("/api/v1/items/{id}"), json!(null)),
        (
            Method::POST,
            format!("/api/v1/items/{id}/adjudication"),
            json!(null),
        ),
        (
            Method::PUT,
            format!("/api/v1/items/{id}/gold"),
            json!({"value": "neg"}),
        ),
        (
            Method::DELETE,
            format!("/api/v1/items/{id}/gold"),
            json!(null),
        ),
        (
            Method::PUT,
            format!("/api/v1/items/{id}/exclusion"),
            json!(null),
        ),
        (
            Method::DELETE,
            format!("/api/v1/items/{id}/exclusion"),
            json!(null),
        ),
    ];
    for (method, path, body) in calls {
        let (status, _) = send(&ann, method.clone(), &path, body.clone()).await;
        assert_eq!(status, 404, "{method} {path} as a rater");
        // An item that does not exist answers the same.
        let missing = path.replace(&id.to_string(), "999999");
        let (status, _) = send(&admin, method.clone(), &missing, body).await;
        assert_eq!(status, 404, "{method} {missing}");
    }
    let after = item(&admin, id).await;
    assert_eq!(before["version"], after["version"]);
    assert_eq!(after["excluded"], false);
    assert!(after["gold"].is_null());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'item.%'")
            .await,
        0
    );
    app.stop().await;
}
