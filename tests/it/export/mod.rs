//! Exports over HTTP: every format read back by a reader that is not ours (pyarrow for
//! Parquet, a standard-library Python TFRecord/tf.Example reader) and checked row by row against
//! the database; deterministic and grouped splits; CSV formula neutralisation; byte-identical,
//! content-addressed downloads with ETag, 304 and ranges; the diff between snapshots on a
//! hand-made case; and 404 for everyone who may not export.
//!
//! One file per topic; this one holds the helpers they share (a labeled task, making and
//! downloading an export, the Python readers). `export_live` uses `label_everything`, `export` and
//! `download` too.

mod diffs;
mod downloads;
mod empty_and_formulas;
mod formats;
mod layouts;
mod permissions;
mod splits;

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::labeling::{rater, task_with_items};
use crate::support::*;

/// The status of a GET without credentials.
async fn anonymous_status(app: &TestApp, path: &str) -> u16 {
    app.anon_get(path).await.status().as_u16()
}

/// Lets each rater lease and label until nothing is left; `answer(rater, item text)` decides.
pub async fn label_everything(
    raters: &[Api],
    task: i64,
    answer: impl Fn(usize, &str) -> &'static str,
) {
    for (r, api) in raters.iter().enumerate() {
        let mut n = 0;
        loop {
            let res = api
                .client
                .post(api.url(&format!("/api/v1/tasks/{task}/shards")))
                .send()
                .await
                .unwrap();
            if res.status() == 204 {
                break;
            }
            assert_eq!(res.status(), 200);
            let shard: Value = res.json().await.unwrap();
            let sid = shard["id"].as_i64().unwrap();
            for item in shard["items"].as_array().unwrap() {
                n += 1;
                let text = item["data"]["text"].as_str().unwrap_or("");
                let res = api
                    .post_json(
                        &format!("/api/v1/shards/{sid}/labels"),
                        &json!({"item_id": item["id"], "value": answer(r, text),
                            "duration_ms": 900, "submission_key": format!("k{r}-{n}")}),
                    )
                    .await;
                assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
            }
        }
    }
}

/// A task whose items all have three labels and a final label (majority or unanimous).
async fn labeled_task(app: &TestApp, n: usize) -> (i64, Api) {
    let (task, admin) = task_with_items(app, 3, n, 50, 30).await;
    let mut raters = Vec::new();
    for name in ["rita", "ravi", "rosa"] {
        raters.push(rater(app, &admin, task, name).await);
    }
    label_everything(&raters, task, |r, text| {
        let i: usize = text.rsplit(' ').next().unwrap_or("0").parse().unwrap_or(0);
        if (i + r).is_multiple_of(4) {
            "neg"
        } else {
            "pos"
        }
    })
    .await;
    (task, admin)
}

pub async fn export(admin: &Api, task: i64, body: Value) -> Value {
    let res = admin
        .post_json(&format!("/api/v1/tasks/{task}/exports"), &body)
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

pub async fn download(admin: &Api, id: &Value) -> Vec<u8> {
    let res = admin.get(&format!("/api/v1/exports/{id}/download")).await;
    assert_eq!(res.status(), 200);
    res.bytes().await.unwrap().to_vec()
}

fn python(script: &str, file: &Path) -> Vec<Value> {
    let out = Command::new("python3")
        .arg(format!(
            "{}/tests/python/{script}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .arg(file)
        .output()
        .expect("python3 runs (CI installs it with pyarrow: see .ci/run)");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
