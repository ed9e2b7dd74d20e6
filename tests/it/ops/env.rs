//! Every `serve` flag has an environment variable, and a plain `quorum` reads them exactly like
//! `quorum serve`.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

/// Starts the binary with `args` and `env`, returns its address and a handle to stop it.
fn start(
    args: &[&str],
    env: &[(&str, &str)],
    data: &std::path::Path,
) -> (std::process::Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quorum"));
    crate::backend::command_env(&mut cmd, data);
    cmd.args(args)
        .env("QUORUM_DATA_DIR", data)
        .env("QUORUM_ADMIN_PASSWORD", "admin-password-for-env")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the quorum binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("LISTENING ")
        .unwrap_or_else(|| panic!("expected a LISTENING line, got {line:?}"))
        .to_string();
    (child, addr)
}

/// Stops the server and returns its stderr. Its stderr is read as it comes, and the server is
/// stopped only once the banner that follows `LISTENING` is there (bounded): a signal sent before
/// the server installs its handler would end it before it prints anything.
fn stop(mut child: std::process::Child) -> String {
    let mut stderr = child.stderr.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = seen.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    for _ in 0..300 {
        if seen.lock().unwrap().contains("Quorum is running at") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let mut exited = false;
    for _ in 0..300 {
        if child.try_wait().ok().flatten().is_some() {
            exited = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if !exited {
        let _ = child.kill();
    }
    let _ = child.wait();
    let _ = reader.join();
    seen.lock().unwrap().clone()
}

async fn hsts(addr: &str) -> bool {
    let res = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.headers().contains_key("strict-transport-security")
}

#[tokio::test]
async fn plain_quorum_honours_the_environment_like_serve() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("QUORUM_BIND", "127.0.0.1:0"),
        ("QUORUM_PRINT_ADDR", "true"),
        ("QUORUM_BASE_URL", "https://label.example.com"),
        ("QUORUM_IDLE_TIMEOUT", "20s"),
        ("QUORUM_TRUSTED_PROXY", "127.0.0.1,10.0.0.0/8"),
    ];
    for args in [&[][..], &["serve"][..]] {
        let (child, addr) = start(args, &env, &dir.path().join("data"));
        // An https base URL makes cookies Secure and turns HSTS on.
        assert!(hsts(&addr).await, "{args:?}: HSTS from QUORUM_BASE_URL");
        let err = stop(child);
        assert!(
            err.contains("https://label.example.com"),
            "{args:?}: the base URL from the environment is announced: {err}"
        );
    }
    // Without the environment, no HSTS: the test above is not vacuous.
    let (child, addr) = start(
        &["serve", "--bind", "127.0.0.1:0", "--print-addr"],
        &[],
        &dir.path().join("data"),
    );
    assert!(!hsts(&addr).await);
    stop(child);
}

#[tokio::test]
async fn a_bad_environment_value_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_quorum"))
        .env("QUORUM_DATA_DIR", dir.path())
        .env("QUORUM_BIND", "127.0.0.1:0")
        .env("QUORUM_TRUSTED_PROXY", "proxy.local")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("proxy.local") && err.contains("CIDR"), "{err}");
}

#[tokio::test]
async fn secure_cookies_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("QUORUM_BIND", "127.0.0.1:0"),
        ("QUORUM_PRINT_ADDR", "1"),
        ("QUORUM_SECURE_COOKIES", "true"),
    ];
    let (child, addr) = start(&["serve"], &env, &dir.path().join("data"));
    assert!(hsts(&addr).await, "QUORUM_SECURE_COOKIES turns HSTS on");
    stop(child);
}
