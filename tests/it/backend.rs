//! Which database the suite runs on, and the PostgreSQL half of `cargo test`.
//!
//! `cargo test` runs every test on SQLite. When `QUORUM_TEST_POSTGRES` names a PostgreSQL server
//! (a URL whose role may `CREATE DATABASE`, e.g. `postgres://quorum:quorum@127.0.0.1/postgres`),
//! the test [`postgres_half::whole_suite_on_postgres`] runs this same test binary a second time
//! with `QUORUM_TEST_BACKEND=postgres`: every server, CLI run and direct store access of every
//! test then uses a fresh PostgreSQL database of its own (`qt_<pid>_<n>`, dropped afterwards).
//! Without the variable that half is not run and the test says so once; with `CI` set it fails.
//!
//! To run a few tests on PostgreSQL only:
//! `QUORUM_TEST_BACKEND=postgres QUORUM_TEST_POSTGRES=postgres://… cargo test --test it labeling`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::Connection;

/// The variable naming the PostgreSQL server the PostgreSQL half uses.
pub const POSTGRES_VAR: &str = "QUORUM_TEST_POSTGRES";
/// Set to `postgres` in the process that runs the suite on PostgreSQL.
pub const BACKEND_VAR: &str = "QUORUM_TEST_BACKEND";

/// True in the run on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var(BACKEND_VAR).is_ok_and(|v| v == "postgres")
}

fn admin_url() -> String {
    std::env::var(POSTGRES_VAR).unwrap_or_else(|_| {
        panic!("{BACKEND_VAR}=postgres needs {POSTGRES_VAR}=postgres://USER:PASSWORD@HOST/postgres")
    })
}

/// The URL of database `name` on the server of `admin` (its path replaced).
fn with_database(admin: &str, name: &str) -> String {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..]
        .find('/')
        .map(|i| scheme_end + i)
        .unwrap_or(base.len());
    format!("{}/{name}{query}", &base[..host_end])
}

/// Makes an empty PostgreSQL database and returns its URL.
pub async fn create_postgres_database() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let admin = admin_url();
    let name = format!(
        "qt_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {POSTGRES_VAR}: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.ok();
    with_database(&admin, &name)
}

/// Drops the test databases whose names start with `prefix` (e.g. `qt_1234_`).
pub async fn drop_postgres_databases(prefix: &str) {
    let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await else {
        return;
    };
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE $1")
            .bind(format!("{prefix}%"))
            .fetch_all(&mut conn)
            .await
            .unwrap_or_default();
    for name in names {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
    }
}

/// The database a test's data directory uses: the SQLite file inside it, or (in the run on
/// PostgreSQL) a fresh database made for this directory on first use and the same one after.
/// Processes a test starts get it as `QUORUM_DATABASE_URL` (see [`command_env`]).
pub async fn database_for(data_dir: &Path) -> String {
    static MADE: Mutex<Option<HashMap<PathBuf, String>>> = Mutex::new(None);
    if !on_postgres() {
        return format!("sqlite://{}", data_dir.join("quorum.db").display());
    }
    if let Some(url) = MADE
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .get(data_dir)
    {
        return url.clone();
    }
    let url = create_postgres_database().await;
    MADE.lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .entry(data_dir.to_path_buf())
        .or_insert(url)
        .clone()
}

/// Blocking [`database_for`], for tests that build commands outside async code.
pub fn database_for_blocking(data_dir: &Path) -> String {
    let dir = data_dir.to_path_buf();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(database_for(&dir))
    })
    .join()
    .unwrap()
}

/// Points a `quorum` command at the test's database for `data_dir`.
pub fn command_env(cmd: &mut std::process::Command, data_dir: &Path) {
    cmd.env("QUORUM_DATABASE_URL", database_for_blocking(data_dir));
}

/// Opens the store of a data directory, the way a test checks what a server left behind.
pub async fn open_store(data_dir: &Path) -> quorum::db::Db {
    quorum::db::Db::open(&database_for(data_dir).await)
        .await
        .unwrap()
}

mod postgres_half {
    use std::io::Write;
    use std::process::Command;

    use super::*;

    /// Runs the whole suite again on PostgreSQL, in a child process of this test binary.
    #[test]
    fn whole_suite_on_postgres() {
        if on_postgres() {
            return;
        }
        if std::env::var(POSTGRES_VAR).is_err() {
            assert!(
                !crate::parts::on_ci(),
                "CI is set but {POSTGRES_VAR} is not: the PostgreSQL half of the suite must run \
                 (.ci/run installs and starts PostgreSQL and sets it)"
            );
            let _ = writeln!(
                std::io::stderr(),
                "\nnote: the PostgreSQL half of the suite was NOT run. Install PostgreSQL \
                 (`apt-get install -y postgresql`, `pg_ctlcluster 15 main start`), make a role that \
                 may create databases, and set {POSTGRES_VAR}=postgres://USER:PASSWORD@127.0.0.1/postgres \
                 (see .ci/run).\n"
            );
            return;
        }
        let exe = std::env::current_exe().unwrap();
        let mut child = Command::new(exe)
            .args(["--skip", "postgres_half"])
            .env(BACKEND_VAR, "postgres")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let err = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
        let out = std::io::read_to_string(stdout).unwrap_or_default();
        let err = err.join().unwrap_or_default();
        let status = child.wait().unwrap();
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(drop_postgres_databases(&format!("qt_{pid}_")));
        let summary: Vec<&str> = out
            .lines()
            .filter(|l| {
                l.starts_with("test result:") || l.contains("FAILED") || l.contains("failures:")
            })
            .collect();
        let _ = writeln!(
            std::io::stderr(),
            "\nthe suite on PostgreSQL: {}\n",
            summary.join("\n")
        );
        assert!(
            status.success(),
            "the suite failed on PostgreSQL:\n{out}\n{err}"
        );
    }
}

/// [`command_env`] for a command whose arguments name `--data-dir DIR` (nothing otherwise).
pub fn command_env_from_args<S: AsRef<std::ffi::OsStr>>(
    cmd: &mut std::process::Command,
    args: &[S],
) {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
    if let Some(i) = args.iter().position(|a| *a == "--data-dir")
        && let Some(dir) = args.get(i + 1)
    {
        command_env(cmd, Path::new(dir));
    }
}
