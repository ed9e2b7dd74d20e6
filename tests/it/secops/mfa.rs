//! Admin MFA over HTTP: enrolment with a code computed here from the secret the page shows, the
//! second sign-in step, single-use recovery codes, throttling of wrong codes, "require MFA for
//! all admins", turning it off, and the audit log.

use quorum::domain::role::Role;
use quorum::domain::totp;

use crate::support::*;

/// RFC 4648 base32 (no padding), as the page shows the secret.
fn base32_decode(s: &str) -> Vec<u8> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut buffer, mut bits, mut out) = (0u32, 0u32, Vec::new());
    for c in s.trim().bytes() {
        let v = alphabet.iter().position(|a| *a == c).expect("base32") as u32;
        buffer = (buffer << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// The value attribute of the first element matching `selector`.
fn attr(html: &str, selector: &str, name: &str) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse(selector).unwrap();
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr(name))
        .map(str::to_string)
}

/// A code the server accepts now and that was not used before (the next step's: one step of
/// drift is allowed, and enrolment used the current one).
fn next_code(secret: &[u8], app: &TestApp) -> String {
    totp::code_at(secret, totp::step_at(app.clock.now_ms()) + 1)
}

/// Enrols `session`'s user; returns the secret and the recovery codes.
async fn enrol(session: &Session, app: &TestApp) -> (Vec<u8>, Vec<String>) {
    let res = session.post_form("/account/mfa/start", &[]).await;
    assert_eq!(res.status(), 303);
    let html = session.get("/account/mfa").await.text().await.unwrap();
    let secret_b32 = select_text(&html, "#totp-secret").expect("the secret is shown");
    let uri = attr(&html, "#otpauth-uri", "href").expect("the otpauth URI is shown");
    assert!(uri.starts_with("otpauth://totp/Quorum:"), "{uri}");
    assert!(uri.contains(&format!("secret={secret_b32}")));
    let secret = base32_decode(&secret_b32);
    assert_eq!(secret.len(), 20);
    // A wrong code changes nothing.
    let res = session
        .post_form("/account/mfa/confirm", &[("code", "000000x")])
        .await;
    assert_eq!(res.status(), 400);
    let code = totp::code_at(&secret, totp::step_at(app.clock.now_ms()));
    let res = session
        .post_form("/account/mfa/confirm", &[("code", &code)])
        .await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    let codes: Vec<String> = select_text(&html, "#recovery-codes")
        .expect("recovery codes are shown once")
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    assert_eq!(codes.len(), 10, "{codes:?}");
    (secret, codes)
}

/// Posts the password; returns the challenge of the second step (panics if none was asked).
async fn password_step(client: &reqwest::Client, app: &TestApp, user: &str, pw: &str) -> String {
    let res = client
        .post(app.url("/login"))
        .form(&[("username", user), ("password", pw), ("next", "/review")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the password step asks for a code");
    assert!(res.headers().get("set-cookie").is_none(), "no session yet");
    let html = res.text().await.unwrap();
    attr(&html, "input[name=challenge]", "value").expect("a challenge")
}

async fn code_step(
    client: &reqwest::Client,
    app: &TestApp,
    challenge: &str,
    code: &str,
) -> reqwest::Response {
    client
        .post(app.url("/login/mfa"))
        .form(&[
            ("challenge", challenge),
            ("code", code),
            ("next", "/review"),
        ])
        .send()
        .await
        .unwrap()
}

async fn signed_in_as(client: &reqwest::Client, app: &TestApp) -> Option<String> {
    let res = client.get(app.url("/api/v1/me")).send().await.unwrap();
    if res.status() != 200 {
        return None;
    }
    let me: serde_json::Value = res.json().await.unwrap();
    me["username"].as_str().map(str::to_string)
}

async fn audit_actions(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar("SELECT action FROM audit_log ORDER BY id")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn totp_login_recovery_codes_and_turning_off() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (secret, recovery) = enrol(&admin, &app).await;
    assert!(audit_actions(&app).await.contains(&"mfa.enrol".to_string()));
    // Stored: the secret, and the recovery codes only hashed.
    let stored: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM recovery_codes")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 10);
    assert!(
        stored
            .iter()
            .all(|h| !recovery.iter().any(|c| h.contains(c.as_str())))
    );

    // The password alone no longer signs in.
    let client = app.client();
    let challenge = password_step(&client, &app, "admin", ADMIN_PASSWORD).await;
    assert_eq!(signed_in_as(&client, &app).await, None);
    let res = code_step(&client, &app, &challenge, "123456").await;
    assert_eq!(res.status(), 401);
    assert_eq!(signed_in_as(&client, &app).await, None);
    let res = code_step(&client, &app, &challenge, &next_code(&secret, &app)).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/review");
    assert_eq!(signed_in_as(&client, &app).await.as_deref(), Some("admin"));
    // The challenge is spent.
    let again = app.client();
    let res = code_step(&again, &app, &challenge, &next_code(&secret, &app)).await;
    assert_eq!(location(&res), "/login");
    assert_eq!(signed_in_as(&again, &app).await, None);

    // A recovery code works once (typed in upper case, as people do).
    let client = app.client();
    let challenge = password_step(&client, &app, "admin", ADMIN_PASSWORD).await;
    let res = code_step(&client, &app, &challenge, &recovery[3].to_uppercase()).await;
    assert_eq!(res.status(), 303);
    assert_eq!(signed_in_as(&client, &app).await.as_deref(), Some("admin"));
    assert!(
        audit_actions(&app)
            .await
            .contains(&"mfa.recovery_used".to_string())
    );
    let client = app.client();
    let challenge = password_step(&client, &app, "admin", ADMIN_PASSWORD).await;
    let res = code_step(&client, &app, &challenge, &recovery[3]).await;
    assert_eq!(res.status(), 401, "a recovery code is good once");
    let html = admin.get("/account/mfa").await.text().await.unwrap();
    assert_eq!(select_text(&html, "#codes-left").as_deref(), Some("9"));

    // Turning it off takes the password.
    let res = admin
        .post_form("/account/mfa/disable", &[("password", "wrong-password-xx")])
        .await;
    assert_eq!(res.status(), 400);
    let res = admin
        .post_form("/account/mfa/disable", &[("password", ADMIN_PASSWORD)])
        .await;
    assert_eq!(res.status(), 303);
    assert!(
        audit_actions(&app)
            .await
            .contains(&"mfa.disable".to_string())
    );
    app.login("admin", ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn wrong_codes_are_throttled_like_passwords() {
    let app = TestApp::spawn().await;
    let rita = app.user("rita", Role::Rater).await;
    let (secret, _) = enrol(&rita, &app).await;
    let client = app.client();
    let challenge = password_step(&client, &app, "rita", PASSWORD).await;
    let mut statuses = Vec::new();
    for i in 0..quorum::auth::throttle::ACCOUNT_LIMIT {
        let res = code_step(&client, &app, &challenge, &format!("{:06}", i)).await;
        statuses.push(res.status().as_u16());
    }
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    // Over the limit: even the right code waits.
    let res = code_step(&client, &app, &challenge, &next_code(&secret, &app)).await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
    assert_eq!(signed_in_as(&client, &app).await, None);
}

#[tokio::test]
async fn admins_without_mfa_are_sent_to_enrolment_when_required() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.create_user("ada", Role::Admin).await;
    app.create_user("rita", Role::Rater).await;
    // Not required yet: a plain sign-in.
    app.login("ada", PASSWORD).await;
    let res = admin
        .post_form("/admin/settings/mfa", &[("require", "on")])
        .await;
    assert_eq!(res.status(), 303);
    assert!(
        audit_actions(&app)
            .await
            .contains(&"settings.change".to_string())
    );
    let res = app
        .client()
        .post(app.url("/login"))
        .form(&[("username", "ada"), ("password", PASSWORD), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account/mfa?required=1");
    // Raters are not concerned.
    app.login("rita", PASSWORD).await;
    // A rater cannot change the setting.
    let rita = app.login("rita", PASSWORD).await;
    let res = rita.post_form("/admin/settings/mfa", &[]).await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn the_operator_resets_a_lost_second_factor_from_the_command_line() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    enrol(&admin, &app).await;
    // Authenticator and recovery codes lost: the password alone no longer signs in.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    password_step(&client, &app, "admin", ADMIN_PASSWORD).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_quorum"))
        .args(["user", "mfa-reset", "--username", "admin", "--data-dir"])
        .arg(app.dir.path().join("data"))
        .env(
            "QUORUM_DATABASE_URL",
            crate::backend::database_for_blocking(&app.dir.path().join("data")),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("turned off for admin"));
    // The password alone signs in again, and the reset is in the audit log.
    let res = client
        .post(app.url("/login"))
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303, "signed in without a code");
    assert!(audit_actions(&app).await.contains(&"mfa.reset".to_string()));
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    // An unknown name is a clear error.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_quorum"))
        .args(["user", "mfa-reset", "--username", "nobody", "--data-dir"])
        .arg(app.dir.path().join("data"))
        .env(
            "QUORUM_DATABASE_URL",
            crate::backend::database_for_blocking(&app.dir.path().join("data")),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user named nobody"));
    app.stop().await;
}
