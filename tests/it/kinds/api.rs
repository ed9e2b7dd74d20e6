//! Ratings and preferences over the API: bad schemas and bad values are refused with the field
//! named and nothing stored; good ones resolve by their kind's rule and show in the quality figures.

use serde_json::{Value, json};

use super::{item_of, kind_task, send};
use crate::labeling::rater;
use crate::support::*;

const RATING: &str = "{\"external_id\": \"r1\", \"text\": \"first answer\"}\n{\"external_id\": \"r2\", \"text\": \"second answer\"}\n";
const PAIRS: &str = "{\"external_id\": \"p1\", \"prompt\": \"Capital of France?\", \"a\": \"Paris.\", \"b\": \"Lyon.\", \"model_a\": \"big\", \"model_b\": \"small\"}\n\
                     {\"external_id\": \"p2\", \"prompt\": \"2+2?\", \"a\": \"5\", \"b\": \"4\", \"model_a\": \"small\", \"model_b\": \"big\"}\n";

#[tokio::test]
async fn bad_schemas_are_refused_with_the_field_named() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    for (schema, why) in [
        (json!({"kind": "rating", "min": 5, "max": 1}), "min and max"),
        (
            json!({"kind": "rating", "min": 1, "max": 50}),
            "min and max",
        ),
        (
            json!({"kind": "rating", "min": 1, "max": 5, "anchors": {"9": "x"}}),
            "anchors",
        ),
        (json!({"kind": "rating", "max": 5}), "min"),
        (
            json!({"kind": "pairwise", "a_field": "x", "b_field": "x"}),
            "a_field and b_field",
        ),
        (
            json!({"kind": "pairwise", "a_source_field": "m"}),
            "a_source_field",
        ),
        (
            json!({"kind": "pairwise", "allow_ties": true}),
            "allow_ties",
        ),
    ] {
        let res = admin
            .post_json("/api/v1/tasks", &json!({"name": "Bad", "schema": schema}))
            .await;
        assert_eq!(res.status(), 400, "{schema}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_schema", "{schema}");
        let msg = body["error"]["message"].as_str().unwrap();
        assert!(msg.contains(why), "{schema}: {msg}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM tasks").await, 0);
}

#[tokio::test]
async fn ratings_outside_the_scale_are_refused_and_the_median_resolves() {
    let app = TestApp::spawn().await;
    let schema =
        json!({"kind": "rating", "min": 1, "max": 5, "anchors": {"1": "useless", "5": "perfect"}});
    let (task, admin) = kind_task(&app, schema, 3, 3, RATING).await;
    let mut raters = Vec::new();
    for name in ["ann", "bob", "cat"] {
        raters.push(rater(&app, &admin, task, name).await);
    }
    let shard = raters[0].lease(task).await;
    let sid = shard["id"].as_i64().unwrap();
    let item = item_of(&shard, "text", "first");
    for (i, bad) in [
        json!(6),
        json!(0),
        json!(2.5),
        json!("five"),
        json!(null),
        json!([3]),
        json!({"value": 3}),
    ]
    .iter()
    .enumerate()
    {
        let res = send(&raters[0], sid, item, bad, &format!("bad-{i}")).await;
        assert_eq!(res.status(), 400, "{bad}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_value", "{bad}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("value:"),
            "{body}"
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM labels").await,
        0,
        "nothing stored"
    );
    // 2, 4 and 5 on item 1: the median 4 with confidence 1 − 1/4.
    for (r, v) in raters.iter().zip([json!(2), json!("4"), json!(5.0)]) {
        let s = if std::ptr::eq(r, &raters[0]) {
            shard.clone()
        } else {
            r.lease(task).await
        };
        let sid = s["id"].as_i64().unwrap();
        let res = send(r, sid, item_of(&s, "text", "first"), &v, &format!("k-{v}")).await;
        assert_eq!(res.status(), 201, "{v}");
    }
    let stored: Vec<(String,)> = sqlx::query_as("SELECT value_json FROM labels ORDER BY id")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        stored.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
        ["2", "4", "5"]
    );
    let (value, method, confidence): (String, String, f64) =
        sqlx::query_as("SELECT value_json, method, confidence FROM resolutions WHERE item_id = $1")
            .bind(item)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!((value.as_str(), method.as_str()), ("4", "median"));
    assert!((confidence - 0.75).abs() < 1e-9);
    let q: Value = admin
        .get(&format!("/api/v1/tasks/{task}/quality"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        q["rating"]["histogram"],
        json!([[1, 0], [2, 1], [3, 0], [4, 1], [5, 1]])
    );
    assert!(q["pairwise"].is_null());
    // A reviewer's decision is checked against the scale too.
    let res = admin
        .post_json(
            &format!("/api/v1/items/{item}/resolution"),
            &json!({"value": 9}),
        )
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn preferences_are_checked_resolve_by_majority_and_rank_sources() {
    let app = TestApp::spawn().await;
    let schema = json!({"kind": "pairwise", "a_source_field": "model_a", "b_source_field": "model_b", "allow_both_bad": false});
    let (task, admin) = kind_task(&app, schema, 3, 3, PAIRS).await;
    let mut raters = Vec::new();
    for name in ["ann", "bob", "cat"] {
        raters.push(rater(&app, &admin, task, name).await);
    }
    let mut shards = Vec::new();
    for r in &raters {
        shards.push(r.lease(task).await);
    }
    let sid = shards[0]["id"].as_i64().unwrap();
    let p1 = item_of(&shards[0], "prompt", "Capital");
    for (i, bad) in [
        json!("C"),
        json!("a"),
        json!("both_bad"),
        json!({"choice": "A", "why": "x"}),
        json!({"reason": "no choice"}),
        json!({"choice": "A", "reason": "x".repeat(2001)}),
        json!(1),
    ]
    .iter()
    .enumerate()
    {
        let res = send(&raters[0], sid, p1, bad, &format!("bad-{i}")).await;
        assert_eq!(res.status(), 400, "{bad}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_value");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("value:"),
            "{body}"
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM labels").await,
        0,
        "nothing stored"
    );
    // p1 (big vs small): A, A with a reason, B → A by majority. p2 (small vs big): B, B, tie.
    let answers = [
        (json!("A"), json!("B")),
        (json!({"choice": "A", "reason": "  correct  "}), json!("B")),
        (json!("B"), json!({"choice": "tie", "reason": ""})),
    ];
    for ((r, s), (v1, v2)) in raters.iter().zip(&shards).zip(answers) {
        let sid = s["id"].as_i64().unwrap();
        for (item, v) in [
            (item_of(s, "prompt", "Capital"), v1),
            (item_of(s, "prompt", "2+2"), v2),
        ] {
            let res = send(r, sid, item, &v, &format!("{item}-{v}")).await;
            assert_eq!(res.status(), 201, "{v}");
        }
    }
    let stored: Vec<(String,)> =
        sqlx::query_as("SELECT value_json FROM labels WHERE item_id = $1 ORDER BY id")
            .bind(p1)
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(stored[1].0, r#"{"choice":"A","reason":"correct"}"#);
    let finals: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.external_id, r.value_json FROM resolutions r JOIN items i ON i.id = r.item_id ORDER BY i.external_id",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(
        finals,
        vec![("p1".into(), "\"A\"".into()), ("p2".into(), "\"B\"".into())]
    );
    let q: Value = admin
        .get(&format!("/api/v1/tasks/{task}/quality"))
        .await
        .json()
        .await
        .unwrap();
    let p = &q["pairwise"];
    // p1: 1 agreeing pair of 3; p2: 1 of 3 → 2/6 (ordered pairs 2·1 + 2·1 of 6 + 6).
    assert!(
        (p["observed_agreement"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9,
        "{p}"
    );
    assert_eq!(p["choices"], json!([["A", 2], ["B", 3], ["tie", 1]]));
    // big won 4 (p1: A, A; p2: B, B), small won 1, one tie: big ranks first.
    assert_eq!(p["sources"][0]["source"], "big");
    assert_eq!(p["sources"][0]["wins"], 4);
    assert_eq!(p["sources"][0]["losses"], 1);
    assert_eq!(p["sources"][0]["ties"], 1);
    // The quality page shows the table.
    let s = app.admin().await;
    let html = s
        .get(&format!("/admin/tasks/{task}/quality"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Bradley–Terry") && html.contains("big"),
        "{html}"
    );
}

#[tokio::test]
async fn the_task_form_makes_and_edits_tasks_of_the_new_kinds() {
    let app = TestApp::spawn().await;
    let s = app.admin().await;
    let form = |name: &'static str, schema: &'static str| {
        vec![
            ("name", name),
            ("instructions", "# Rate"),
            ("kind", "rating"),
            ("schema_json", schema),
            ("state", "active"),
            ("overlap", "1"),
            ("max_overlap", "1"),
            ("agreement", "0.5"),
            ("shard_size", "5"),
            ("lease_minutes", "30"),
        ]
    };
    let res = s
        .post_form(
            "/admin/tasks",
            &form("Helpfulness", r#"{"min": 1, "max": 7}"#),
        )
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    let (id, schema): (i64, String) = sqlx::query_as("SELECT id, schema_json FROM tasks")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let schema: Value = serde_json::from_str(&schema).unwrap();
    assert_eq!(schema, json!({"kind": "rating", "min": 1, "max": 7}));
    // The edit page shows the schema as JSON and saving it again keeps it.
    let html = s
        .get(&format!("/admin/tasks/{id}/edit"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("&quot;max&quot;: 7") || html.contains("&#34;max&#34;: 7"),
        "{html}"
    );
    let res = s
        .post_form(
            &format!("/admin/tasks/{id}/edit"),
            &form("Helpfulness 2", r#"{"min": 1, "max": 7}"#),
        )
        .await;
    assert!(res.status().is_redirection(), "{}", res.status());
    // A bad schema comes back with the reason.
    let res = s
        .post_form("/admin/tasks", &form("Bad", r#"{"min": 3, "max": 1}"#))
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("min and max"));
    assert_eq!(app.count("SELECT COUNT(*) FROM tasks").await, 1);
}
