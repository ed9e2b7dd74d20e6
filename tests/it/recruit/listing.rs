//! Invites and users listed through the API a cursor page at a time.

use quorum::domain::role::Role;

use crate::support::*;

/// Walks a list of the API by cursor, `limit` rows a page; returns the rows and the page count.
async fn walk(api: &Api, path: &str, field: &str, limit: usize) -> (Vec<serde_json::Value>, usize) {
    let mut rows = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut url = format!("{path}?limit={limit}");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let res = api.get(&url).await;
        assert_eq!(res.status(), 200, "{url}");
        let body: serde_json::Value = res.json().await.unwrap();
        let page = body[field].as_array().unwrap();
        assert!(page.len() <= limit, "{body}");
        rows.extend(page.iter().cloned());
        pages += 1;
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => {
                assert!(body["next_cursor"].is_null(), "{body}");
                return (rows, pages);
            }
        }
        assert!(pages < 100, "the walk of {path} does not end");
    }
}

#[tokio::test]
async fn invites_are_listed_newest_first_a_page_at_a_time() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(app.invite(Role::Rater, 1, None).await.0);
    }
    // All made in one millisecond, except the first, made "last": the order is by time, then id.
    sqlx::query("UPDATE invites SET created_at = 1000")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE invites SET created_at = 2000 WHERE id = $1")
        .bind(made[0])
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    made.rotate_left(1);
    let all: serde_json::Value = admin.get("/api/v1/invites").await.json().await.unwrap();
    assert!(all["next_cursor"].is_null(), "{all}");
    let ids = |rows: &[serde_json::Value]| -> Vec<i64> {
        rows.iter().map(|r| r["id"].as_i64().unwrap()).collect()
    };
    let newest_first: Vec<i64> = made.iter().rev().copied().collect();
    assert_eq!(ids(all["invites"].as_array().unwrap()), newest_first);
    let (rows, pages) = walk(&admin, "/api/v1/invites", "invites", 2).await;
    assert_eq!(ids(&rows), newest_first, "pages neither skip nor repeat");
    assert_eq!(pages, 3);
    // A page that ends exactly at the end still says there is no next page after the last.
    let (rows, _) = walk(&admin, "/api/v1/invites", "invites", 5).await;
    assert_eq!(rows.len(), 5);
    for bad in ["/api/v1/invites?cursor=nonsense", "/api/v1/invites?limit=0"] {
        let res = admin.get(bad).await;
        assert_eq!(res.status(), 400, "{bad}");
        let err: serde_json::Value = res.json().await.unwrap();
        assert!(
            err["error"]["code"]
                .as_str()
                .unwrap()
                .starts_with("invalid_"),
            "{err}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn users_are_listed_by_name_a_page_at_a_time() {
    let app = TestApp::spawn().await;
    let admin = app.bearer(&app.token("admin").await);
    // Made out of name order, so the id order and the name order differ.
    for name in ["zoe", "bob", "mia", "ann", "kim"] {
        app.create_user(name, Role::Rater).await;
    }
    let (rows, pages) = walk(&admin, "/api/v1/users", "users", 2).await;
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "ann", "bob", "kim", "mia", "zoe"]);
    assert_eq!(pages, 3);
    let first = &rows[0];
    for field in ["id", "role", "active", "can_login", "created_at"] {
        assert!(!first[field].is_null(), "{field} in {first}");
    }
    app.stop().await;
}
