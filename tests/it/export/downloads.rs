//! Downloads: byte-identical and content-addressed, with ETag, 304 and ranges; the listing, the
//! dataset card and their pages.

use serde_json::{Value, json};

use super::{anonymous_status, download, export, labeled_task};
use crate::support::*;

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
        layout: None,
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
