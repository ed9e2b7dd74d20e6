//! Methods beyond the matrix: unused methods get 405, method-override headers have no effect, HEAD
//! on an admin page is refused to a rater, and GET and HEAD requests change nothing.

use std::collections::{BTreeMap, BTreeSet};

use quorum::app::route_list;

use super::{Cred, fill, send, world};
use crate::support::*;

#[tokio::test]
async fn unused_methods_get_405() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let admin = app.session_for("admin").await;
    let mut by_path: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for r in route_list() {
        by_path.entry(r.path).or_default().insert(r.method);
    }
    let mut problems = Vec::new();
    for (path, methods) in &by_path {
        let filled = fill(path, &w, false);
        for m in [
            "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE",
        ] {
            let registered = methods.contains(m) || (m == "HEAD" && methods.contains("GET"));
            if registered {
                continue;
            }
            for (who, res) in [
                ("anonymous", send(&app, m, &filled, Cred::Anonymous).await),
                ("admin", send(&app, m, &filled, Cred::Session(&admin)).await),
            ] {
                if res.status() != 405 {
                    problems.push(format!(
                        "{m} {filled} as {who}: {} instead of 405",
                        res.status()
                    ));
                    continue;
                }
                let allow = res
                    .headers()
                    .get("allow")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                for registered in methods {
                    if !allow.contains(registered) {
                        problems.push(format!(
                            "{m} {filled} as {who}: the Allow header {allow:?} lacks {registered}"
                        ));
                    }
                }
                assert_security_headers(&res, &format!("405 for {m} {filled}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    app.stop().await;
}

#[tokio::test]
async fn method_override_headers_have_no_effect() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let api = app.bearer(&w.tokens["admin"]);
    let admin = app.session_for("admin").await;
    let before = app.fingerprint().await;
    let path = format!("/api/v1/invites/{}", w.invite_id);
    for header in [
        "x-http-method-override",
        "x-http-method",
        "x-method-override",
    ] {
        // POST is not a method of this route; the header must not turn it into the DELETE that is.
        let res = api
            .client
            .post(api.url(&path))
            .header(header, "DELETE")
            .json(&serde_json::json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{header}: DELETE");
        let res = admin
            .client
            .post(admin.url(&path))
            .header(header, "DELETE")
            .header("x-csrf-token", &admin.csrf)
            .header("origin", &admin.base)
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405, "{header}: DELETE with the session");
        // A GET stays a read.
        let res = api
            .client
            .get(api.url("/api/v1/invites"))
            .header(header, "DELETE")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{header}: GET");
    }
    // Nor does a `_method` form field or query parameter.
    let res = api
        .client
        .post(api.url(&format!("{path}?_method=DELETE")))
        .form(&[("_method", "DELETE")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(app.fingerprint().await, before, "the invite is still open");
    assert_eq!(
        app.anon_get(&format!("/invite/{}", w.invite_token))
            .await
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn head_on_an_admin_page_as_a_rater_is_403() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let rater = app.session_for(&w.users["rater"]).await;
    for path in ["/admin/users", "/admin/invites", "/admin/audit"] {
        let res = rater.client.head(rater.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 403, "HEAD {path}");
        assert_security_headers(&res, &format!("HEAD {path}"));
        assert!(res.bytes().await.unwrap().is_empty());
        let res = rater.client.get(rater.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 403, "GET {path}");
        let body = res.text().await.unwrap();
        assert!(!body.contains("victor"), "a refused page shows no data");
    }
    let res = app
        .bearer(&w.tokens["rater"])
        .client
        .head(app.url("/api/v1/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let admin = app.session_for("admin").await;
    assert_eq!(
        admin
            .client
            .head(admin.url("/admin/users"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let res = app
        .client()
        .head(app.url("/admin/users"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(location(&res).starts_with("/login?next="));
    app.stop().await;
}

#[tokio::test]
async fn get_and_head_requests_change_nothing() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let sessions = [
        app.session_for("rita").await,
        app.session_for("rex").await,
        app.session_for("admin").await,
    ];
    // Use every token once, so recording their first use is not counted below.
    for t in w.tokens.values() {
        app.bearer(t).get("/api/v1/me").await;
    }
    let before = app.fingerprint().await;
    let reads: Vec<String> = route_list()
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| fill(r.path, &w, true))
        .collect();
    for path in &reads {
        for method in ["GET", "HEAD"] {
            let res = send(&app, method, path, Cred::Anonymous).await;
            assert!(
                res.status().as_u16() < 500,
                "{method} {path} anonymous: {}",
                res.status()
            );
            for s in &sessions {
                let res = send(&app, method, path, Cred::Session(s)).await;
                assert!(
                    res.status().as_u16() < 500,
                    "{method} {path}: {}",
                    res.status()
                );
            }
            for t in w.tokens.values() {
                send(&app, method, path, Cred::Bearer(t)).await;
            }
        }
        assert_eq!(
            app.fingerprint().await,
            before,
            "GET {path} changed the store"
        );
    }
    // Opening an invite or a password link does not use it up.
    assert_eq!(
        app.anon_get(&format!("/invite/{}", w.invite_token))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.anon_get(&format!("/password/{}", w.password_token))
            .await
            .status(),
        200
    );
    app.stop().await;
}
