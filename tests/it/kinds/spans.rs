//! Entity spans over the API and in exports: offsets past the text, bad shapes and overlaps are
//! refused with nothing stored; overlap-matched votes resolve; CoNLL and spaCy exports read back
//! with a small independent reader match the database.

use serde_json::{Value, json};

use super::{item_of, kind_task, send};
use crate::export::{download, export};
use crate::labeling::rater;
use crate::support::*;

pub fn ner_schema() -> Value {
    json!({"kind": "spans", "field": "text", "labels": [
        {"value": "PER", "label": "Person", "hotkey": "p", "color": "#e4572e"},
        {"value": "LOC", "label": "Place", "hotkey": "l", "color": "#2e86ab"}]})
}

const ITEMS: &str = "{\"external_id\": \"s1\", \"text\": \"Ada Lovelace met Charles Babbage in London.\"}\n\
                     {\"external_id\": \"s2\", \"text\": \"😀 Zoë flew to Paris\"}\n\
                     {\"external_id\": \"s3\", \"text\": \"Nothing to see here.\"}\n";

#[tokio::test]
async fn bad_spans_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    // A bad schema names its field.
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "x", "schema": {"kind": "spans", "labels": []}}),
        )
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("labels"),
        "{body}"
    );
    let (task, admin) = kind_task(&app, ner_schema(), 1, 1, ITEMS).await;
    // An item without the text field is refused at import, with its line.
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            "{\"body\": \"x\"}\n".to_string(),
        )
        .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["line"], 1);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("\"text\""),
        "{body}"
    );
    // A gold answer past the text is refused at import too.
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            "{\"text\": \"short\", \"gold\": [{\"start\": 0, \"end\": 9, \"label\": \"PER\"}]}\n"
                .to_string(),
        )
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM items").await, 3);
    let r = rater(&app, &admin, task, "ann").await;
    let shard = r.lease(task).await;
    let sid = shard["id"].as_i64().unwrap();
    let emoji = item_of(&shard, "text", "😀");
    for (i, (bad, why)) in [
        // "😀 Zoë flew to Paris" is 19 scalar values (20 UTF-16 units).
        (json!([{"start": 15, "end": 20, "label": "LOC"}]), "past the end of the text (19 characters)"),
        (json!([{"start": 3, "end": 3, "label": "PER"}]), "before end"),
        (json!([{"start": 5, "end": 2, "label": "PER"}]), "before end"),
        (json!([{"start": -1, "end": 2, "label": "PER"}]), "start must be"),
        (json!([{"start": 2, "end": 5, "label": "ORG"}]), "not one of"),
        (json!([{"start": 2, "end": 5, "label": "PER"}, {"start": 4, "end": 10, "label": "LOC"}]), "overlap"),
        (json!([{"start": 2, "end": 5}]), "label must be"),
        (json!({"start": 2}), "a list"),
        (json!("PER"), "a list"),
        (json!(null), "a list"),
    ]
    .into_iter()
    .enumerate()
    {
        let res = send(&r, sid, emoji, &bad, &format!("bad-{i}")).await;
        assert_eq!(res.status(), 400, "{bad}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_value", "{bad}");
        let msg = body["error"]["message"].as_str().unwrap();
        assert!(msg.contains(why), "{bad}: {msg}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM labels").await,
        0,
        "nothing stored"
    );
    // The last scalar value is fine: Paris is 14..19.
    let res = send(
        &r,
        sid,
        emoji,
        &json!([{"start": 14, "end": 19, "label": "LOC"}, {"start": 2, "end": 5, "label": "PER"}]),
        "ok",
    )
    .await;
    assert_eq!(res.status(), 201);
    let v: (String,) = sqlx::query_as("SELECT value_json FROM labels")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        v.0,
        r#"[{"end":5,"label":"PER","start":2},{"end":19,"label":"LOC","start":14}]"#
    );
}

#[tokio::test]
async fn spans_resolve_by_overlap_votes_and_export_as_conll_and_spacy() {
    let app = TestApp::spawn().await;
    let (task, admin) = kind_task(&app, ner_schema(), 3, 3, ITEMS).await;
    let per = |a: usize, b: usize| json!({"start": a, "end": b, "label": "PER"});
    let loc = |a: usize, b: usize| json!({"start": a, "end": b, "label": "LOC"});
    // s1: Ada Lovelace (0–12) by all (one says 0–3), Charles Babbage (17–32) by two, London (36–42)
    // by one. s2: Zoë (2–5) and Paris (14–19) by all. s3: nothing, by all.
    let answers = [
        (
            json!([per(0, 12), per(17, 32), loc(36, 42)]),
            json!([per(2, 5), loc(14, 19)]),
            json!([]),
        ),
        (
            json!([per(0, 3), per(17, 32)]),
            json!([per(2, 5), loc(14, 19)]),
            json!([]),
        ),
        (
            json!([per(0, 12)]),
            json!([per(2, 5), loc(14, 19)]),
            json!([]),
        ),
    ];
    for (n, (a1, a2, a3)) in ["ann", "bob", "cat"].iter().zip(answers) {
        let r = rater(&app, &admin, task, n).await;
        let s = r.lease(task).await;
        let sid = s["id"].as_i64().unwrap();
        for (start, v) in [("Ada", a1), ("😀", a2), ("Nothing", a3)] {
            let res = send(
                &r,
                sid,
                item_of(&s, "text", start),
                &v,
                &format!("{n}-{start}"),
            )
            .await;
            assert_eq!(res.status(), 201, "{v}");
        }
    }
    let finals: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT i.external_id, r.value_json, r.method FROM resolutions r JOIN items i ON i.id = r.item_id ORDER BY i.external_id",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    let f: Vec<(&str, Value, &str)> = finals
        .iter()
        .map(|(e, v, m)| (e.as_str(), serde_json::from_str(v).unwrap(), m.as_str()))
        .collect();
    assert_eq!(
        f,
        vec![
            ("s1", json!([per(0, 12), per(17, 32)]), "majority"),
            ("s2", json!([per(2, 5), loc(14, 19)]), "unanimous"),
            ("s3", json!([]), "unanimous"),
        ]
    );
    // Quality: s1 pairs (ann,bob) exact 1 of 3+2, (ann,cat) 1 of 3+1, (bob,cat) 0 of 2+1; s2: 2 of 4 each.
    let q: Value = admin
        .get(&format!("/api/v1/tasks/{task}/quality"))
        .await
        .json()
        .await
        .unwrap();
    let sp = &q["spans"];
    let exact = 2.0 * (1.0 + 1.0 + 0.0 + 6.0) / (5.0 + 4.0 + 3.0 + 12.0);
    let overlap = 2.0 * (2.0 + 1.0 + 1.0 + 6.0) / (5.0 + 4.0 + 3.0 + 12.0);
    assert!(
        (sp["f1_exact"].as_f64().unwrap() - exact).abs() < 1e-9,
        "{sp}"
    );
    assert!(
        (sp["f1_overlap"].as_f64().unwrap() - overlap).abs() < 1e-9,
        "{sp}"
    );
    assert!(sp["token_alpha"].as_f64().is_some(), "{sp}");
    assert_eq!(sp["per_label"][0]["label"], "PER");
    assert_eq!(sp["per_rater"].as_array().unwrap().len(), 3);
    let html = app
        .admin()
        .await
        .get(&format!("/admin/tasks/{task}/quality"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("span F1 (overlap)"));

    // CoNLL, read back by a reader that knows only the format: tokens and BIO tags → entities.
    let e = export(&admin, task, json!({"format": "conll"})).await;
    let text = String::from_utf8(download(&admin, &e["id"]).await).unwrap();
    assert!(text.starts_with("-DOCSTART- -X- -X- O\n\n"));
    let mut sentences: Vec<Vec<(String, String)>> = Vec::new();
    for block in text["-DOCSTART- -X- -X- O\n\n".len()..].split("\n\n") {
        let rows: Vec<(String, String)> = block
            .lines()
            .map(|l| {
                let cols: Vec<&str> = l.split(' ').collect();
                assert_eq!(cols.len(), 4, "{l}");
                (cols[0].to_string(), cols[3].to_string())
            })
            .collect();
        if !rows.is_empty() {
            sentences.push(rows);
        }
    }
    let entities: Vec<Vec<(String, String)>> = sentences
        .iter()
        .map(|s| {
            let mut out: Vec<(String, String)> = Vec::new();
            for (word, tag) in s {
                if let Some(l) = tag.strip_prefix("B-") {
                    out.push((l.to_string(), word.clone()));
                } else if tag.starts_with("I-") {
                    let last = out.last_mut().unwrap();
                    last.1 = format!("{} {word}", last.1);
                }
            }
            out
        })
        .collect();
    let e2 = |l: &str, w: &str| (l.to_string(), w.to_string());
    assert_eq!(
        entities,
        vec![
            vec![e2("PER", "Ada Lovelace"), e2("PER", "Charles Babbage")],
            vec![e2("PER", "Zoë"), e2("LOC", "Paris")],
            vec![],
        ]
    );
    // The words of the database's final spans, cut by scalar values, are the same.
    let from_db: Vec<Vec<(String, String)>> = sqlx::query_as::<_, (String, String)>(
        "SELECT i.data_json, r.value_json FROM items i JOIN resolutions r ON r.item_id = i.id ORDER BY i.id",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
    .iter()
    .map(|(d, v)| {
        let d: Value = serde_json::from_str(d).unwrap();
        let chars: Vec<char> = d["text"].as_str().unwrap().chars().collect();
        serde_json::from_str::<Vec<Value>>(v)
            .unwrap()
            .iter()
            .map(|s| {
                let (a, b) = (s["start"].as_u64().unwrap() as usize, s["end"].as_u64().unwrap() as usize);
                (s["label"].as_str().unwrap().to_string(), chars[a..b].iter().collect())
            })
            .collect()
    })
    .collect();
    assert_eq!(entities, from_db);

    // spaCy: the final spans with their text, one item a line.
    let e = export(&admin, task, json!({"format": "spacy"})).await;
    let text = String::from_utf8(download(&admin, &e["id"]).await).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["text"], "😀 Zoë flew to Paris");
    assert_eq!(
        lines[1]["entities"],
        json!([[2, 5, "PER"], [14, 19, "LOC"]])
    );
    assert_eq!(lines[2]["entities"], json!([]));
    // The general formats keep working, and another kind's format is refused.
    for format in ["jsonl", "csv", "parquet", "tfrecord"] {
        let e = export(&admin, task, json!({"format": format})).await;
        assert_eq!(e["rows"], 3, "{format}");
    }
    let res = admin
        .post_json(
            &format!("/api/v1/tasks/{task}/exports"),
            &json!({"format": "preference"}),
        )
        .await;
    assert_eq!(res.status(), 400);
    let list: Value = admin
        .get(&format!("/api/v1/tasks/{task}/exports"))
        .await
        .json()
        .await
        .unwrap();
    let formats: Vec<&str> = list["exports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["format"].as_str().unwrap())
        .collect();
    assert!(
        formats.contains(&"conll") && formats.contains(&"spacy"),
        "{formats:?}"
    );
}
