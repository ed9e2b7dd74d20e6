//! Browser tests in headless Chromium (see `webdriver.rs` for the harness). Screenshots land in
//! `/tmp/quorum-shots/`.

use crate::support::*;
use crate::webdriver::{Browser, keys};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_invites_a_rater_who_signs_up_and_lands_on_their_home_page() {
    if !crate::parts::have(crate::parts::Part::Chromium, "the browser tests") {
        return;
    }
    let app = TestApp::spawn().await;

    // The admin signs in through the real login page.
    let admin = Browser::new().await;
    admin.goto(&app.url("/")).await;
    let url = admin
        .wait_url("the redirect to the login page", |u| u.contains("/login"))
        .await;
    assert_eq!(url, app.url("/login?next=%2F"));
    assert_eq!(admin.title().await, "Sign in · Quorum");
    admin.screenshot("1-login").await;
    admin.type_into("input[name=username]", "admin").await;
    admin
        .type_into("input[name=password]", ADMIN_PASSWORD)
        .await;
    // Keyboard first: Enter submits the form.
    admin.press_keys(keys::ENTER).await;
    admin
        .wait_url("the admin's home page", |u| u == app.url("/"))
        .await;
    admin.wait_text("h1", "Hello, admin").await;
    admin.assert_no_console_errors().await;

    // Creates an invite on the invites page and reads the link from it.
    admin.click("a[href='/admin/invites']").await;
    admin
        .wait_url("the invites page", |u| u.ends_with("/admin/invites"))
        .await;
    assert_eq!(admin.prop("select[name=role]", "value").await, "rater");
    admin
        .type_into("input[name=note]", "for Nora, spring cohort")
        .await;
    admin
        .click("form[action='/admin/invites'] button[type=submit]")
        .await;
    let link = admin
        .wait_text("#invite-url", "/invite/")
        .await
        .trim()
        .to_string();
    assert!(link.starts_with(&app.url("/invite/")), "{link}");
    let rows = admin.find_all("table.table tbody tr").await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0].text().await.contains("for Nora, spring cohort"));
    admin.screenshot("2-invites-with-link").await;
    admin.assert_no_console_errors().await;

    // The API reference is one click away for admins, readable on a phone too.
    admin.click("a[href='/admin/api']").await;
    admin.wait_text("h1", "API reference").await;
    admin.wait_text("body", "/api/v1/tasks/{id}/items").await;
    admin.screenshot("2b-api-reference").await;
    admin.resize(390, 844).await;
    let overflow = admin
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth",
            vec![],
        )
        .await;
    assert_eq!(
        overflow,
        serde_json::json!(false),
        "the reference fits a phone"
    );
    admin.screenshot("2c-api-reference-phone").await;
    admin.resize(1280, 900).await;
    admin.assert_no_console_errors().await;

    // The new rater opens the link in a browser of their own and signs up.
    let nora = Browser::new().await;
    nora.goto(&link).await;
    assert_eq!(nora.text("h1").await, "Join Quorum");
    assert!(nora.text("main").await.contains("invited as a rater"));
    nora.type_into("input[name=username]", "nora").await;
    nora.type_into("input[name=password]", "nora's own passphrase")
        .await;
    nora.type_into("input[name=confirm]", "nora's own passphrase")
        .await;
    nora.screenshot("3-invite-sign-up").await;
    nora.click("button[type=submit]").await;
    nora.wait_url("nora's home page", |u| u == app.url("/"))
        .await;
    assert_eq!(nora.text("h1").await, "Hello, nora");
    assert_eq!(nora.text(".who .user").await, "nora");
    assert_eq!(nora.text(".who .badge").await, "rater");
    assert!(
        nora.try_find("a[href='/admin/users']").await.is_none(),
        "a rater sees no admin links"
    );
    nora.screenshot("4-rater-home").await;
    nora.assert_no_console_errors().await;
    let role: String = sqlx::query_scalar("SELECT role FROM users WHERE username = 'nora'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(role, "rater");

    // The same home page on a phone.
    nora.resize(390, 844).await;
    let width = nora
        .execute("return document.documentElement.scrollWidth", vec![])
        .await;
    assert!(
        width.as_i64().is_some_and(|w| w <= 390),
        "no sideways scrolling on a phone: {width}"
    );
    nora.screenshot("5-rater-home-phone").await;

    // The admin sees the invite used up, on a laptop and on a phone.
    admin.goto(&app.url("/admin/invites")).await;
    assert!(admin.text("table.table tbody tr").await.contains("used up"));
    admin
        .execute("window.scrollTo(0, document.body.scrollHeight)", vec![])
        .await;
    admin.screenshot("6-invites-table").await;
    admin.resize(390, 844).await;
    let width = admin
        .execute("return document.documentElement.scrollWidth", vec![])
        .await;
    assert!(
        width.as_i64().is_some_and(|w| w <= 390),
        "no sideways scrolling on a phone: {width}"
    );
    admin.execute("window.scrollTo(0, 0)", vec![]).await;
    admin.screenshot("7-invites-phone").await;
    admin.assert_no_console_errors().await;
    nora.quit().await;
    admin.quit().await;
    app.stop().await;
}
