//! The servers under test: with `--spawn`, start `quorum serve` on a fresh data directory, make
//! an admin token with the CLI, stop it at the end (or on Ctrl-C / SIGTERM); with
//! `--spawn-instances N --database URL`, N of them on one database, each with its own data
//! directory (the first applies the migrations and makes the admin before the others start);
//! otherwise the servers given by `--url` and `--token`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::AsyncBufReadExt;

use crate::args::Args;
use crate::procfs::{cpu_sum, pg_backends_cpu, pg_cpu_since, pg_user_and_db};

/// The spawned servers' pids, so an interrupted run stops them too.
static SERVER_PIDS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// One server process of the deployment under test.
pub(crate) struct Instance {
    pub(crate) base: String,
    /// With --spawn: the process.
    pub(crate) child: Option<tokio::process::Child>,
    pub(crate) pid: Option<u32>,
}

pub(crate) struct Server {
    /// Every instance; the admin's calls (task, import, resolve, exports) go to the first.
    pub(crate) instances: Vec<Instance>,
    pub(crate) admin_token: String,
    /// With --spawn: the binary and the first instance's data directory.
    pub(crate) binary: Option<PathBuf>,
    pub(crate) data_dir: Option<PathBuf>,
    /// `--database`: the servers' database URL (spawned), or where the checks read (--url).
    pub(crate) database: Option<String>,
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

/// The servers `--url` names (not started here).
pub(crate) fn given_servers(args: &Args) -> Server {
    Server {
        instances: args
            .url
            .iter()
            .map(|u| Instance {
                base: u.trim_end_matches('/').to_string(),
                child: None,
                pid: None,
            })
            .collect(),
        admin_token: args.token.clone().unwrap_or_default(),
        binary: None,
        data_dir: None,
        database: args.database.clone(),
        temp: None,
    }
}

/// A command of the quorum binary on the deployment's store: `--data-dir`, and the database URL
/// through the environment (never on the command line, where `ps` shows it).
pub(crate) fn quorum_cmd(
    binary: &Path,
    data_dir: &Path,
    database: Option<&str>,
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(binary);
    cmd.env_remove("QUORUM_DATABASE_URL");
    if let Some(db) = database {
        cmd.env("QUORUM_DATABASE_URL", db);
    }
    cmd.arg("--data-dir").arg(data_dir);
    cmd
}

/// Starts one `quorum serve` and waits for its address.
async fn start_instance(
    binary: &Path,
    data_dir: &Path,
    database: Option<&str>,
    log_path: &Path,
    password: &str,
) -> Result<Instance, String> {
    let log = std::fs::File::create(log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let mut child = quorum_cmd(binary, data_dir, database)
        .args(["serve", "--bind", "127.0.0.1:0", "--print-addr"])
        .env("QUORUM_ADMIN_PASSWORD", password)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let pid = child.id();
    if let (Some(p), Ok(mut pids)) = (pid, SERVER_PIDS.lock()) {
        pids.push(p);
    }
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
    Ok(Instance {
        base: format!("http://{addr}"),
        child: Some(child),
        pid,
    })
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
    let database = args.database.as_deref();
    let password = format!("bench-{}", random_hex(16)?);
    // The first instance applies the migrations and makes the admin; the others start after it.
    let data_dir = root.join("data");
    let first = start_instance(
        &binary,
        &data_dir,
        database,
        &root.join("server.log"),
        &password,
    )
    .await?;
    let mut server = Server {
        instances: vec![first],
        admin_token: String::new(),
        binary: Some(binary.clone()),
        data_dir: Some(data_dir.clone()),
        database: args.database.clone(),
        temp,
    };
    let out = quorum_cmd(&binary, &data_dir, database)
        .args(["token", "create", "--username", "admin", "--name", "bench"])
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("quorum token create: {e}"))?;
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || token.is_empty() {
        server.stop().await;
        return Err(format!(
            "quorum token create failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    server.admin_token = token;
    for i in 1..args.instances() {
        let started = start_instance(
            &binary,
            &root.join(format!("data-{i}")),
            database,
            &root.join(format!("server-{i}.log")),
            &password,
        )
        .await;
        match started {
            Ok(inst) => server.instances.push(inst),
            Err(e) => {
                server.stop().await;
                return Err(format!("instance {}: {e}", i + 1));
            }
        }
    }
    Ok(server)
}

impl Server {
    /// Where the invariant checks read: `--database`, else the SQLite file of the spawned server
    /// (`<data>/quorum.db`) or of `--db`, opened read-only.
    pub(crate) fn checks_url(&self, args: &Args) -> Option<String> {
        if let Some(db) = &self.database {
            return Some(db.clone());
        }
        self.sqlite_file(args)
            .map(|f| format!("sqlite://{}?mode=ro", f.display()))
    }

    /// The SQLite file, when the store is one.
    pub(crate) fn sqlite_file(&self, args: &Args) -> Option<PathBuf> {
        match &self.database {
            Some(db) => db
                .strip_prefix("sqlite://")
                .or_else(|| db.strip_prefix("sqlite:"))
                .map(|f| PathBuf::from(f.split('?').next().unwrap_or(f))),
            None => match &self.data_dir {
                Some(d) => Some(d.join("quorum.db")),
                None => args.db.clone(),
            },
        }
    }

    /// The base URLs of every instance, the admin's first.
    pub(crate) fn bases(&self) -> Vec<String> {
        self.instances.iter().map(|i| i.base.clone()).collect()
    }

    /// The pids of the spawned instances (none for --url).
    pub(crate) fn pids(&self) -> Vec<u32> {
        self.instances.iter().filter_map(|i| i.pid).collect()
    }

    /// CPU seconds of every spawned instance together.
    pub(crate) fn cpu_s(&self) -> f64 {
        cpu_sum(&self.pids())
    }

    /// On PostgreSQL (spawned only: its backends run on this machine), the CPU seconds of the
    /// backends serving the run's database by pid, to take differences of with [`Self::db_cpu_since`].
    pub(crate) fn db_cpu(&self) -> Option<HashMap<u32, f64>> {
        self.binary.as_ref()?;
        let (user, db) = pg_user_and_db(self.database.as_deref()?)?;
        Some(pg_backends_cpu(&user, &db))
    }

    pub(crate) fn db_cpu_since(&self, before: &Option<HashMap<u32, f64>>) -> Option<f64> {
        let before = before.as_ref()?;
        let (user, db) = pg_user_and_db(self.database.as_deref()?)?;
        Some(pg_cpu_since(&user, &db, before))
    }

    /// SIGTERM to every instance, then a bounded wait for each, then SIGKILL.
    pub(crate) async fn stop(&mut self) {
        for inst in &self.instances {
            if let (Some(pid), Some(_)) = (inst.pid, &inst.child) {
                let _ = tokio::process::Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status()
                    .await;
            }
        }
        for inst in &mut self.instances {
            let Some(mut child) = inst.child.take() else {
                continue;
            };
            if tokio::time::timeout(Duration::from_secs(40), child.wait())
                .await
                .is_err()
            {
                eprintln!(
                    "quorum-bench: the server {} did not stop within 40 s; killing it",
                    inst.base
                );
                let _ = child.kill().await;
            }
        }
    }
}

/// When a spawned server has exited: which and why, for the error message.
pub(crate) fn server_gone(server: &mut Server) -> Option<String> {
    for (i, inst) in server.instances.iter_mut().enumerate() {
        let Some(child) = inst.child.as_mut() else {
            continue;
        };
        if let Ok(Some(status)) = child.try_wait() {
            return Some(format!(
                ": server instance {} exited during the run ({status}); see its log (server.log, server-N.log) in the kept directory",
                i + 1
            ));
        }
    }
    None
}

/// On Ctrl-C or SIGTERM: stop the spawned servers, then exit.
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
    let pids = SERVER_PIDS.lock().map(|p| p.clone()).unwrap_or_default();
    for pid in pids {
        let _ = tokio::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
    }
    eprintln!("quorum-bench: interrupted; the servers were told to stop");
    std::process::exit(130);
}
