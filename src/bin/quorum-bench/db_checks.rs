//! The invariants checked in the server's store after a run: every 2xx label stored once, no
//! item over its target, counters that match the rows, no rater twice on an item. The store is
//! opened as the server opens it, `quorum::db::Db::connect` (sqlx's Any driver: SQLite, read-only
//! through `?mode=ro`, or PostgreSQL), and the statements keep to the dialects' shared subset.

use futures_util::TryStreamExt;
use quorum::db::{Backend, Db};

use crate::report::{Check, check};

/// The checks, and on PostgreSQL the database's size in bytes.
pub(crate) async fn db_checks(
    url: &str,
    task: i64,
    mut created: Vec<(i64, i64, i64)>,
) -> Result<(Vec<Check>, Option<u64>), String> {
    let db = Db::connect(url)
        .await
        .map_err(|e| format!("the invariant checks cannot open the store: {e}"))?;
    let pool = &db.pool;
    let mut checks = Vec::new();

    // Every 2xx label stored once: the 201 answers and the task's label rows match one to one.
    created.sort_unstable();
    let dup_answers = created.windows(2).filter(|w| w[0].0 == w[1].0).count();
    let mut rows = sqlx::query_as::<_, (i64, i64, i64)>(
        "SELECT id, item_id, user_id FROM labels WHERE task_id = $1 ORDER BY id",
    )
    .bind(task)
    .fetch(pool);
    let (mut missing, mut extra, mut mismatched, mut stored) = (0u64, 0u64, 0u64, 0u64);
    let mut want = created.iter().peekable();
    let mut first_problem: Option<String> = None;
    while let Some(row) = rows.try_next().await.map_err(|e| e.to_string())? {
        stored += 1;
        while let Some(w) = want.next_if(|w| w.0 < row.0) {
            missing += 1;
            first_problem.get_or_insert(format!("label {} answered 201 but not stored", w.0));
        }
        match want.next_if(|w| w.0 == row.0) {
            Some(w) if *w == row => {}
            Some(w) => {
                mismatched += 1;
                first_problem.get_or_insert(format!(
                    "label {}: answered for item {} by user {}, stored for item {} by user {}",
                    w.0, w.1, w.2, row.1, row.2
                ));
            }
            None => {
                extra += 1;
                first_problem
                    .get_or_insert(format!("label {} stored but never answered 201", row.0));
            }
        }
        // Skip duplicates of the same id among the answers (counted above).
        while want.next_if(|w| w.0 == row.0).is_some() {}
    }
    drop(rows);
    for w in want {
        missing += 1;
        first_problem.get_or_insert(format!("label {} answered 201 but not stored", w.0));
    }
    checks.push(check(
        "every 2xx label stored once",
        missing == 0 && extra == 0 && mismatched == 0 && dup_answers == 0,
        format!(
            "{} answered 201, {stored} stored; missing {missing}, not answered {extra}, mismatched {mismatched}, same id answered twice {dup_answers}{}",
            created.len(),
            first_problem.map(|p| format!("; first: {p}")).unwrap_or_default()
        ),
    ));

    let over: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM items i
         JOIN (SELECT item_id, COUNT(*) AS n FROM labels WHERE task_id = $1 GROUP BY item_id) l
           ON l.item_id = i.id
         WHERE l.n > i.target",
    )
    .bind(task)
    .fetch_one(pool)
    .await
    .map_err(|e| e.to_string())?;
    let over_leased: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM items WHERE task_id = $1 AND label_count + active_leases > target",
    )
    .bind(task)
    .fetch_one(pool)
    .await
    .map_err(|e| e.to_string())?;
    checks.push(check(
        "no item over its target",
        over == 0 && over_leased == 0,
        format!(
            "{over} items with more labels than their target; {over_leased} with labels + live leases over it"
        ),
    ));

    let counters: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM items i
         LEFT JOIN (SELECT item_id, COUNT(*) AS n FROM labels WHERE task_id = $1 GROUP BY item_id) l
           ON l.item_id = i.id
         WHERE i.task_id = $1 AND i.label_count != COALESCE(l.n, 0)",
    )
    .bind(task)
    .fetch_one(pool)
    .await
    .map_err(|e| e.to_string())?;
    checks.push(check(
        "item label counters match the labels",
        counters == 0,
        format!("{counters} items whose label_count differs from their label rows"),
    ));

    let twice: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT item_id, user_id FROM labels WHERE task_id = $1
                               GROUP BY item_id, user_id HAVING COUNT(*) > 1) t",
    )
    .bind(task)
    .fetch_one(pool)
    .await
    .map_err(|e| e.to_string())?;
    checks.push(check(
        "no rater twice on an item",
        twice == 0,
        format!("{twice} (item, rater) pairs with more than one label"),
    ));
    let size = match db.backend {
        Backend::Postgres => sqlx::query_scalar::<_, i64>(
            "SELECT CAST(pg_database_size(current_database()) AS BIGINT)",
        )
        .fetch_one(pool)
        .await
        .ok()
        .and_then(|b| u64::try_from(b).ok()),
        Backend::Sqlite => None,
    };
    pool.close().await;
    Ok((checks, size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::random_hex;

    /// A tiny store with the columns the checks read, at `url` (made if missing).
    async fn store(url: &str, labels: &[(i64, i64, i64)], items: &[(i64, i64, i64, i64)]) {
        let db = Db::connect(url).await.unwrap();
        let pool = &db.pool;
        sqlx::query("CREATE TABLE items (id BIGINT PRIMARY KEY, task_id BIGINT, target BIGINT, label_count BIGINT, active_leases BIGINT)")
            .execute(pool)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE labels (id BIGINT PRIMARY KEY, task_id BIGINT, item_id BIGINT, user_id BIGINT)")
            .execute(pool)
            .await
            .unwrap();
        for (id, target, count, leases) in items {
            sqlx::query("INSERT INTO items VALUES ($1, 1, $2, $3, $4)")
                .bind(id)
                .bind(target)
                .bind(count)
                .bind(leases)
                .execute(pool)
                .await
                .unwrap();
        }
        for (id, item, user) in labels {
            sqlx::query("INSERT INTO labels VALUES ($1, 1, $2, $3)")
                .bind(id)
                .bind(item)
                .bind(user)
                .execute(pool)
                .await
                .unwrap();
        }
        pool.close().await;
    }

    fn failed(checks: &(Vec<Check>, Option<u64>)) -> Vec<String> {
        checks
            .0
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.clone())
            .collect()
    }

    /// The stores of one test run: SQLite files in a temporary directory, or fresh databases on
    /// the PostgreSQL server `QUORUM_TEST_POSTGRES` names.
    enum Stores {
        Sqlite(std::path::PathBuf),
        Postgres { admin: String, made: Vec<String> },
    }

    impl Stores {
        /// (where the test writes, where the checks read)
        async fn new_store(&mut self, name: &str) -> (String, String) {
            match self {
                Stores::Sqlite(dir) => {
                    let f = dir.join(format!("{name}.db"));
                    (
                        format!("sqlite://{}", f.display()),
                        format!("sqlite://{}?mode=ro", f.display()),
                    )
                }
                Stores::Postgres { admin, made } => {
                    let db = format!(
                        "qb_{}_{}_{name}",
                        std::process::id(),
                        random_hex(3).unwrap()
                    );
                    let conn = Db::connect(admin).await.unwrap();
                    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db}")))
                        .execute(&conn.pool)
                        .await
                        .unwrap();
                    conn.pool.close().await;
                    made.push(db.clone());
                    let (base, _) = admin.rsplit_once('/').unwrap();
                    let url = format!("{base}/{db}");
                    (url.clone(), url)
                }
            }
        }

        async fn cleanup(self) {
            match self {
                Stores::Sqlite(dir) => {
                    let _ = std::fs::remove_dir_all(&dir);
                }
                Stores::Postgres { admin, made } => {
                    let conn = Db::connect(&admin).await.unwrap();
                    for db in made {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {db}"
                        )))
                        .execute(&conn.pool)
                        .await;
                    }
                }
            }
        }
    }

    async fn checks_pass_on_a_sound_store_and_catch_each_breach(mut stores: Stores) {
        let labels = [(1, 10, 100), (2, 10, 101), (3, 11, 100)];
        let items = [(10, 2, 2, 0), (11, 2, 1, 1)];

        let (w, sound) = stores.new_store("sound").await;
        store(&w, &labels, &items).await;
        let checks = db_checks(&sound, 1, labels.to_vec()).await.unwrap();
        assert!(failed(&checks).is_empty(), "{:?}", failed(&checks));

        // A 201 whose label is not stored, and a stored label never answered.
        let checks = db_checks(&sound, 1, vec![(1, 10, 100), (2, 10, 101), (4, 11, 100)])
            .await
            .unwrap();
        assert_eq!(failed(&checks), ["every 2xx label stored once"]);
        // The same label id answered twice.
        let checks = db_checks(
            &sound,
            1,
            vec![(1, 10, 100), (1, 10, 100), (2, 10, 101), (3, 11, 100)],
        )
        .await
        .unwrap();
        assert_eq!(failed(&checks), ["every 2xx label stored once"]);

        // A rater twice on an item, which also takes item 11 over its target.
        let (w, twice) = stores.new_store("twice").await;
        let labels2 = [
            (1, 10, 100),
            (2, 10, 101),
            (3, 11, 100),
            (4, 11, 100),
            (5, 11, 102),
        ];
        store(&w, &labels2, &[(10, 2, 2, 0), (11, 2, 3, 0)]).await;
        let checks = db_checks(&twice, 1, labels2.to_vec()).await.unwrap();
        assert_eq!(
            failed(&checks),
            ["no item over its target", "no rater twice on an item"]
        );

        // Counters out of step with the rows, and labels plus live leases over the target.
        let (w, counters) = stores.new_store("counters").await;
        store(&w, &labels, &[(10, 2, 1, 0), (11, 2, 1, 2)]).await;
        let checks = db_checks(&counters, 1, labels.to_vec()).await.unwrap();
        assert_eq!(
            failed(&checks),
            [
                "no item over its target",
                "item label counters match the labels"
            ]
        );
        stores.cleanup().await;
    }

    #[tokio::test]
    async fn the_database_checks_pass_on_a_sound_store_and_catch_each_breach() {
        let dir = std::env::temp_dir().join(format!(
            "quorum-bench-test-{}-{}",
            std::process::id(),
            random_hex(4).unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        checks_pass_on_a_sound_store_and_catch_each_breach(Stores::Sqlite(dir)).await;
    }

    /// The same on PostgreSQL, when `QUORUM_TEST_POSTGRES` names a server whose role may create
    /// databases (as for the integration suite's PostgreSQL half); skipped, saying so, without it.
    #[tokio::test]
    async fn the_database_checks_work_on_postgres() {
        let Ok(admin) = std::env::var("QUORUM_TEST_POSTGRES") else {
            eprintln!("QUORUM_TEST_POSTGRES is not set: the PostgreSQL checks were not run");
            return;
        };
        let admin = admin.split('?').next().unwrap_or(&admin).to_string();
        checks_pass_on_a_sound_store_and_catch_each_breach(Stores::Postgres {
            admin,
            made: Vec::new(),
        })
        .await;
    }
}
