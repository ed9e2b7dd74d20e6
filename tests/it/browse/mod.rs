//! The data browser: its actions through the API and the page forms (CSRF, 404 for raters,
//! exclusion from exports), and an admin using it in Chromium at desktop and phone widths.

mod actions;
mod browser;
mod pages;

use serde_json::Value;

use crate::export::label_everything;
use crate::labeling::{rater, task_with_items};
use crate::support::*;

/// A task (overlap 2, options Positive/Negative) with `n` items `e0…` all labeled "pos" by ann
/// and bob, so every item is decided by its raters. Answers the task, the admin's API client,
/// ann's client, and the item ids by external id order.
async fn labeled(app: &TestApp, n: usize) -> (i64, Api, Api, Vec<i64>) {
    let (task, admin) = task_with_items(app, 2, n, 50, 30).await;
    let ann = rater(app, &admin, task, "ann").await;
    let bob = rater(app, &admin, task, "bob").await;
    label_everything(&[ann, bob], task, |_, _| "pos").await;
    let ann = app.bearer(&app.token("ann").await);
    let page: Value = admin
        .get(&format!("/api/v1/tasks/{task}/items?limit=1000"))
        .await
        .json()
        .await
        .unwrap();
    let ids = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect();
    (task, admin, ann, ids)
}

async fn item(api: &Api, id: i64) -> Value {
    let res = api.get(&format!("/api/v1/items/{id}")).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}
