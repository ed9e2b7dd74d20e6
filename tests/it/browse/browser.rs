//! An admin finds an item in the data browser, opens it and marks it gold, in headless Chromium;
//! the table and the item page fit a phone's width (a wide table scrolls inside its card).

use serde_json::{Value, json};

use super::labeled;
use crate::support::*;
use crate::webdriver::Browser;

async fn fits_the_width(b: &Browser, what: &str) {
    let overflow = b
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth",
            vec![],
        )
        .await;
    assert_eq!(overflow, json!(false), "{what} needs no sideways scrolling");
}

#[tokio::test]
async fn admin_filters_opens_an_item_and_marks_it_gold() {
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    let app = TestApp::spawn().await;
    let (task, admin, _, _) = labeled(&app, 12).await;
    let long = format!(
        "{{\"external_id\": \"long-one\", \"text\": \"A long review that goes on {} https://example.com/{}\", \"lang\": \"en\"}}\n",
        "and on ".repeat(40),
        "x".repeat(120)
    );
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            long,
        )
        .await;
    assert_eq!(res.status(), 200);

    let b = Browser::new().await;
    b.login(&app, "admin", ADMIN_PASSWORD).await;
    b.goto(&app.url(&format!("/admin/tasks/{task}"))).await;
    b.click(&format!("a[href='/admin/tasks/{task}/items']"))
        .await;
    b.wait_text("h1", "items").await;
    b.wait_text("#browse-table", "Decided by raters").await;
    b.screenshot("browse-1-table").await;

    // Filter: text and state, by the form (the URL keeps them).
    b.type_into("input[name=q]", "number 11").await;
    b.execute(
        "document.querySelector('select[name=state]').value = 'complete'",
        vec![],
    )
    .await;
    b.click("#browse-filters button[type=submit]").await;
    let url = b
        .wait_url("the filtered table", |u| u.contains("q=number+11"))
        .await;
    assert!(url.contains("state=complete"), "{url}");
    b.wait_text("#browse-table", "item number 11").await;
    assert_eq!(b.find_all("#browse-table tbody tr").await.len(), 1);

    // Open it and mark it gold with the answer "Negative".
    b.click("#browse-table tbody a").await;
    b.wait_text("h1", "e11").await;
    b.wait_text("#labels", "Positive").await;
    b.execute(
        "document.querySelector('#gold-value').value = 'neg'",
        vec![],
    )
    .await;
    b.click("#mark-gold").await;
    b.wait_text(".alert.ok", "Marked as gold").await;
    b.wait_text("#gold-badge", "gold").await;
    b.wait_text("#gold-answer", "Negative").await;
    b.wait_text("#history", "marked gold").await;
    b.resize(1280, 1300).await;
    b.screenshot("browse-2-item").await;

    // The table shows the badge, and a phone reads both pages without sideways scrolling.
    b.goto(&app.url(&format!("/admin/tasks/{task}/items?gold=yes")))
        .await;
    b.wait_text("#browse-table", "gold").await;
    b.wait_text("#browse-table", "e11").await;
    b.goto(&app.url(&format!("/admin/tasks/{task}/items")))
        .await;
    b.wait_text("#browse-table", "long-one").await;
    b.resize(390, 844).await;
    fits_the_width(&b, "the table on a phone").await;
    b.screenshot("browse-3-table-phone").await;
    b.execute(
        "document.querySelector('#browse-table').scrollIntoView()",
        vec![],
    )
    .await;
    b.screenshot("browse-3b-table-rows-phone").await;
    let long_id: i64 = sqlx::query_scalar("SELECT id FROM items WHERE external_id = 'long-one'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    b.goto(&app.url(&format!("/admin/items/{long_id}"))).await;
    b.wait_text("h1", "long-one").await;
    fits_the_width(&b, "the item page on a phone").await;
    b.screenshot("browse-4-item-phone").await;
    b.assert_no_console_errors().await;
    b.quit().await;

    let it: Value = admin
        .get("/api/v1/tasks/1/items?gold=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(it["items"][0]["external_id"], "e11");
    assert_eq!(it["items"][0]["gold"], "neg");
    app.stop().await;
}
