//! The webhooks page in headless Chromium: desktop and phone screenshots (to /tmp/quorum-shots).

use std::time::Duration;

use serde_json::json;

use super::{import, log, receiver, registered, task};
use crate::support::*;
use crate::webdriver::Browser;

/// Desktop and phone screenshots of the webhooks page (a new secret shown once, the delivery log
/// with a delivered and a pending delivery waiting for its retry); nothing scrolls sideways on
/// the phone.
#[tokio::test]
async fn the_webhooks_page_in_a_browser() {
    let (base, _r) = receiver().await;
    let app = TestApp::spawn_with(|c| {
        c.webhooks.allow = vec!["127.0.0.1/32".parse().unwrap()];
        c.webhooks.backoff = Duration::from_secs(3600);
        c.webhooks.poll = Duration::from_millis(20);
    })
    .await;
    let admin = app.bearer(&app.token("admin").await);
    let t = task(&admin, "Sentiment v2").await;
    registered(
        &admin,
        t,
        &format!("{base}/ok"),
        &["import.finished", "task.completed"],
    )
    .await;
    registered(&admin, t, &format!("{base}/fail"), &["import.finished"]).await;
    import(&admin, t).await;
    for _ in 0..1000 {
        let l = log(&admin, t).await;
        if l.len() == 2 && l.iter().all(|d| d["attempts"] == 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let b = Browser::new().await;
    b.login(&app, "admin", ADMIN_PASSWORD).await;
    b.goto(&app.url(&format!("/admin/tasks/{t}"))).await;
    b.click("#webhooks-card a").await;
    b.wait_text("h1", "Webhooks").await;
    b.type_into("#webhook-form input[name=url]", &format!("{base}/pipeline"))
        .await;
    b.click("#webhook-form button[type=submit]").await;
    let secret = b.wait_text("#webhook-secret", "whsec_").await;
    assert!(secret.trim().len() > 40);
    b.wait_text("#webhooks", "/pipeline").await;
    let log_text = b.text("#delivery-log").await;
    assert!(
        log_text.contains("delivered") && log_text.contains("pending"),
        "{log_text}"
    );
    assert!(log_text.contains("answered 503"), "{log_text}");
    b.screenshot("webhooks-secret").await;
    b.execute(
        "document.getElementById('deliveries').scrollIntoView()",
        vec![],
    )
    .await;
    b.screenshot("webhooks-log").await;
    b.resize(390, 844).await;
    b.execute("window.scrollTo(0, 0)", vec![]).await;
    b.screenshot("webhooks-phone").await;
    b.execute(
        "document.getElementById('deliveries').scrollIntoView()",
        vec![],
    )
    .await;
    b.screenshot("webhooks-log-phone").await;
    let overflow = b
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth",
            vec![],
        )
        .await;
    assert_eq!(overflow, json!(false), "the webhooks page fits a phone");
    b.assert_no_console_errors().await;
    b.quit().await;
    app.stop().await;
}
