//! Error pages and forms escape whatever input they reflect, including raw request targets.

use std::time::Duration;

use quorum::domain::role::Role;

use crate::support::*;

/// No payload comes back unescaped: no extra `<script>` element, no event-handler attribute.
fn assert_no_injection(html: &str, what: &str) {
    for needle in [
        "<script>alert",
        "<img src=x",
        "<svg onload",
        "onerror=alert(1)>",
    ] {
        assert!(
            !html.contains(needle),
            "{what}: the page holds {needle:?} unescaped:\n{html}"
        );
    }
    let doc = scraper::Html::parse_document(html);
    let scripts: Vec<_> = doc
        .select(&scraper::Selector::parse("script").unwrap())
        .map(|s| s.value().attr("src").unwrap_or("inline").to_string())
        .collect();
    assert_eq!(
        scripts,
        vec!["/static/app.js".to_string()],
        "{what}: only our own script"
    );
    for el in doc.select(&scraper::Selector::parse("*").unwrap()) {
        for (name, _) in el.value().attrs() {
            assert!(
                !name.starts_with("on"),
                "{what}: an event-handler attribute {name} on <{}>",
                el.value().name()
            );
        }
    }
}

#[tokio::test]
async fn error_pages_and_forms_escape_reflected_input() {
    let app = TestApp::spawn().await;
    let payload = r#""><script>alert(1)</script><img src=x onerror=alert(1)>"#;
    let anon = app.client();
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };

    // Query strings and paths on pages that exist and pages that do not.
    for path in [
        format!("/does-not-exist?{}", enc(payload)),
        format!("/does-not-exist/{}", enc(payload)),
        format!("/login?next={}", enc(&format!("/{payload}"))),
        format!("/login?next={}&username={}", enc(payload), enc(payload)),
        format!("/password/{}", enc(payload)),
        format!("/invite/{}", enc(payload)),
        format!("/static/{}", enc(payload)),
    ] {
        let res = anon.get(app.url(&path)).send().await.unwrap();
        let status = res.status();
        assert!(status.as_u16() < 500, "{path}: {status}");
        assert_security_headers(&res, &path);
        let body = res.text().await.unwrap();
        assert_no_injection(&body, &path);
    }
    // The same payloads sent raw, unencoded on the request line.
    for target in [
        "/does-not-exist?<script>alert(1)</script>",
        "/login?next=/\"><script>alert(1)</script>",
        "/admin/audit?before=<script>alert(1)</script>",
    ] {
        let raw = raw_get(app.addr, target).await;
        let body = raw.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        assert!(!raw.starts_with("HTTP/1.1 5"), "{target}: {raw}");
        if !body.is_empty() {
            assert_no_injection(body, target);
        }
    }
    // Reflected form fields: the login form keeps the username, the invite form too.
    let res = anon
        .post(app.url("/login"))
        .form(&[
            ("username", payload),
            ("password", "whatever you like"),
            ("next", payload),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_no_injection(&res.text().await.unwrap(), "login form");
    let (_, link) = app.invite(Role::Rater, 1, None).await;
    let res = app
        .sign_up(&anon, &link, payload, "a fine passphrase")
        .await;
    assert_eq!(res.status(), 400);
    assert_no_injection(&res.text().await.unwrap(), "invite form");
    // A signed-in page with a bad query parameter.
    let admin = app.admin().await;
    let res = admin
        .get(&format!("/admin/audit?before={}", enc(payload)))
        .await;
    assert_eq!(res.status(), 400);
    assert_no_injection(&res.text().await.unwrap(), "audit with a bad parameter");
    // Stored input: a note on an invite is shown escaped on the invites page.
    let res = admin
        .post_form(
            "/admin/invites",
            &[
                ("role", "rater"),
                ("max_uses", "1"),
                ("expires_in_hours", ""),
                ("note", payload),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let page = admin.get("/admin/invites").await.text().await.unwrap();
    assert!(
        page.contains("&lt;script&gt;") || page.contains("&#60;script&#62;"),
        "the note is shown, escaped"
    );
    assert_no_injection(&page, "invites page with a hostile note");
    let page = admin.get("/admin/audit").await.text().await.unwrap();
    assert_no_injection(&page, "audit page");
    app.stop().await;
}

/// A GET sent byte for byte as given (reqwest would percent-encode the target).
async fn raw_get(addr: std::net::SocketAddr, target: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out))
        .await
        .expect("the server answers")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}
