//! Every SQL statement of Quorum lives below this module, one file per table family.
//!
//! The statements keep to the subset SQLite and PostgreSQL share (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT`, timestamps and JSON made in Rust), so a PostgreSQL backend can follow.
//! Write transactions on SQLite begin with `BEGIN IMMEDIATE`: a deferred transaction that reads
//! and then writes can fail with `SQLITE_BUSY` whatever the busy timeout.

#![allow(clippy::disallowed_methods)]

pub mod audit;
pub mod backup;
pub mod browse;
pub mod exports;
pub mod ids;
pub mod imports;
pub mod invites;
pub mod items;
pub mod kinds;
pub mod labels;
pub mod links;
pub mod metrics;
pub mod mfa;
pub mod quality;
pub mod review;
pub mod role;
pub mod sessions;
pub mod shards;
pub mod states;
pub mod tasks;
pub mod throttle;
pub mod tokens;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

/// A write transaction (on SQLite, begun with `BEGIN IMMEDIATE`).
pub type Tx = Transaction<'static, Sqlite>;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The database handle shared by every request.
#[derive(Clone, Debug)]
pub struct Db {
    pub pool: SqlitePool,
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("unsupported database URL {0:?}: this build speaks sqlite:// only")]
    Unsupported(String),
    #[error("cannot open the database: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("durability check failed: {0}")]
    Durability(String),
}

impl Db {
    /// Opens (creating if missing) the database, sets WAL + `synchronous=FULL`, checks that they
    /// took effect, and applies the embedded migrations.
    pub async fn open(url: &str) -> Result<Db, OpenError> {
        if !url.starts_with("sqlite:") {
            return Err(OpenError::Unsupported(url.to_string()));
        }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        let db = Db { pool };
        db.check_durability().await?;
        MIGRATOR.run(&db.pool).await?;
        Ok(db)
    }

    /// Fails unless the connection really runs WAL with `synchronous=FULL` and foreign keys on.
    pub async fn check_durability(&self) -> Result<(), OpenError> {
        let mut conn = self.pool.acquire().await?;
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
        Ok(())
    }

    /// Begins a write transaction that takes the write lock at once.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        self.pool.begin_with("BEGIN IMMEDIATE").await
    }

    /// A cheap query proving the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query_scalar::<_, i64>("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .map(|_| ())
    }
}

/// True when the error is a unique-constraint violation (the one place this is decided).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
