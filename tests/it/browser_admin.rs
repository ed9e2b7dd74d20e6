//! An admin creates a task through the form and uploads items with the page's upload widget.

use crate::support::*;
use crate::webdriver::Browser;

#[tokio::test]
async fn admin_creates_a_task_and_uploads_items_in_the_browser() {
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    let app = TestApp::spawn().await;
    let file = app.dir.path().join("tweets.jsonl");
    let mut body = String::new();
    for i in 0..250 {
        body.push_str(&format!(
            "{{\"external_id\": \"t{i}\", \"text\": \"tweet number {i}\", \"lang\": \"en\"}}\n"
        ));
    }
    std::fs::write(&file, body).unwrap();
    let bad = app.dir.path().join("broken.jsonl");
    std::fs::write(&bad, "{\"text\": \"fine\"}\n{\"text\": 42}\n").unwrap();

    let b = Browser::new().await;
    b.login(&app, "admin", ADMIN_PASSWORD).await;
    b.goto(&app.url("/admin/tasks/new")).await;
    b.type_into("input[name=name]", "Tweet sentiment").await;
    b.type_into(
        "textarea[name=instructions]",
        "# Guide\nPick the sentiment.",
    )
    .await;
    // The state is a visible choice with what each one means.
    b.wait_text("#state-choice", "raters cannot see it yet")
        .await;
    b.click("input[name=state][value=active]").await;
    b.click("form button[type=submit].primary").await;
    b.wait_url("the new task's page", |u| {
        u.contains("/admin/tasks/") && !u.ends_with("/new")
    })
    .await;
    b.wait_text("h1", "Tweet sentiment").await;

    // A broken file: nothing imported, the line is named.
    b.type_into("#upload-file", &bad.to_string_lossy()).await;
    b.click("#upload button[type=submit]").await;
    b.wait_text("#upload-status", "line 2").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM items").await, 0);
    // The browser logs the refused upload's 400; that one is expected.
    let logged = b.console_errors().await;
    assert!(logged.iter().all(|e| e.contains("400")), "{logged:?}");
    // A good one: the page reports it and reloads with the counts; the report is still there
    // after the reload, however late this test looks.
    b.type_into("#upload-file", &file.to_string_lossy()).await;
    b.click("#upload button[type=submit]").await;
    b.wait_text("#upload-status", "Imported 250 items from tweets.jsonl")
        .await;
    b.wait_text(".stats", "250").await;
    b.wait_text("body", "tweets.jsonl").await;
    b.resize(1280, 1400).await;
    b.screenshot("admin-task-page").await;
    b.assert_no_console_errors().await;
    b.quit().await;
    assert_eq!(app.count("SELECT COUNT(*) FROM items").await, 250);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM imports WHERE status = 'failed'")
            .await,
        1
    );
    app.stop().await;
}
