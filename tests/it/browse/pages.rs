//! The data browser's pages over HTTP: the table's filters and labels, the item page escaping
//! the data, form actions that need the session's CSRF token, and 404 for raters.

use quorum::domain::role::Role;
use serde_json::json;

use super::{item, labeled};
use crate::support::*;

#[tokio::test]
async fn the_table_filters_and_shows_option_labels() {
    let app = TestApp::spawn().await;
    let (task, admin, _, ids) = labeled(&app, 12).await;
    let res = admin
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/v1/items/{}/gold", ids[3]),
            &json!({"value": "neg"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let web = app.admin().await;

    let html = web
        .get(&format!("/admin/tasks/{task}/items"))
        .await
        .text()
        .await
        .unwrap();
    let table = select_text(&html, "#browse-table").unwrap();
    assert!(
        table.contains("Positive") && table.contains("Negative"),
        "{table}"
    );
    assert!(
        !table.contains("pos"),
        "option labels, not raw values: {table}"
    );
    assert!(table.contains("Decided by raters"), "{table}");
    assert!(table.contains("2/2"), "{table}");

    let html = web
        .get(&format!("/admin/tasks/{task}/items?gold=yes"))
        .await
        .text()
        .await
        .unwrap();
    let table = select_text(&html, "#browse-table").unwrap();
    assert!(table.contains("e3") && table.contains("gold"), "{table}");
    assert!(!table.contains("e4"), "{table}");

    let html = web
        .get(&format!(
            "/admin/tasks/{task}/items?q=number+11&state=complete&labeled_by=Ann"
        ))
        .await
        .text()
        .await
        .unwrap();
    let table = select_text(&html, "#browse-table").unwrap();
    assert!(table.contains("item number 11"), "{table}");
    assert!(!table.contains("item number 10"), "{table}");

    // A bad state is a clear 400, not a panic.
    let res = web
        .get(&format!("/admin/tasks/{task}/items?state=nope"))
        .await;
    assert_eq!(res.status(), 400);
    app.stop().await;
}

#[tokio::test]
async fn the_item_page_escapes_data_and_its_forms_need_the_csrf_token() {
    let app = TestApp::spawn().await;
    let (task, admin, _, _) = labeled(&app, 1).await;
    let res = admin
        .post_body(
            &format!("/api/v1/tasks/{task}/items"),
            "application/x-ndjson",
            "{\"external_id\": \"x<b>\", \"text\": \"<script>alert(1)</script>\", \"image_url\": \"https://example.invalid/a.png?\\\" onerror=\\\"alert(2)\"}\n",
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let id: i64 = sqlx::query_scalar("SELECT id FROM items WHERE external_id = 'x<b>'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let web = app.admin().await;
    let html = web
        .get(&format!("/admin/items/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("<script>alert(1)"), "escaped");
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{html}"
    );
    assert!(!html.contains("\" onerror=\"alert(2)"), "{html}");
    assert!(html.contains("<img class=\"browse-image\""), "{html}");

    // Without the token: refused, nothing changes.
    let res = web
        .client
        .post(web.url(&format!("/admin/items/{id}/gold")))
        .header("origin", &web.base)
        .header("sec-fetch-site", "same-origin")
        .form(&[("value", "pos")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(item(&admin, id).await["gold"].is_null());

    // With it: done, and back to the item page with a notice.
    let res = web
        .post_form(&format!("/admin/items/{id}/gold"), &[("value", "pos")])
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), format!("/admin/items/{id}?notice=gold"));
    assert_eq!(item(&admin, id).await["gold"], "pos");
    let html = web.get(&location(&res)).await.text().await.unwrap();
    assert!(select_text(&html, "#gold-badge").is_some());
    assert_eq!(select_text(&html, "#gold-answer").unwrap(), "Positive");

    // No answer chosen: a clear 400 and no change.
    let res = web
        .post_form(&format!("/admin/items/{id}/gold"), &[("value", "")])
        .await;
    assert_eq!(res.status(), 400);

    for (path, fields) in [
        (format!("/admin/items/{id}/gold/remove"), vec![]),
        (format!("/admin/items/{id}/adjudication"), vec![]),
        (
            format!("/admin/items/{id}/exclusion"),
            vec![("excluded", "yes")],
        ),
    ] {
        let res = web.post_form(&path, &fields).await;
        assert_eq!(res.status(), 303, "{path}");
    }
    let it = item(&admin, id).await;
    assert!(it["gold"].is_null());
    assert_eq!(it["state"], "adjudication");
    assert_eq!(it["excluded"], true);
    app.stop().await;
}

#[tokio::test]
async fn raters_get_404_on_the_pages_and_forms() {
    let app = TestApp::spawn().await;
    let (task, admin, _, ids) = labeled(&app, 2).await;
    let id = ids[0];
    let web = app.login("ann", PASSWORD).await;
    for path in [
        format!("/admin/tasks/{task}/items"),
        format!("/admin/items/{id}"),
    ] {
        assert_eq!(web.get(&path).await.status(), 404, "{path}");
    }
    for (path, fields) in [
        (format!("/admin/items/{id}/gold"), vec![("value", "neg")]),
        (format!("/admin/items/{id}/gold/remove"), vec![]),
        (format!("/admin/items/{id}/adjudication"), vec![]),
        (
            format!("/admin/items/{id}/exclusion"),
            vec![("excluded", "yes")],
        ),
    ] {
        assert_eq!(web.post_form(&path, &fields).await.status(), 404, "{path}");
    }
    let it = item(&admin, id).await;
    assert_eq!(it["state"], "complete");
    assert!(it["gold"].is_null());
    // A reviewer may browse.
    app.create_user("rev", Role::Reviewer).await;
    let rev = app.login("rev", PASSWORD).await;
    assert_eq!(rev.get(&format!("/admin/items/{id}")).await.status(), 200);
    app.stop().await;
}
