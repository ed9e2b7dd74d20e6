//! Every format read back by an independent reader (pyarrow for Parquet, a standard-library Python
//! TFRecord/tf.Example reader) and checked row by row against the database, read here with plain
//! SQL, pseudonyms included.

use std::collections::{BTreeMap, HashMap};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};

use super::{download, export, labeled_task, python};
use crate::parts::{Part, have};
use crate::support::*;

/// One row as the database has it, read with plain SQL (not through the export code).
#[derive(Debug, Clone)]
struct DbRow {
    external_id: String,
    data: Value,
    label: String,
    confidence: f64,
    method: String,
    votes: BTreeMap<String, i64>,
    /// (user id, value) per label, in submission order.
    raters: Vec<(i64, String)>,
}

async fn db_rows(app: &TestApp, task: i64) -> BTreeMap<i64, DbRow> {
    let rows: Vec<(i64, String, String, String, String, f64, String)> = sqlx::query_as(
        "SELECT i.id, i.external_id, i.data_json, r.value_json, r.method, r.confidence, r.votes_json
         FROM items i JOIN resolutions r ON r.item_id = i.id WHERE i.task_id = $1 ORDER BY i.id",
    )
    .bind(task)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    let labels: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT item_id, user_id, value_json FROM labels WHERE task_id = $1 ORDER BY item_id, id",
    )
    .bind(task)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    let mut out = BTreeMap::new();
    for (id, ext, data, value, method, confidence, votes) in rows {
        let votes: BTreeMap<String, i64> = serde_json::from_str::<BTreeMap<String, i64>>(&votes)
            .unwrap()
            .into_iter()
            .map(|(k, n)| (serde_json::from_str::<String>(&k).unwrap(), n))
            .collect();
        let raters = labels
            .iter()
            .filter(|l| l.0 == id)
            .map(|l| (l.1, serde_json::from_str::<String>(&l.2).unwrap()))
            .collect();
        out.insert(
            id,
            DbRow {
                external_id: ext,
                data: serde_json::from_str(&data).unwrap(),
                label: serde_json::from_str(&value).unwrap(),
                confidence,
                method,
                votes,
                raters,
            },
        );
    }
    out
}

/// The pseudonym rule, computed here from the task's salt: r_ + 16 hex of HMAC-SHA256.
async fn pseudonyms(app: &TestApp, task: i64) -> HashMap<i64, String> {
    let salt: String =
        sqlx::query_scalar("SELECT rater_salt FROM task_export_settings WHERE task_id = $1")
            .bind(task)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    let users: Vec<i64> =
        sqlx::query_scalar("SELECT DISTINCT user_id FROM labels WHERE task_id = $1")
            .bind(task)
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    users
        .into_iter()
        .map(|u| {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(salt.as_bytes()).unwrap();
            mac.update(u.to_string().as_bytes());
            let d = mac.finalize().into_bytes();
            (u, format!("r_{}", hex::encode(&d[..8])))
        })
        .collect()
}

#[tokio::test]
async fn every_format_reads_back_with_an_independent_reader_and_matches_the_database() {
    let app = TestApp::spawn().await;
    let (task, admin) = labeled_task(&app, 30).await;
    let expected = db_rows(&app, task).await;
    assert_eq!(expected.len(), 30, "every item has a final label");
    assert!(expected.values().any(|r| r.method == "majority"));
    assert!(expected.values().any(|r| r.method == "unanimous"));
    let settings = json!({"include_votes": true,
        "splits": {"train": 0.6, "validation": 0.2, "test": 0.2, "seed": 7}});
    let mut splits_by_format: Vec<BTreeMap<i64, String>> = Vec::new();
    let mut names = HashMap::new();
    let dir = tempfile::tempdir().unwrap();
    for format in ["jsonl", "csv", "parquet", "tfrecord"] {
        if format == "parquet" && !have(Part::Pyarrow, "reading Parquet exports back with pyarrow")
        {
            continue;
        }
        let mut body = settings.clone();
        body["format"] = format.into();
        let made = export(&admin, task, body).await;
        assert_eq!(made["rows"], 30, "{format}");
        if names.is_empty() {
            // The task's pseudonym key exists from its first export on.
            names = pseudonyms(&app, task).await;
        }
        let bytes = download(&admin, &made["id"]).await;
        use sha2::Digest;
        assert_eq!(made["sha256"], hex::encode(sha2::Sha256::digest(&bytes)));
        let path = dir.path().join(format!("x.{format}"));
        std::fs::write(&path, &bytes).unwrap();
        // Normalise every format to: id → (external_id, data, label, index, confidence, method,
        // votes, split, rater votes).
        let mut got: BTreeMap<i64, Value> = BTreeMap::new();
        match format {
            "jsonl" => {
                for line in std::str::from_utf8(&bytes).unwrap().lines() {
                    let v: Value = serde_json::from_str(line).unwrap();
                    let votes: Vec<Value> = v["rater_votes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| json!([r["rater"], r["value"]]))
                        .collect();
                    got.insert(
                        v["item_id"].as_i64().unwrap(),
                        json!([
                            v["external_id"],
                            v["data"],
                            v["label"],
                            v["label_index"],
                            v["confidence"],
                            v["method"],
                            v["votes"],
                            v["split"],
                            votes,
                            v["vote_count"]
                        ]),
                    );
                }
            }
            "csv" => {
                let mut r = csv::Reader::from_reader(&bytes[..]);
                let h = r.headers().unwrap().clone();
                let col = |name: &str| h.iter().position(|c| c == name).unwrap();
                for rec in r.records() {
                    let rec = rec.unwrap();
                    let votes: Vec<Value> =
                        serde_json::from_str::<Vec<Value>>(&rec[col("rater_votes")])
                            .unwrap()
                            .iter()
                            .map(|r| json!([r["rater"], r["value"]]))
                            .collect();
                    got.insert(
                        rec[col("item_id")].parse().unwrap(),
                        json!([
                            rec[col("external_id")],
                            serde_json::from_str::<Value>(&rec[col("data")]).unwrap(),
                            rec[col("label")],
                            rec[col("label_index")].parse::<i64>().unwrap(),
                            rec[col("confidence")].parse::<f64>().unwrap(),
                            rec[col("method")],
                            serde_json::from_str::<Value>(&rec[col("votes")]).unwrap(),
                            rec[col("split")],
                            votes,
                            rec[col("vote_count")].parse::<i64>().unwrap()
                        ]),
                    );
                }
            }
            "parquet" => {
                let rows = python("read_parquet.py", &path);
                let schema = &rows[0]["schema"];
                assert_eq!(schema["item_id"], "int64");
                assert_eq!(schema["external_id"], "string");
                assert_eq!(schema["label"], "string");
                assert_eq!(schema["label_index"], "int32");
                assert_eq!(schema["confidence"], "double");
                assert_eq!(schema["is_gold"], "bool");
                assert_eq!(schema["vote_count"], "int32");
                assert!(
                    schema["votes"]
                        .as_str()
                        .unwrap()
                        .starts_with("map<string, int32"),
                    "{schema}"
                );
                assert!(
                    schema["rater_votes"]
                        .as_str()
                        .unwrap()
                        .starts_with("list<item: struct<rater: string"),
                    "{schema}"
                );
                assert_eq!(rows[0]["rows"], 30);
                for v in &rows[1..] {
                    let votes: serde_json::Map<String, Value> = v["votes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|kv| (kv[0].as_str().unwrap().to_string(), kv[1].clone()))
                        .collect();
                    let rv: Vec<Value> = v["rater_votes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|r| json!([r["rater"], r["value"]]))
                        .collect();
                    got.insert(
                        v["item_id"].as_i64().unwrap(),
                        json!([
                            v["external_id"],
                            serde_json::from_str::<Value>(v["data"].as_str().unwrap()).unwrap(),
                            v["label"],
                            v["label_index"],
                            v["confidence"],
                            v["method"],
                            votes,
                            v["split"],
                            rv,
                            v["vote_count"]
                        ]),
                    );
                }
            }
            _ => {
                let records = python("read_tfrecord.py", &path);
                for f in &records {
                    let one = |k: &str, kind: &str| f[k][kind][0].clone();
                    let votes: serde_json::Map<String, Value> = f["vote_values"]["bytes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .zip(f["vote_counts"]["int64"].as_array().unwrap())
                        .map(|(k, n)| (k.as_str().unwrap().to_string(), n.clone()))
                        .collect();
                    let rv: Vec<Value> = f["rater_ids"]["bytes"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .zip(f["rater_values"]["bytes"].as_array().unwrap())
                        .map(|(r, v)| json!([r, v]))
                        .collect();
                    // Data fields also come one by one, as TFX reads them.
                    assert_eq!(
                        one("data_text", "bytes"),
                        serde_json::from_str::<Value>(one("data", "bytes").as_str().unwrap())
                            .unwrap()["text"]
                    );
                    // The float feature is 32-bit: compare the confidence at that precision.
                    let c = one("confidence", "float").as_f64().unwrap();
                    got.insert(
                        one("item_id", "int64").as_i64().unwrap(),
                        json!([
                            one("external_id", "bytes"),
                            serde_json::from_str::<Value>(one("data", "bytes").as_str().unwrap())
                                .unwrap(),
                            one("label", "bytes"),
                            one("label_index", "int64"),
                            (c * 1e6).round() / 1e6,
                            one("method", "bytes"),
                            votes,
                            one("split", "bytes"),
                            rv,
                            one("vote_count", "int64")
                        ]),
                    );
                }
            }
        }
        assert_eq!(
            got.len(),
            expected.len(),
            "{format}: one row per resolved item"
        );
        let mut splits = BTreeMap::new();
        for (id, want) in &expected {
            let g = &got[id];
            let index = if want.label == "pos" { 0 } else { 1 };
            let confidence = if format == "tfrecord" {
                ((want.confidence as f32) as f64 * 1e6).round() / 1e6
            } else {
                want.confidence
            };
            let raters: Vec<Value> = want
                .raters
                .iter()
                .map(|(u, v)| json!([names[u], v]))
                .collect();
            let wanted = json!([
                want.external_id,
                want.data,
                want.label,
                index,
                confidence,
                want.method,
                want.votes,
                g[7],
                raters,
                want.votes.values().sum::<i64>()
            ]);
            assert_eq!(g, &wanted, "{format}: item {id}");
            let split = g[7].as_str().unwrap().to_string();
            assert!(["train", "validation", "test"].contains(&split.as_str()));
            splits.insert(*id, split);
        }
        // Raters appear only under pseudonyms.
        assert!(
            !String::from_utf8_lossy(&bytes).contains("rita"),
            "{format} names a rater"
        );
        splits_by_format.push(splits);
    }
    assert!(
        splits_by_format.windows(2).all(|w| w[0] == w[1]),
        "every format splits alike"
    );
}
