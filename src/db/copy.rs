//! Whole-table reads and writes for `quorum copy` (moving a deployment between databases): the
//! tables in an order that respects their foreign keys, each with the key it is read in.
//!
//! Values travel as [`Value`]s chosen by the *target* column's declared type, so an SQLite
//! `INTEGER` flag becomes a PostgreSQL `BIGINT`, a `REAL` a `DOUBLE PRECISION`, and so on.

use futures_util::{Stream, StreamExt};
use sqlx::any::AnyRow;
use sqlx::{AnyExecutor, Row};

use super::Backend;

/// Every table of the schema (except the migrations ledger and the snapshot chunks, which
/// `quorum copy` moves as files), parents before children, with the columns that order its rows.
pub const TABLES: &[(&str, &str)] = &[
    ("users", "id"),
    ("sessions", "id_hash"),
    ("login_throttle", "key"),
    ("invites", "id"),
    ("password_links", "id"),
    ("api_tokens", "id"),
    ("audit_log", "id"),
    ("recovery_codes", "id"),
    ("mfa_challenges", "token_hash"),
    ("settings", "key"),
    ("tasks", "id"),
    ("instruction_versions", "task_id, version"),
    ("instruction_acks", "task_id, user_id"),
    ("task_members", "task_id, user_id"),
    ("imports", "id"),
    ("items", "id"),
    ("predictions", "id"),
    ("shards", "id"),
    ("shard_items", "shard_id, item_id"),
    ("labels", "id"),
    ("submissions", "user_id, submission_key"),
    ("skips", "item_id, user_id"),
    ("resolutions", "item_id"),
    ("rater_status", "task_id, user_id"),
    ("task_export_settings", "task_id"),
    ("task_sampling", "task_id"),
    ("task_layout", "task_id"),
    ("task_validation", "task_id"),
    ("import_stats", "import_id"),
    ("quarantine", "id"),
    ("task_direct_labels", "task_id"),
    ("outcomes", "id"),
    ("exports", "id"),
    ("webhooks", "id"),
    ("webhook_deliveries", "id"),
    ("webhook_attempts", "id"),
];

/// Tables left out of [`TABLES`] on purpose.
pub const NOT_COPIED: &[&str] = &["_sqlx_migrations", "export_chunks"];

/// How a column is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Int,
    Float,
    Text,
    Blob,
}

impl Kind {
    fn of_declared(t: &str) -> Kind {
        let t = t.to_ascii_lowercase();
        if t.contains("int") {
            Kind::Int
        } else if t.contains("real") || t.contains("double") || t.contains("float") {
            Kind::Float
        } else if t.contains("blob") || t.contains("bytea") {
            Kind::Blob
        } else {
            Kind::Text
        }
    }
}

/// One value of one row.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    /// Feeds the value to a checksum, tagged so that no two values share bytes.
    pub fn hash_into(&self, h: &mut impl sha2::Digest) {
        match self {
            Value::Null => h.update([0u8]),
            Value::Int(i) => {
                h.update([1u8]);
                h.update(i.to_le_bytes());
            }
            Value::Float(f) => {
                h.update([2u8]);
                h.update(f.to_bits().to_le_bytes());
            }
            Value::Text(s) => {
                h.update([3u8]);
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
            Value::Blob(b) => {
                h.update([4u8]);
                h.update((b.len() as u64).to_le_bytes());
                h.update(b);
            }
        }
    }
}

/// The tables of the database (user tables only).
pub async fn table_names(
    ex: impl AnyExecutor<'_>,
    backend: Backend,
) -> Result<Vec<String>, sqlx::Error> {
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        }
    };
    sqlx::query_scalar(sql).fetch_all(ex).await
}

/// A table's columns in declaration order, with how each is stored.
pub async fn columns(
    ex: impl AnyExecutor<'_>,
    backend: Backend,
    table: &str,
) -> Result<Vec<(String, Kind)>, sqlx::Error> {
    let sql = match backend {
        Backend::Sqlite => "SELECT name, type FROM pragma_table_info($1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
        }
    };
    let rows: Vec<(String, String)> = sqlx::query_as(sql).bind(table).fetch_all(ex).await?;
    Ok(rows
        .into_iter()
        .map(|(name, t)| {
            let kind = Kind::of_declared(&t);
            (name, kind)
        })
        .collect())
}

/// How many rows a table holds.
pub async fn count(ex: impl AnyExecutor<'_>, table: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM {}",
        known(table)?
    )))
    .fetch_one(ex)
    .await
}

/// A table name from [`TABLES`] (or [`NOT_COPIED`]), checked before it is put into SQL.
fn known(table: &str) -> Result<&str, sqlx::Error> {
    if TABLES.iter().any(|(t, _)| *t == table) || NOT_COPIED.contains(&table) {
        Ok(table)
    } else {
        Err(sqlx::Error::Protocol(format!("unknown table {table:?}")))
    }
}

fn order_of(table: &str) -> &'static str {
    TABLES
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, o)| *o)
        .unwrap_or("1")
}

/// Every row of `table` (the given columns, in key order) as a stream.
pub fn rows<'e>(
    ex: impl AnyExecutor<'e> + 'e,
    table: &str,
    cols: &[(String, Kind)],
) -> Result<impl Stream<Item = Result<Vec<Value>, sqlx::Error>> + 'e, sqlx::Error> {
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}",
        names.join(", "),
        known(table)?,
        order_of(table)
    );
    let kinds: Vec<Kind> = cols.iter().map(|(_, k)| *k).collect();
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch(ex)
        .map(move |row| row.and_then(|r| decode(&r, &kinds))))
}

fn decode(row: &AnyRow, kinds: &[Kind]) -> Result<Vec<Value>, sqlx::Error> {
    kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            Ok(match kind {
                Kind::Int => row
                    .try_get::<Option<i64>, _>(i)?
                    .map_or(Value::Null, Value::Int),
                Kind::Float => row
                    .try_get::<Option<f64>, _>(i)?
                    .map_or(Value::Null, Value::Float),
                Kind::Text => row
                    .try_get::<Option<String>, _>(i)?
                    .map_or(Value::Null, Value::Text),
                Kind::Blob => row
                    .try_get::<Option<Vec<u8>>, _>(i)?
                    .map_or(Value::Null, Value::Blob),
            })
        })
        .collect()
}

/// Inserts rows (each in the column order of `cols`), converting each value to its column's kind.
pub async fn insert(
    tx: &mut super::Tx,
    backend: Backend,
    table: &str,
    cols: &[(String, Kind)],
    rows: &[Vec<Value>],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    let sql = format!(
        "INSERT INTO {} ({}) VALUES {}",
        known(table)?,
        names.join(", "),
        super::values_list(backend, rows.len(), cols.len())
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for row in rows {
        for (v, (_, kind)) in row.iter().zip(cols) {
            q = match (v, kind) {
                (Value::Null, Kind::Int) => q.bind(None::<i64>),
                (Value::Null, Kind::Float) => q.bind(None::<f64>),
                (Value::Null, Kind::Text) => q.bind(None::<String>),
                (Value::Null, Kind::Blob) => q.bind(None::<Vec<u8>>),
                (Value::Int(i), Kind::Float) => q.bind(*i as f64),
                (Value::Int(i), _) => q.bind(*i),
                (Value::Float(f), _) => q.bind(*f),
                (Value::Text(s), _) => q.bind(s.as_str()),
                (Value::Blob(x), _) => q.bind(x.as_slice()),
            };
        }
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// PostgreSQL: moves a table's `id` sequence past the ids copied in, so new rows get new ids.
pub async fn reset_identity(tx: &mut super::Tx, table: &str) -> Result<(), sqlx::Error> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT setval(pg_get_serial_sequence('{t}', 'id'), (SELECT COALESCE(MAX(id), 0) + 1 FROM {t}), false)",
        t = known(table)?
    )))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
