//! Security headers on every kind of response, and API errors as JSON with `nosniff`.

use quorum::domain::role::Role;

use crate::support::*;

#[tokio::test]
async fn security_headers_on_every_kind_of_response() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", Role::Rater).await;
    let admin = app.admin().await;
    let anon = app.client();

    let res = anon.get(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    assert_security_headers(&res, "200 login page");

    for path in [
        "/",
        "/account",
        "/tokens",
        "/admin/users",
        "/admin/invites",
        "/admin/audit",
    ] {
        let res = admin.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_security_headers(&res, path);
        assert_eq!(
            res.headers()["cache-control"],
            "no-store",
            "authenticated page {path}"
        );
    }
    let res = admin
        .client
        .get(admin.url("/api/v1/me"))
        .send()
        .await
        .unwrap();
    assert_security_headers(&res, "API 200");
    assert_eq!(res.headers()["cache-control"], "no-store");

    let res = anon.get(app.url("/does-not-exist")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    assert_security_headers(&res, "404");

    let res = anon.put(app.url("/login")).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_security_headers(&res, "405");

    // Just over the 2 MiB body limit.
    let body = format!(
        "username=admin&password={}",
        "p".repeat(2 * 1024 * 1024 + 1024)
    );
    let res = anon
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    assert_security_headers(&res, "413");

    let res = anon.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_security_headers(&res, "401");

    let res = anon.get(app.url("/admin/users")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_security_headers(&res, "303 to login");

    let res = rita.get("/admin/users").await;
    assert_eq!(res.status(), 403);
    assert_security_headers(&res, "403");
    assert_eq!(res.headers()["cache-control"], "no-store");

    let res = anon
        .post(app.url("/logout"))
        .header("origin", "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_security_headers(&res, "403 cross-site");

    let res = anon.get(app.url("/static/app.css")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_security_headers(&res, "static file");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    // The database lives in the data directory, out of reach of the static route.
    assert!(crate::backend::on_postgres() || app.dir.path().join("data/quorum.db").exists());
    for path in [
        "/static/..%2Fquorum.db",
        "/static/..%2F..%2Fdata%2Fquorum.db",
        "/static/%2e%2e/quorum.db",
        "/quorum.db",
        "/data/quorum.db",
    ] {
        let res = app.anon_get(path).await;
        assert_eq!(res.status(), 404, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn api_errors_are_json_with_nosniff() {
    let app = TestApp::spawn().await;
    app.create_user("rita", Role::Rater).await;
    let rater = app.bearer(&app.token("rita").await);
    let admin = app.bearer(&app.token("admin").await);
    let anon = app.client();
    let checks: Vec<(u16, &str, reqwest::Response)> = vec![
        (
            401,
            "unauthorized",
            anon.get(app.url("/api/v1/me")).send().await.unwrap(),
        ),
        (
            401,
            "unauthorized",
            anon.get(app.url("/api/v1/me"))
                .header("authorization", "Basic YWRtaW46YWRtaW4=")
                .send()
                .await
                .unwrap(),
        ),
        (403, "forbidden", rater.get("/api/v1/users").await),
        (404, "not_found", admin.get("/api/v1/no-such-thing").await),
        (
            404,
            "not_found",
            admin
                .send_json(
                    reqwest::Method::DELETE,
                    "/api/v1/invites/999999",
                    &serde_json::json!({}),
                )
                .await,
        ),
        (
            404,
            "not_found",
            admin
                .send_json(
                    reqwest::Method::DELETE,
                    "/api/v1/invites/abc",
                    &serde_json::json!({}),
                )
                .await,
        ),
        (
            405,
            "method_not_allowed",
            admin
                .send_json(reqwest::Method::PUT, "/api/v1/me", &serde_json::json!({}))
                .await,
        ),
        (
            400,
            "invalid_json",
            admin
                .post_body("/api/v1/invites", "application/json", "{not json")
                .await,
        ),
        (
            400,
            "invalid_json",
            admin
                .post_json(
                    "/api/v1/invites",
                    &serde_json::json!({"role": "rater", "is_admin": true}),
                )
                .await,
        ),
        (
            400,
            "invalid_json",
            admin
                .post_json("/api/v1/invites", &serde_json::json!({"role": "root"}))
                .await,
        ),
        (
            400,
            "invalid_max_uses",
            admin
                .post_json(
                    "/api/v1/invites",
                    &serde_json::json!({"role": "rater", "max_uses": 0}),
                )
                .await,
        ),
        // ASVS 13.1.5: a body in a content type the route does not take is a 415.
        (
            415,
            "unsupported_media_type",
            admin.post_body("/api/v1/invites", "text/plain", "{}").await,
        ),
    ];
    for (status, code, res) in checks {
        let what = format!("{} {}", res.status(), res.url().path());
        let got = res.status().as_u16();
        assert!(got == status, "{what}: expected {status}");
        assert_eq!(res.headers()["content-type"], "application/json", "{what}");
        assert_security_headers(&res, &what);
        let body: serde_json::Value = res
            .json()
            .await
            .unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
        let err = body["error"]
            .as_object()
            .unwrap_or_else(|| panic!("{what}: {body}"));
        assert_eq!(err["code"], code, "{what}: {body}");
        assert!(
            err["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
        assert!(
            !body.to_string().contains("/work/") && !body.to_string().contains("sqlx"),
            "{what} leaks internals: {body}"
        );
    }
    // Mass assignment: the unknown field is named.
    let res = admin
        .post_json(
            "/api/v1/invites",
            &serde_json::json!({"role": "rater", "is_admin": true}),
        )
        .await;
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("is_admin"),
        "{body}"
    );
    // HEAD of an API error: the status and headers without a body.
    let res = anon.head(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.bytes().await.unwrap().is_empty());
    app.stop().await;
}
