//! The server under test: with `--spawn`, start `quorum serve` on a fresh data directory, make an
//! admin token with the CLI, stop it at the end (or on Ctrl-C / SIGTERM); otherwise a server given
//! by `--url` and `--token`.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::io::AsyncBufReadExt;

use crate::args::Args;

/// The spawned server's pid, so an interrupted run stops it too.
static SERVER_PID: AtomicU32 = AtomicU32::new(0);

pub(crate) struct Server {
    pub(crate) base: String,
    pub(crate) admin_token: String,
    /// With --spawn: the process, its binary and data directory.
    pub(crate) child: Option<tokio::process::Child>,
    pub(crate) pid: Option<u32>,
    pub(crate) binary: Option<PathBuf>,
    pub(crate) data_dir: Option<PathBuf>,
    /// A temporary directory to remove at the end.
    pub(crate) temp: Option<PathBuf>,
}

pub(crate) fn random_hex(bytes: usize) -> Result<String, String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| format!("no randomness: {e}"))?;
    Ok(hex::encode(buf))
}

fn default_server_binary() -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let dir = me.parent().ok_or("this program has no directory")?;
    Ok(dir.join("quorum"))
}

pub(crate) async fn spawn_server(args: &Args) -> Result<Server, String> {
    let binary = match &args.server {
        Some(p) => p.clone(),
        None => default_server_binary()?,
    };
    if !binary.is_file() {
        return Err(format!(
            "the server binary {} does not exist (build it, or pass --server PATH)",
            binary.display()
        ));
    }
    let (root, temp) = match &args.data_dir {
        Some(d) => {
            if d.exists() {
                return Err(format!(
                    "--data-dir {} exists already; give a new directory",
                    d.display()
                ));
            }
            (d.clone(), None)
        }
        None => {
            let d = std::env::temp_dir().join(format!(
                "quorum-bench-{}-{}",
                std::process::id(),
                random_hex(4)?
            ));
            (d.clone(), Some(d))
        }
    };
    std::fs::create_dir_all(&root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
    let data_dir = root.join("data");
    let log_path = root.join("server.log");
    let log = std::fs::File::create(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let password = format!("bench-{}", random_hex(16)?);
    let mut child = tokio::process::Command::new(&binary)
        .arg("serve")
        .args(["--bind", "127.0.0.1:0", "--print-addr", "--data-dir"])
        .arg(&data_dir)
        .env("QUORUM_ADMIN_PASSWORD", &password)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let pid = child.id();
    SERVER_PID.store(pid.unwrap_or(0), Ordering::Relaxed);
    let stdout = child.stdout.take().ok_or("no stdout from the server")?;
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let addr = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            match lines.next_line().await {
                Ok(Some(line)) => {
                    if let Some(a) = line.strip_prefix("LISTENING ") {
                        return Ok(a.trim().to_string());
                    }
                }
                Ok(None) => return Err("the server exited before it listened".to_string()),
                Err(e) => return Err(format!("reading the server's output: {e}")),
            }
        }
    })
    .await
    .map_err(|_| "the server did not print LISTENING within 120 s".to_string())
    .and_then(|r| r)
    .map_err(|e| format!("{e} (see {})", log_path.display()))?;
    // Keep draining its stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let out = tokio::process::Command::new(&binary)
        .args([
            "token",
            "create",
            "--username",
            "admin",
            "--name",
            "bench",
            "--data-dir",
        ])
        .arg(&data_dir)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("quorum token create: {e}"))?;
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || token.is_empty() {
        return Err(format!(
            "quorum token create failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(Server {
        base: format!("http://{addr}"),
        admin_token: token,
        child: Some(child),
        pid,
        binary: Some(binary),
        data_dir: Some(data_dir),
        temp,
    })
}

impl Server {
    pub(crate) fn db_path(&self, args: &Args) -> Option<PathBuf> {
        match &self.data_dir {
            Some(d) => Some(d.join("quorum.db")),
            None => args.db.clone(),
        }
    }

    /// SIGTERM, then a bounded wait, then SIGKILL.
    pub(crate) async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = self.pid {
            let _ = tokio::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        if tokio::time::timeout(Duration::from_secs(40), child.wait())
            .await
            .is_err()
        {
            eprintln!("quorum-bench: the server did not stop within 40 s; killing it");
            let _ = child.kill().await;
        }
    }
}

/// When the spawned server has exited: why, for the error message.
pub(crate) fn server_gone(server: &mut Server) -> Option<String> {
    let child = server.child.as_mut()?;
    match child.try_wait() {
        Ok(Some(status)) => Some(format!(
            ": the server exited during the run ({status}); see server.log in the kept directory"
        )),
        _ => None,
    }
}

/// On Ctrl-C or SIGTERM: stop the spawned server, then exit.
pub(crate) async fn stop_on_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminated => {}
    }
    let pid = SERVER_PID.load(Ordering::Relaxed);
    if pid != 0 {
        let _ = tokio::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
    }
    eprintln!("quorum-bench: interrupted; the server was told to stop");
    std::process::exit(130);
}
