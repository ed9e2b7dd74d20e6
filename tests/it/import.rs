//! Item import: formats, all-or-nothing, line numbers for every kind of bad input.

use serde_json::{Value, json};

use crate::labeling::task_with_items;
use crate::support::*;

async fn import(api: &Api, task: i64, ct: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let res = api
        .post_body(&format!("/api/v1/tasks/{task}/items"), ct, body)
        .await;
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn every_bad_input_names_its_line_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 3, 3, 20, 30).await;
    let before = app.count("SELECT COUNT(*) FROM items").await;
    let good = |n: usize| -> String {
        (0..n)
            .map(|i| format!("{{\"text\": \"ok {i}\", \"external_id\": \"x{i}\"}}\n"))
            .collect()
    };
    let mut bad_jsonl: Vec<(Vec<u8>, u64, &str)> = Vec::new();
    // Invalid JSON on line 7321 of 10,000 (security.md case 28).
    let mut big = good(7320);
    big.push_str("{\"text\": \"a\"\n");
    big.push_str(&good(2679).replace("x", "y"));
    bad_jsonl.push((big.into_bytes(), 7321, "EOF while parsing"));
    bad_jsonl.push((
        format!("{}{{\"lang\": \"en\"}}\n", good(4)).into_bytes(),
        5,
        "missing field \"text\"",
    ));
    bad_jsonl.push((
        format!("{}{{\"text\": 5}}\n", good(2)).into_bytes(),
        3,
        "must be a string",
    ));
    bad_jsonl.push((
        format!(
            "{}{{\"text\": \"a\", \"image_url\": \"javascript:alert(1)\"}}\n",
            good(1)
        )
        .into_bytes(),
        2,
        "http(s) URL",
    ));
    let mut long = good(3).into_bytes();
    long.extend(b"{\"text\": \"");
    long.extend(std::iter::repeat_n(b'a', (1 << 20) + 1));
    long.extend(b"\"}\n");
    bad_jsonl.push((long, 4, "exceeds 1 MiB"));
    let mut utf8 = good(54).into_bytes();
    utf8.extend(b"{\"text\": \"bad \xff byte\"}\n");
    bad_jsonl.push((utf8, 55, "invalid UTF-8"));
    bad_jsonl.push((
        format!(
            "{}{{\"text\": \"dup\", \"external_id\": \"x1\"}}\n",
            good(3)
        )
        .into_bytes(),
        4,
        "appears twice",
    ));
    bad_jsonl.push((
        format!("{}{{\"text\": \"a\", \"gold\": \"maybe\"}}\n", good(1)).into_bytes(),
        2,
        "gold",
    ));
    for (body, line, needle) in bad_jsonl {
        let (status, err) = import(&admin, task, "application/x-ndjson", body).await;
        assert_eq!(status, 400, "{err}");
        assert_eq!(err["error"]["line"], line, "{err}");
        let msg = err["error"]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{msg} should mention {needle}");
        assert!(
            !msg.contains("/tmp") && !msg.contains("sqlite"),
            "no server detail leaks: {msg}"
        );
    }
    // UTF-16 is refused as a whole.
    let (status, err) = import(
        &admin,
        task,
        "application/x-ndjson",
        b"\xff\xfe{\x00\"\x00".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(err["error"]["message"].as_str().unwrap().contains("UTF-8"));
    // CSV: a short row after a quoted multi-line field names the physical line.
    let mut csv = String::from("\u{feff}text,lang\r\n");
    for i in 2..40 {
        if i == 10 {
            csv.push_str("\"multi\r\nline\r\nfield\",en\r\n");
        } else if i == 11 || i == 12 {
            continue;
        } else {
            csv.push_str(&format!("row {i},en\r\n"));
        }
    }
    csv.push_str("short\r\n");
    let (status, err) = import(&admin, task, "text/csv", csv).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["line"], 40, "{err}");
    let (status, err) = import(&admin, task, "text/csv", "lang\nen\n").await;
    assert_eq!((status, err["error"]["line"].clone()), (400, json!(1)));
    // A JSON array with a bad element.
    let (status, err) = import(
        &admin,
        task,
        "application/json",
        "[\n{\"text\": \"a\"},\n{\"text\": null}\n]",
    )
    .await;
    assert_eq!((status, err["error"]["line"].clone()), (400, json!(3)));
    // Deep nesting fails cleanly.
    let deep = format!(
        "{{\"text\": \"a\", \"x\": {}{}}}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let (status, _) = import(&admin, task, "application/x-ndjson", deep).await;
    assert_eq!(status, 400);
    // Compressed uploads and unknown types are refused.
    let res = admin
        .client
        .post(admin.url(&format!("/api/v1/tasks/{task}/items")))
        .header("content-type", "application/x-ndjson")
        .header("content-encoding", "gzip")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let (status, _) = import(&admin, task, "application/octet-stream", "x").await;
    assert_eq!(status, 400);

    assert_eq!(
        app.count("SELECT COUNT(*) FROM items").await,
        before,
        "nothing of a failed import is stored"
    );
    // Every import is recorded, failed ones with their line.
    let imports: Value = admin
        .get(&format!("/api/v1/tasks/{task}/imports"))
        .await
        .json()
        .await
        .unwrap();
    let list = imports["imports"].as_array().unwrap();
    assert!(
        list.iter()
            .any(|i| i["status"] == "failed" && i["error_line"] == 7321)
    );
    assert!(list.iter().any(|i| i["status"] == "succeeded"));
    app.stop().await;
}

#[tokio::test]
async fn csv_and_json_array_import_with_gold_and_derived_ids() {
    let app = TestApp::spawn().await;
    let (task, admin) = task_with_items(&app, 3, 0, 20, 30).await;
    let csv = "external_id,text,gold,source\nc1,\"Line one\nline two\",pos,web\nc2,plain,,mail\n";
    let (status, res) = import(&admin, task, "text/csv", csv).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["imported"], 2);
    let arr = json!([{"data": {"text": "from array", "image_url": "https://example.com/a.png"}, "gold": "neg"}, {"text": "bare"}]);
    let (status, res) = import(&admin, task, "application/json", arr.to_string()).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["imported"], 2);
    // The same array again: derived ids make it idempotent.
    let (_, res) = import(&admin, task, "application/json", arr.to_string()).await;
    assert_eq!(
        (res["imported"].clone(), res["skipped_duplicates"].clone()),
        (json!(0), json!(2))
    );
    let rows: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT external_id, data_json, gold_json FROM items ORDER BY id")
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(rows[0].0, "c1");
    assert_eq!(
        serde_json::from_str::<Value>(&rows[0].1).unwrap(),
        json!({"text": "Line one\nline two", "source": "web"})
    );
    assert_eq!(rows[0].2.as_deref(), Some("\"pos\""));
    assert_eq!(rows[1].2, None);
    assert!(rows[2].0.starts_with("sha256:"));
    assert_eq!(rows[2].2.as_deref(), Some("\"neg\""));
    app.stop().await;
}
