//! A task's item layout (`GET/PUT /api/v1/tasks/{id}/layout`, the form on the task page): bad
//! layouts refused naming the field with nothing stored, hidden fields absent from everything a
//! rater is sent but present in exports, and the labeling page in Chromium drawing texts under
//! their headings and the side table, with no trace of the hidden field.

use serde_json::{Value, json};

use crate::export::{download, export};
use crate::kinds::{kind_task, send};
use crate::labeling::rater;
use crate::support::*;
use crate::webdriver::{Browser, keys};

const SECRET: &str = "gold-answer-pos-7f3a";

fn choice() -> Value {
    json!({"kind": "single_choice", "options": [
        {"value": "pos", "label": "Positive"}, {"value": "neg", "label": "Negative"}]})
}

fn items() -> String {
    [
        json!({"external_id": "n1", "title": "Refund arrived", "body": "Thanks, the refund came in two days.",
            "channel": "email", "note": SECRET}),
        json!({"external_id": "n2", "title": "Still waiting", "body": "Nobody answered my ticket.",
            "channel": "chat", "note": SECRET}),
    ]
    .iter()
    .map(|v| format!("{v}\n"))
    .collect()
}

fn layout() -> Value {
    json!({"fields": [
        {"field": "title", "as": "text", "label": "Headline"},
        {"field": "body", "as": "text", "label": "Message"},
        {"field": "channel", "as": "side", "label": "Channel"},
        {"field": "note", "as": "hidden"}]})
}

/// An active single-choice task with `layout` set before its items are imported (a layout
/// names the fields an item must show, instead of `text`).
async fn layout_task(app: &TestApp, layout: &Value) -> (i64, Api) {
    let admin = app.bearer(&app.token("admin").await);
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "Layout", "instructions": "Read it.", "schema": choice(),
                "overlap": 1, "max_overlap": 1, "shard_size": 10, "lease_minutes": 30,
                "state": "active"}),
        )
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let task = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let res = put(&admin, task, layout).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            items(),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    (task, admin)
}

async fn stored(admin: &Api, task: i64) -> Value {
    let res = admin.get(&format!("/api/v1/tasks/{task}/layout")).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn put(admin: &Api, task: i64, body: &Value) -> reqwest::Response {
    admin
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/tasks/{task}/layout"),
            body,
        )
        .await
}

#[tokio::test]
async fn bad_layouts_are_refused_naming_the_field_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let schema = json!({"kind": "spans", "field": "body",
        "labels": [{"value": "PER", "label": "Person"}]});
    let (task, admin) = kind_task(&app, schema, 1, 1, &items()).await;
    let got = stored(&admin, task).await;
    assert_eq!(got, json!({"fields": []}), "unset: the default layout");
    let good = json!({"fields": [{"field": "title", "as": "text", "label": "Headline"},
        {"field": "body", "as": "text", "label": "Message"}]});
    let res = put(&admin, task, &good).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let audits = app
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'task.layout'")
        .await;
    assert_eq!(audits, 1, "the change is audited");
    for (bad, named) in [
        (
            json!({"fields": [{"field": "title", "as": "bold"}]}),
            "fields[0] (\"title\"): unknown \"as\" \"bold\"",
        ),
        (
            json!({"fields": [{"field": "title", "as": "text"}, {"field": "title", "as": "side"}]}),
            "fields[1] (\"title\"): named twice",
        ),
        (
            json!({"fields": [{"field": "a", "as": "image"}, {"field": "b", "as": "image"}]}),
            "fields[1] (\"b\"): a second image",
        ),
        (
            json!({"fields": [{"field": "body", "as": "hidden"}]}),
            "fields[0] (\"body\"): is the spans text",
        ),
        (
            json!({"fields": [{"field": "body", "as": "image"}]}),
            "fields[0] (\"body\"): is the spans text",
        ),
        (json!({"fields": [{"as": "text"}]}), "fields[0].field"),
    ] {
        let res = put(&admin, task, &bad).await;
        assert_eq!(res.status(), 400, "{bad}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_layout", "{bad}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(named), "{bad}: {message}");
    }
    let after = stored(&admin, task).await;
    assert_eq!(after, good, "the stored layout is unchanged");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'task.layout'")
            .await,
        1,
        "no refused layout was audited"
    );
    // Raters may not read or change it.
    let rita = rater(&app, &admin, task, "rita").await;
    let res = rita.get(&format!("/api/v1/tasks/{task}/layout")).await;
    assert_eq!(res.status(), 404);
    assert_eq!(put(&rita, task, &json!({"fields": []})).await.status(), 404);
}

#[tokio::test]
async fn hidden_fields_never_reach_raters_but_stay_in_exports() {
    let app = TestApp::spawn().await;
    let (task, admin) = layout_task(&app, &layout()).await;
    let rita = rater(&app, &admin, task, "rita").await;
    let shard = rita.lease(task).await;
    let text = shard.to_string();
    assert!(!text.contains(SECRET), "lease answer: {text}");
    assert!(
        !text.contains("\"note\""),
        "not even the hidden field's name: {text}"
    );
    assert_eq!(shard["items"][0]["data"]["channel"], json!("email"));
    assert_eq!(
        shard["layout"]["fields"].as_array().unwrap().len(),
        3,
        "the layout raters get leaves out the hidden entry"
    );
    let id = shard["id"].as_i64().unwrap();
    let full = rita
        .get(&format!("/api/v1/shards/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        full.contains("Refund arrived") && !full.contains(SECRET),
        "{full}"
    );
    for (n, value) in ["pos", "neg"].iter().enumerate() {
        let item = shard["items"][n]["id"].as_i64().unwrap();
        let res = send(&rita, id, item, &json!(value), &format!("k{n}")).await;
        assert_eq!(res.status(), 201);
    }
    // The reviewer's page shows what raters saw; the admin's item page shows everything.
    let admin_session = app.admin().await;
    let item = shard["items"][0]["id"].as_i64().unwrap();
    let page = admin_session
        .get(&format!("/review/items/{item}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Refund arrived") && !page.contains(SECRET));
    let page = admin_session
        .get(&format!("/admin/items/{item}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(SECRET) && page.contains("hidden from raters"));
    assert_eq!(
        select_text(&page, ".item-block .item-heading").as_deref(),
        Some("Headline")
    );
    let e = export(&admin, task, json!({"format": "jsonl"})).await;
    let jsonl = String::from_utf8(download(&admin, &e["id"]).await).unwrap();
    let rows: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(
            r["data"]["note"],
            json!(SECRET),
            "exports keep hidden fields"
        );
    }
}

#[tokio::test]
async fn the_task_page_form_saves_the_layout() {
    let app = TestApp::spawn().await;
    let first = json!({"fields": [{"field": "title", "as": "text"}]});
    let (task, admin) = layout_task(&app, &first).await;
    let session = app.admin().await;
    let page = session
        .get(&format!("/admin/tasks/{task}"))
        .await
        .text()
        .await
        .unwrap();
    // The item schema inferred at import names the fields.
    for f in ["title", "body", "channel", "note"] {
        assert!(
            page.contains(&format!(
                "<input type=\"hidden\" name=\"field\" value=\"{f}\">"
            )),
            "{f} offered"
        );
    }
    let rows = [
        ("title", "text", "Headline"),
        ("body", "", ""),
        ("note", "hidden", ""),
        ("", "side", "ignored: no field"),
    ];
    let mut fields = Vec::new();
    for (f, s, l) in rows {
        fields.extend([("field", f), ("as", s), ("label", l)]);
    }
    let res = session
        .post_form(&format!("/admin/tasks/{task}/layout"), &fields)
        .await;
    assert_eq!(res.status(), 303);
    assert!(location(&res).ends_with("notice=layout_saved#layout"));
    let got = stored(&admin, task).await;
    assert_eq!(
        got,
        json!({"fields": [{"field": "title", "as": "text", "label": "Headline"},
            {"field": "note", "as": "hidden"}]})
    );
    let res = session
        .post_form(
            &format!("/admin/tasks/{task}/layout"),
            &[
                ("field", "a"),
                ("as", "image"),
                ("label", ""),
                ("field", "b"),
                ("as", "image"),
                ("label", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("a second image"));
}

#[tokio::test]
async fn the_labeling_page_follows_the_layout_and_never_holds_a_hidden_value() {
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    let app = TestApp::spawn().await;
    let (task, admin) = layout_task(&app, &layout()).await;
    rater(&app, &admin, task, "rita").await;

    let b = Browser::new().await;
    b.login(&app, "admin", ADMIN_PASSWORD).await;
    b.goto(&app.url(&format!("/admin/tasks/{task}#layout")))
        .await;
    b.wait_text("#layout", "How items are shown").await;
    let to_card = "document.getElementById('layout').scrollIntoView()";
    b.execute(to_card, vec![]).await;
    b.screenshot("layout-task-page").await;
    b.resize(390, 844).await;
    b.execute(to_card, vec![]).await;
    b.screenshot("layout-task-page-phone").await;
    let overflow = b
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth",
            vec![],
        )
        .await;
    assert_eq!(overflow, json!(false), "the task page fits a phone");
    b.quit().await;

    let b = Browser::new().await;
    b.login(&app, "rita", PASSWORD).await;
    b.goto(&app.url(&format!("/tasks/{task}/label"))).await;
    b.wait_text("#start-button", "Start labeling").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text("#item-view", "Refund arrived").await;
    let headings = b
        .execute(
            "return Array.from(document.querySelectorAll('#item-view .item-block')).map(function (e) { return [e.querySelector('.item-heading').textContent, e.querySelector('.item-text').textContent]; })",
            vec![],
        )
        .await;
    assert_eq!(
        headings,
        json!([
            ["Headline", "Refund arrived"],
            ["Message", "Thanks, the refund came in two days."]
        ]),
        "both texts under their headings, in the layout's order"
    );
    assert_eq!(b.text("#item-view .item-fields th").await, "Channel");
    assert_eq!(b.text("#item-view .item-fields td").await, "email");
    let html = b
        .execute("return document.documentElement.outerHTML", vec![])
        .await;
    let html = html.as_str().unwrap();
    assert!(
        !html.contains(SECRET),
        "the hidden value is nowhere in the page"
    );
    crate::kinds::browser_shots(&b, "layout-label").await;
    b.press_keys("1").await;
    b.press_keys(keys::ENTER).await;
    b.wait_text("#item-view", "Still waiting").await;
    let html = b
        .execute("return document.documentElement.outerHTML", vec![])
        .await;
    assert!(!html.as_str().unwrap().contains(SECRET));
    b.assert_no_console_errors().await;
    b.quit().await;
}
