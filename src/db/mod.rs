//! Every SQL statement of Quorum lives below this module, one file per table family.
//!
//! The statements keep to the subset SQLite and PostgreSQL share (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT`, timestamps and JSON made in Rust), so a PostgreSQL backend can follow.
//! Write transactions on SQLite begin with `BEGIN IMMEDIATE`: a deferred transaction that reads
//! and then writes can fail with `SQLITE_BUSY` whatever the busy timeout.

#![allow(clippy::disallowed_methods)]

pub mod audit;
pub mod backup;
pub mod blobs;
pub mod browse;
pub mod copy;
pub mod exports;
pub mod ids;
pub mod imports;
pub mod invites;
pub mod items;
pub mod kinds;
pub mod label_batch;
pub mod labels;
pub mod layout;
pub mod links;
pub mod metrics;
pub mod mfa;
pub mod outcomes;
pub mod quality;
pub mod review;
pub mod role;
pub mod sampling;
pub mod sessions;
pub mod shards;
pub mod states;
pub mod tasks;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod validation;
pub mod webhooks;

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{Any, AnyPool, Transaction};

/// A transaction: a write transaction from [`Db::begin_write`] or a read snapshot from
/// [`Db::begin_read`].
pub type Tx = Transaction<'static, Any>;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The two SQL dialects Quorum speaks. The statements in this module keep to their shared subset;
/// the few places that differ (durability settings, the write lock, backups, schema files) ask
/// [`Db::backend`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names, or `None` for any other scheme.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    fn migrator(self) -> &'static sqlx::migrate::Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        }
    }
}

/// SQLite pool options: the pragmas go on every new connection.
fn sqlite_pool(max: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                sqlx::raw_sql(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                )
                .execute(conn)
                .await?;
                Ok(())
            })
        })
}

/// The key of the PostgreSQL advisory lock every write transaction takes (see
/// [`Db::begin_write`]); an arbitrary constant, "QRM" and a 1.
const WRITE_LOCK_KEY: i64 = 0x5152_4d01;

/// The database handle shared by every request.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("unsupported database URL {0:?}: use sqlite://FILE or postgres://USER@HOST/DB")]
    Unsupported(String),
    #[error("cannot open the database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("durability check failed: {0}")]
    Durability(String),
    #[error("{0}")]
    Schema(String),
}

/// How a database's applied migrations compare with the ones built into this binary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaStatus {
    pub backend: Backend,
    /// Embedded migrations not yet applied (version, description).
    pub pending: Vec<(i64, String)>,
    /// Applied migrations this binary does not know, or whose checksum differs.
    pub unexpected: Vec<String>,
}

impl Db {
    /// Opens the database and applies the embedded migrations of its dialect. SQLite: creates
    /// the file if missing, sets WAL + `synchronous=FULL` and checks that they took effect.
    pub async fn open(url: &str) -> Result<Db, OpenError> {
        let db = Db::connect(url).await?;
        db.backend.migrator().run(&db.pool).await?;
        Ok(db)
    }

    /// Opens the database without touching its schema (for `quorum migrate --check`).
    pub async fn connect(url: &str) -> Result<Db, OpenError> {
        sqlx::any::install_default_drivers();
        let backend =
            Backend::of_url(url).ok_or_else(|| OpenError::Unsupported(redact_url(url)))?;
        let pool = match backend {
            Backend::Sqlite => {
                // `mode=rwc` creates a missing file; the pragmas go on every new connection.
                let url = if url.contains('?') {
                    url.to_string()
                } else {
                    format!("{url}?mode=rwc")
                };
                sqlite_pool(8).connect(&url).await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .min_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect(url)
                    .await?
            }
        };
        let db = Db { pool, backend };
        db.check_durability().await?;
        Ok(db)
    }

    /// The same database through a pool of its own with one connection, for the label writer:
    /// it never waits behind readers for a connection of the shared pool (on SQLite the one
    /// writer at a time is the database's rule anyway; on PostgreSQL the advisory lock's).
    pub fn dedicated_writer(&self) -> Db {
        let options = (*self.pool.connect_options()).clone();
        let pool = match self.backend {
            Backend::Sqlite => sqlite_pool(1),
            Backend::Postgres => AnyPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(30)),
        }
        .connect_lazy_with(options);
        Db {
            pool,
            backend: self.backend,
        }
    }

    /// Compares the applied migrations with the embedded ones.
    pub async fn schema_status(&self) -> Result<SchemaStatus, OpenError> {
        let migrator = self.backend.migrator();
        let applied = backup::applied_migrations(&self.pool).await?;
        let mut pending = Vec::new();
        let mut unexpected = Vec::new();
        for m in migrator.iter() {
            match applied.iter().find(|(v, _)| *v == m.version) {
                None => pending.push((m.version, m.description.to_string())),
                Some((_, sum)) if sum.as_slice() != &*m.checksum => unexpected.push(format!(
                    "migration {} was changed after it was applied",
                    m.version
                )),
                Some(_) => {}
            }
        }
        for (v, _) in &applied {
            if !migrator.iter().any(|m| m.version == *v) {
                unexpected.push(format!(
                    "migration {v} is applied but unknown to this binary (a newer Quorum?)"
                ));
            }
        }
        Ok(SchemaStatus {
            backend: self.backend,
            pending,
            unexpected,
        })
    }

    /// Applies the embedded migrations that are missing.
    pub async fn migrate(&self) -> Result<(), OpenError> {
        self.backend.migrator().run(&self.pool).await?;
        Ok(())
    }

    /// SQLite: fails unless the connection really runs WAL with `synchronous=FULL` and foreign
    /// keys on. PostgreSQL: fails unless commits wait for the WAL flush (`fsync` and
    /// `synchronous_commit` on).
    pub async fn check_durability(&self) -> Result<(), OpenError> {
        let mut conn = self.pool.acquire().await?;
        match self.backend {
            Backend::Sqlite => {
                let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                    .fetch_one(&mut *conn)
                    .await?;
                let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                    .fetch_one(&mut *conn)
                    .await?;
                let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                    .fetch_one(&mut *conn)
                    .await?;
                if !mode.eq_ignore_ascii_case("wal") || sync != 2 || fk != 1 {
                    return Err(OpenError::Durability(format!(
                        "journal_mode={mode} synchronous={sync} foreign_keys={fk}; expected wal, 2 (FULL), 1"
                    )));
                }
                tracing::info!(journal_mode = %mode, synchronous = sync, "database durability checked");
            }
            Backend::Postgres => {
                let fsync: String = sqlx::query_scalar("SELECT current_setting('fsync')")
                    .fetch_one(&mut *conn)
                    .await?;
                let sync: String =
                    sqlx::query_scalar("SELECT current_setting('synchronous_commit')")
                        .fetch_one(&mut *conn)
                        .await?;
                if fsync != "on" || sync == "off" {
                    return Err(OpenError::Durability(format!(
                        "fsync={fsync} synchronous_commit={sync}; expected fsync=on and synchronous_commit not off"
                    )));
                }
                tracing::info!(fsync = %fsync, synchronous_commit = %sync, "database durability checked");
            }
        }
        Ok(())
    }

    /// Begins a write transaction that holds the write lock from its first statement.
    ///
    /// SQLite: `BEGIN IMMEDIATE`. PostgreSQL: `BEGIN` and a transaction-scoped advisory lock
    /// shared by every instance, so write transactions run one at a time across all of them, as
    /// on SQLite: every invariant argued for one writer (lease counters, one label per rater,
    /// replay by submission key) holds unchanged, and each statement after the lock sees every
    /// write committed before it (READ COMMITTED takes a fresh snapshot per statement). The
    /// group-commit writer keeps the cost at one lock per batch, not per submission.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => {
                let mut tx = self.pool.begin_with("BEGIN").await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(WRITE_LOCK_KEY)
                    .execute(&mut *tx)
                    .await?;
                Ok(tx)
            }
        }
    }

    /// Begins a read-only transaction that sees one consistent snapshot throughout (exports).
    pub async fn begin_read(&self) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin().await,
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await
            }
        }
    }

    /// A cheap query proving the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query_scalar::<_, i64>("SELECT CAST(1 AS BIGINT)")
            .fetch_one(&self.pool)
            .await
            .map(|_| ())
    }
}

/// The URL with any password replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The VALUES list of a multi-row INSERT with `rows` rows of `cols` placeholders, bound in order:
/// `($1, $2, …), …` on PostgreSQL (which refuses the `?` that sqlx's `QueryBuilder` writes for the
/// Any driver) and `(?, ?, …), …` on SQLite, where numbered parameters cost a name lookup each
/// that is linear in the number of parameters: quadratic over a 1,800-parameter INSERT, 69 % of
/// a 1M-item import's time until this was split by dialect.
pub fn values_list(backend: Backend, rows: usize, cols: usize) -> String {
    Placeholders {
        postgres: backend == Backend::Postgres,
        n: 0,
    }
    .tuples(rows, cols)
}

/// Placeholders for a statement whose values are bound in the order they appear: `$1, $2, …` on
/// PostgreSQL, `?` on SQLite. (SQLite looks a named parameter such as `$7` up by a linear search,
/// when the statement is prepared and again when it is bound, so a long list of them costs time
/// quadratic in its length; plain `?` costs nothing.)
pub struct Placeholders {
    postgres: bool,
    n: usize,
}

impl Placeholders {
    /// Placeholders for a statement to run on `conn` (the same numbering as [`values_list`]).
    pub fn of(conn: &sqlx::AnyConnection) -> Placeholders {
        Placeholders {
            postgres: conn.backend_name() == "PostgreSQL",
            n: 0,
        }
    }

    /// The next placeholder.
    pub fn one(&mut self) -> String {
        self.n += 1;
        if self.postgres {
            format!("${}", self.n)
        } else {
            "?".to_string()
        }
    }

    /// `k` placeholders, comma separated.
    pub fn list(&mut self, k: usize) -> String {
        (0..k).map(|_| self.one()).collect::<Vec<_>>().join(", ")
    }

    /// `rows` parenthesised tuples of `cols` placeholders, comma separated.
    pub fn tuples(&mut self, rows: usize, cols: usize) -> String {
        (0..rows)
            .map(|_| format!("({})", self.list(cols)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Counts changes to who may sign in as whom: every statement that changes a user's role,
/// active flag or password, revokes a token or ends sessions adds one, so `auth::cache` drops
/// what it remembered (in this process; other instances rely on the cache's one-second life).
static AUTH_EPOCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The current [`AUTH_EPOCH`].
pub fn auth_epoch() -> u64 {
    AUTH_EPOCH.load(std::sync::atomic::Ordering::Acquire)
}

/// Called by the statements that change access (before and after they run).
pub(crate) fn auth_changed() {
    AUTH_EPOCH.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
}

/// True when the error is a unique-constraint violation (the one place this is decided).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
