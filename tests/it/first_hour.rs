//! What tripped a new admin and a new rater in their first hour (issue 16), each kept from
//! coming back: the task page and the progress API say what blocks a task, the label set can
//! change after labeling started, the audit log says before → after, and the pages' dead ends,
//! stale messages and key handling (in real Chromium).

use quorum::domain::role::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::labeling::rater;
use crate::support::*;
use crate::webdriver::{Browser, keys};

async fn progress(admin: &Api, task: i64) -> Value {
    let res = admin.get(&format!("/api/v1/tasks/{task}/progress")).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn codes(p: &Value) -> Vec<String> {
    p["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["code"].as_str().unwrap().to_string())
        .collect()
}

async fn import(admin: &Api, task: i64, n: usize) {
    let body: String = (0..n)
        .map(|i| format!("{{\"external_id\": \"i{i}\", \"text\": \"item {i}\"}}\n"))
        .collect();
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            body,
        )
        .await;
    assert_eq!(res.status(), 200);
}

async fn label_all(api: &Api, task: i64, value: &str) {
    let shard = api.lease(task).await;
    for it in shard["items"].as_array().unwrap() {
        let res = api
            .post_json(
                &format!("/api/v1/shards/{}/labels", shard["id"]),
                &json!({"item_id": it["id"], "value": value, "submission_key": format!("{}-{}", shard["id"], it["id"])}),
            )
            .await;
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }
}

#[tokio::test]
async fn progress_says_what_blocks_a_task_and_what_items_wait_for() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "Blocked", "instructions": "# Go",
                "schema": {"kind": "single_choice", "options": [
                    {"value": "pos", "label": "Positive"}, {"value": "neg", "label": "Negative"}]},
                "overlap": 3, "max_overlap": 3, "shard_size": 10}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let task = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    // A new task: a draft, with nothing in it.
    let p = progress(&admin, task).await;
    assert_eq!(codes(&p), ["draft", "no_items", "no_raters"]);
    assert_eq!(p["raters"]["needed"], 3);
    assert_eq!(p["raters"]["on_task"], 0);

    import(&admin, task, 4).await;
    let res = admin
        .send_json(
            Method::PATCH,
            &format!("/api/v1/tasks/{task}"),
            &json!({"state": "active"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let ann = rater(&app, &admin, task, "ann").await;
    let bob = rater(&app, &admin, task, "bob").await;
    // Two raters for overlap 3: the items can never be decided, and it says so.
    let p = progress(&admin, task).await;
    assert_eq!(codes(&p), ["not_enough_raters"]);
    let msg = p["blockers"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("only 2 are") && msg.contains("Add 1 rater"),
        "{msg}"
    );
    assert_eq!(p["blockers"][0]["severity"], "blocking");
    assert_eq!(p["raters"]["on_task"], 2);
    assert_eq!(p["raters"]["acknowledged"], 2);
    label_all(&ann, task, "pos").await;
    label_all(&bob, task, "pos").await;
    let p = progress(&admin, task).await;
    assert_eq!(p["items"]["decided"], 0);
    assert_eq!(p["waiting"]["partly_labeled"], 4);
    assert_eq!(p["waiting"]["unlabeled"], 0);
    // Their target (3) is more raters than the task has (2).
    assert_eq!(p["waiting"]["short_of_raters"], 4);
    // The task page says the same in words.
    let page = app.admin().await.get(&format!("/admin/tasks/{task}")).await;
    let html = page.text().await.unwrap();
    let blockers = select_text(&html, "#blockers").unwrap();
    assert!(blockers.contains("Overlap k = 3"), "{blockers}");
    assert!(
        select_text(&html, "#rater-needs")
            .unwrap()
            .contains("2 on the task")
    );
    // A third rater unblocks it, and the items get decided.
    let cy = rater(&app, &admin, task, "cy").await;
    assert!(
        progress(&admin, task).await["blockers"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    label_all(&cy, task, "pos").await;
    let p = progress(&admin, task).await;
    assert_eq!(p["items"]["decided"], 4);
    assert_eq!(p["items"]["complete"], 4);
    assert!(codes(&p).is_empty(), "{p}");
    app.stop().await;
}

#[tokio::test]
async fn the_label_set_grows_renames_and_retires_after_labeling_started() {
    let app = TestApp::spawn().await;
    let (task, admin) = crate::labeling::task_with_items(&app, 1, 4, 10, 30).await;
    let ann = rater(&app, &admin, task, "ann").await;
    let shard = ann.lease(task).await;
    let items: Vec<Value> = shard["items"].as_array().unwrap().clone();
    let post = |item: &Value, value: &str| {
        let (ann, shard, item, value) = (
            &ann,
            shard["id"].clone(),
            item["id"].clone(),
            value.to_string(),
        );
        async move {
            ann.post_json(
                &format!("/api/v1/shards/{shard}/labels"),
                &json!({"item_id": item, "value": value, "submission_key": format!("k-{item}-{value}")}),
            )
            .await
        }
    };
    assert_eq!(post(&items[0], "neg").await.status(), 201);
    let patch = |schema: Value| {
        let admin = &admin;
        async move {
            admin
                .send_json(
                    Method::PATCH,
                    &format!("/api/v1/tasks/{task}"),
                    &json!({ "schema": schema }),
                )
                .await
        }
    };
    // Add an option and rename a label: fine.
    let grown = json!({"kind": "single_choice", "options": [
        {"value": "pos", "label": "Good", "hotkey": "1"}, {"value": "neg", "label": "Negative", "hotkey": "2"},
        {"value": "neu", "label": "Neutral"}]});
    let res = patch(grown.clone()).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(post(&items[1], "neu").await.status(), 201);
    // Removing an option that labels use is refused with the way out, and changes nothing.
    let before = app.fingerprint().await;
    let res = patch(json!({"kind": "single_choice", "options": [
        {"value": "pos", "label": "Good"}, {"value": "neu", "label": "Neutral"}]}))
    .await;
    assert_eq!(res.status(), 409);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "schema_frozen");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("retire it instead"),
        "{body}"
    );
    let res = patch(json!({"kind": "multi_choice", "options": [
        {"value": "pos", "label": "Good"}, {"value": "neg", "label": "Negative"}, {"value": "neu", "label": "Neutral"}]}))
    .await;
    assert_eq!(res.status(), 409);
    assert_eq!(app.fingerprint().await, before);
    // Retire "neg": kept on the label that has it, no longer accepted or offered.
    let res = patch(json!({"kind": "single_choice", "options": [
        {"value": "pos", "label": "Good", "hotkey": "1"}, {"value": "neg", "label": "Negative", "retired": true},
        {"value": "neu", "label": "Neutral"}]}))
    .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = post(&items[2], "neg").await;
    assert_eq!(res.status(), 400, "{}", res.text().await.unwrap());
    let body: Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("retired"),
        "{body}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM labels WHERE value_json = '\"neg\"'")
            .await,
        1
    );
    let t: Value = admin
        .get(&format!("/api/v1/tasks/{task}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(t["schema"]["options"][1]["retired"], true, "{t}");
    // The audit log says what changed, before → after, on the page too.
    let audit = app
        .admin()
        .await
        .get("/admin/audit")
        .await
        .text()
        .await
        .unwrap();
    let table = select_text(&audit, "table.audit").unwrap();
    assert!(
        table
            .contains("Positive (pos), Negative (neg) → Good (pos), Negative (neg), Neutral (neu)"),
        "{table}"
    );
    assert!(table.contains("Negative (neg, retired)"), "{table}");
    app.stop().await;
}

#[tokio::test]
async fn error_pages_and_invite_links_keep_people_on_their_way() {
    let app = TestApp::spawn().await;
    // A signed-in user's 404 keeps the navigation (and a way to sign out).
    let rita = app.user("rita", Role::Rater).await;
    let res = rita.get("/tasks/999999/label").await;
    assert_eq!(res.status(), 404);
    let html = res.text().await.unwrap();
    assert!(
        select_text(&html, "nav").unwrap().contains("Home"),
        "{html}"
    );
    assert!(html.contains("Sign out"));
    // Raters are not shown API tokens in the navigation (their account page links to them).
    assert!(!select_text(&html, "nav").unwrap().contains("API tokens"));
    let admin = app.admin().await;
    let nav = select_text(&admin.get("/").await.text().await.unwrap(), "nav").unwrap();
    assert!(nav.contains("API tokens"));
    // A mistyped invite link gets the friendly invite page, still a 404.
    let res = app.anon_get("/invite/not-a-real-token").await;
    assert_eq!(res.status(), 404);
    let html = res.text().await.unwrap();
    assert!(html.contains("This invite link can't be used"), "{html}");
    assert!(html.contains("copied whole"), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn a_new_admin_and_a_new_rater_in_the_browser() {
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    // Letter hotkeys: number keys must still work. A long instruction text, as real ones are.
    let long: String = (0..25)
        .map(|i| format!("* Rule {i}: read the whole text before answering.\n"))
        .collect();
    let res = admin
        .post_json(
            "/api/v1/tasks",
            &json!({"name": "Reviews", "instructions": format!("# Guide\n{long}"),
                "schema": {"kind": "single_choice", "options": [
                    {"value": "pos", "label": "Positive", "hotkey": "p"},
                    {"value": "neg", "label": "Negative", "hotkey": "n"}]},
                "overlap": 1, "max_overlap": 1, "shard_size": 3}),
        )
        .await;
    let task = res.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    import(&admin, task, 3).await;
    app.create_user("rita", Role::Rater).await;
    admin
        .post_json(
            &format!("/api/v1/tasks/{task}/members"),
            &json!({"username": "rita"}),
        )
        .await;

    // The admin sees why rita has nothing to do, and fixes it in one click.
    let b = Browser::new().await;
    b.login(&app, "admin", ADMIN_PASSWORD).await;
    b.goto(&app.url(&format!("/admin/tasks/{task}"))).await;
    b.wait_text("#blockers", "The task is a draft").await;
    b.wait_text("#blockers", "not acknowledged").await;
    b.resize(1280, 1100).await;
    b.screenshot("first-hour-1-blocked-task").await;
    b.resize(390, 844).await;
    b.screenshot("first-hour-1-blocked-task-phone").await;
    b.resize(1280, 1100).await;
    b.click("#activate").await;
    b.wait_text(".alert.ok", "Task state changed").await;
    let blockers = b.text("#blockers").await;
    assert!(!blockers.contains("draft"), "{blockers}");
    b.quit().await;

    // Rita labels on a phone: the first item and its answers are on the first screen.
    let r = Browser::with_size(390, 844).await;
    r.login(&app, "rita", PASSWORD).await;
    r.wait_text("body", "Start labeling").await;
    let nav = r.text("nav").await;
    assert!(!nav.contains("API tokens"), "{nav}");
    r.click(&format!("a[href='/tasks/{task}/label']")).await;
    r.wait_text("h2", "Instructions (version 1)").await;
    r.press_keys(keys::ENTER).await;
    r.wait_text("#start-button", "Start labeling").await;
    r.press_keys(keys::ENTER).await;
    r.wait_text(".item-text", "item").await;
    assert_eq!(r.prop("details.instructions", "open").await, json!(false));
    let fold = r
        .execute(
            "return document.querySelector('#submit-button').getBoundingClientRect().bottom <= window.innerHeight",
            vec![],
        )
        .await;
    assert_eq!(fold, json!(true), "the answer buttons are above the fold");
    r.screenshot("first-hour-2-label-phone").await;
    r.resize(1280, 900).await;
    // Enter without an answer: a hint, gone as soon as an answer is chosen.
    r.press_keys(keys::ENTER).await;
    r.wait_text("#status", "Choose an answer first").await;
    r.press_keys("1").await;
    r.wait_text("button.choice.selected", "Positive").await;
    assert_eq!(r.text("#status").await, "");
    r.press_keys(keys::ENTER).await;
    // Hotkey and number key both work.
    r.press_keys("n").await;
    r.wait_text("button.choice.selected", "Negative").await;
    r.press_keys("1").await;
    r.wait_text("button.choice.selected", "Positive").await;
    r.press_keys(keys::ENTER).await;
    // Back: the hint stays after the answers are saved.
    r.press_keys(keys::BACKSPACE).await;
    r.wait_text("#status", "Back to item 2").await;
    r.poll("every answer confirmed", async |b: &Browser| {
        let p = b
            .execute("return localStorage.getItem('quorum.pending.v1')", vec![])
            .await;
        Ok((p == json!("{}")).then_some(()))
    })
    .await;
    r.wait_text("#status", "Back to item 2").await;
    r.press_keys(keys::RIGHT).await;
    r.press_keys("2").await;
    r.press_keys(keys::ENTER).await;
    r.wait_text("#done-card", "Shard complete").await;
    r.press_keys(keys::ENTER).await;
    // Nothing left: a way on, not a dead end.
    r.wait_text("#done-title", "All done for now").await;
    r.wait_text("#home-link", "Your tasks").await;
    r.screenshot("first-hour-3-all-done").await;
    r.click("#home-link").await;
    r.wait_text("body", "Finished").await;
    r.screenshot("first-hour-4-home-finished").await;
    r.assert_no_console_errors().await;
    r.quit().await;

    // The audit log reads well on a phone: no sideways scrolling.
    let a = Browser::with_size(390, 844).await;
    a.login(&app, "admin", ADMIN_PASSWORD).await;
    a.goto(&app.url("/admin/audit")).await;
    a.wait_text("table.audit", "draft → active").await;
    let overflow = a
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth",
            vec![],
        )
        .await;
    assert_eq!(overflow, json!(false), "the audit log fits a phone");
    a.screenshot("first-hour-5-audit-phone").await;
    a.resize(1280, 900).await;
    a.screenshot("first-hour-5-audit").await;
    a.quit().await;
    app.stop().await;
}
