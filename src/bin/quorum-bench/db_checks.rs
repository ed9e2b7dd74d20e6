//! The invariants checked in the server's SQLite file (opened read-only) after a run: every 2xx
//! label stored once, no item over its target, counters that match the rows, no rater twice on an
//! item.

use std::path::Path;
use std::time::Duration;

use futures_util::TryStreamExt;

use crate::report::{Check, check};

pub(crate) async fn db_checks(
    path: &Path,
    task: i64,
    mut created: Vec<(i64, i64, i64)>,
) -> Result<Vec<Check>, String> {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .busy_timeout(Duration::from_secs(30));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .map_err(|e| format!("cannot open {} read-only: {e}", path.display()))?;
    let mut checks = Vec::new();

    // Every 2xx label stored once: the 201 answers and the task's label rows match one to one.
    created.sort_unstable();
    let dup_answers = created.windows(2).filter(|w| w[0].0 == w[1].0).count();
    let mut rows = sqlx::query_as::<_, (i64, i64, i64)>(
        "SELECT id, item_id, user_id FROM labels WHERE task_id = $1 ORDER BY id",
    )
    .bind(task)
    .fetch(&pool);
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
    .fetch_one(&pool)
    .await
    .map_err(|e| e.to_string())?;
    let over_leased: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM items WHERE task_id = $1 AND label_count + active_leases > target",
    )
    .bind(task)
    .fetch_one(&pool)
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
    .fetch_one(&pool)
    .await
    .map_err(|e| e.to_string())?;
    checks.push(check(
        "item label counters match the labels",
        counters == 0,
        format!("{counters} items whose label_count differs from their label rows"),
    ));

    let twice: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT item_id, user_id FROM labels WHERE task_id = $1
                               GROUP BY item_id, user_id HAVING COUNT(*) > 1)",
    )
    .bind(task)
    .fetch_one(&pool)
    .await
    .map_err(|e| e.to_string())?;
    checks.push(check(
        "no rater twice on an item",
        twice == 0,
        format!("{twice} (item, rater) pairs with more than one label"),
    ));
    pool.close().await;
    Ok(checks)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::server::random_hex;

    /// A tiny store with the columns the checks read.
    async fn store(path: &Path, labels: &[(i64, i64, i64)], items: &[(i64, i64, i64, i64)]) {
        use sqlx::sqlite::SqliteConnectOptions;
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(opts).await.unwrap();
        sqlx::query("CREATE TABLE items (id INTEGER PRIMARY KEY, task_id INTEGER, target INTEGER, label_count INTEGER, active_leases INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE labels (id INTEGER PRIMARY KEY, task_id INTEGER, item_id INTEGER, user_id INTEGER)")
            .execute(&pool)
            .await
            .unwrap();
        for (id, target, count, leases) in items {
            sqlx::query("INSERT INTO items VALUES ($1, 1, $2, $3, $4)")
                .bind(id)
                .bind(target)
                .bind(count)
                .bind(leases)
                .execute(&pool)
                .await
                .unwrap();
        }
        for (id, item, user) in labels {
            sqlx::query("INSERT INTO labels VALUES ($1, 1, $2, $3)")
                .bind(id)
                .bind(item)
                .bind(user)
                .execute(&pool)
                .await
                .unwrap();
        }
        pool.close().await;
    }

    fn failed(checks: &[Check]) -> Vec<String> {
        checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.clone())
            .collect()
    }

    #[tokio::test]
    async fn the_database_checks_pass_on_a_sound_store_and_catch_each_breach() {
        let dir = std::env::temp_dir().join(format!(
            "quorum-bench-test-{}-{}",
            std::process::id(),
            random_hex(4).unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let labels = [(1, 10, 100), (2, 10, 101), (3, 11, 100)];
        let items = [(10, 2, 2, 0), (11, 2, 1, 1)];

        let sound = dir.join("sound.db");
        store(&sound, &labels, &items).await;
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
        let twice = dir.join("twice.db");
        let labels2 = [
            (1, 10, 100),
            (2, 10, 101),
            (3, 11, 100),
            (4, 11, 100),
            (5, 11, 102),
        ];
        store(&twice, &labels2, &[(10, 2, 2, 0), (11, 2, 3, 0)]).await;
        let checks = db_checks(&twice, 1, labels2.to_vec()).await.unwrap();
        assert_eq!(
            failed(&checks),
            ["no item over its target", "no rater twice on an item"]
        );

        // Counters out of step with the rows, and labels plus live leases over the target.
        let counters = dir.join("counters.db");
        store(&counters, &labels, &[(10, 2, 1, 0), (11, 2, 1, 2)]).await;
        let checks = db_checks(&counters, 1, labels.to_vec()).await.unwrap();
        assert_eq!(
            failed(&checks),
            [
                "no item over its target",
                "item label counters match the labels"
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
