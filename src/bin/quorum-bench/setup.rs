//! Setting up a run's raters: each one created through the admin API (or, for servers without
//! `POST /api/v1/users`, the CLI), given a token, added to the task, and past its instructions
//! (the rater's own calls on its first instance, `idx % N`, so a token made on one instance is used
//! on another).

use std::process::Stdio;

use serde_json::json;

use crate::api::{Api, expect};
use crate::rater::Rater;
use crate::server::{Server, quorum_cmd, random_hex};

pub(crate) async fn create_rater(
    api: &Api,
    admin: &str,
    server: &Server,
    cli_users: bool,
    task: i64,
    idx: u32,
) -> Result<Rater, String> {
    let username = format!("bench-rater-{idx}");
    let token = if cli_users {
        cli_rater(server, &username).await?
    } else {
        expect(
            api.post_json(
                admin,
                "/api/v1/users",
                &json!({"username": username, "role": "rater"}),
            )
            .await?,
            &[201],
            "create rater",
        )?;
        let t = expect(
            api.post_json(
                admin,
                "/api/v1/tokens",
                &json!({"username": username, "name": "bench"}),
            )
            .await?,
            &[201],
            "create token",
        )?;
        t["token"]
            .as_str()
            .ok_or("no token in the answer")?
            .to_string()
    };
    expect(
        api.post_json(
            admin,
            &format!("/api/v1/tasks/{task}/members"),
            &json!({"username": username}),
        )
        .await?,
        &[200, 201],
        "add member",
    )?;
    let home = idx as usize;
    let me = expect(api.get_at(home, &token, "/api/v1/me").await?, &[200], "me")?;
    let user_id = me["id"].as_i64().ok_or("no id from /api/v1/me")?;
    let ins = expect(
        api.get_at(home, &token, &format!("/api/v1/tasks/{task}/instructions"))
            .await?,
        &[200],
        "read instructions",
    )?;
    expect(
        api.post_json_at(
            home,
            &token,
            &format!("/api/v1/tasks/{task}/instructions/ack"),
            &json!({"version": ins["version"]}),
        )
        .await?,
        &[200],
        "acknowledge instructions",
    )?;
    Ok(Rater {
        idx,
        user_id,
        token,
    })
}

/// For servers without `POST /api/v1/users`: the CLI, password on stdin, as an operator would.
async fn cli_rater(server: &Server, username: &str) -> Result<String, String> {
    let (Some(bin), Some(dir)) = (&server.binary, &server.data_dir) else {
        return Err(
            "this server has no POST /api/v1/users; create raters with the CLI and --spawn".into(),
        );
    };
    let db = server.database.as_deref();
    let mut child = quorum_cmd(bin, dir, db)
        .args(["user", "create", "--role", "rater", "--username", username])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("quorum user create: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        use tokio::io::AsyncWriteExt;
        let pw = format!("bench-{}", random_hex(12)?);
        stdin
            .write_all(pw.as_bytes())
            .await
            .map_err(|e| format!("quorum user create: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| format!("quorum user create: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "quorum user create: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let out = quorum_cmd(bin, dir, db)
        .args(["token", "create", "--name", "bench", "--username", username])
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("quorum token create: {e}"))?;
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || token.is_empty() {
        return Err(format!(
            "quorum token create: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(token)
}
