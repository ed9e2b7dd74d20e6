//! The set-based submission path of the group-commit writer.
//!
//! A batch's submissions are run in **rounds**. A round holds at most one submission per rater,
//! so each one's rules can be decided from one shared read ([`db::label_batch::probe`]) and their
//! writes merged into one statement per table. Two submissions of a round never touch the same
//! row but one: the counters of an item that several raters answered, which the round adds up
//! (each first answer on a live lease moves one lease to one label, so the sum the pool reads,
//! labels plus live leases, does not change, and neither does any other submission's rule). A
//! rater's second submission in the batch waits for the next round, which reads the rows the
//! earlier round wrote. The result is the same as running the batch's submissions one after
//! another in round order, which is a valid order: none of them has been answered yet.
//!
//! The common case, a first answer on a live lease, is decided and written here. Everything else
//! a submission may be (a changed answer, a late answer without a live lease, an answer after a
//! skip) is rarer and keeps its one implementation, `submit::submit_in`, run after the round's
//! writes; it sees them, and touches no row of another submission of the round.
//!
//! Statements per round, whatever its size: the probe; the item data for span and box tasks;
//! the latest predictions where a task pre-fills them; then labels, item counters, shard items,
//! lease extensions and the submissions ledger, one statement each; then settling per task
//! (`settle::settle_many`) and the gold check per gold answer (`gold::check_window`).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::db::label_batch::{self as lb, Answer, NewLabel, Probe, ProbeRow};
use crate::db::tasks::Task;
use crate::db::{self, Tx};
use crate::domain::ids::{ShardId, TaskId, UserId};
use crate::domain::states::{ShardItemState, TaskState};
use crate::labeling::submit::{self, Refusal, Submission, SubmitOutcome, SubmitStatus};

/// One submission as the writer holds it.
pub struct Pending<'a> {
    pub task: TaskId,
    pub user: UserId,
    pub sub: Submission<'a>,
}

type Answered = Result<SubmitOutcome, Refusal>;

/// Runs `jobs` inside the writer's transaction; returns one result per job, in order.
/// `tasks` holds every task the jobs name that exists (read in the same transaction).
pub async fn run(
    tx: &mut Tx,
    tasks: &HashMap<TaskId, Task>,
    jobs: &[Pending<'_>],
    show_predictions: &HashSet<TaskId>,
    now: i64,
) -> Result<Vec<Answered>, sqlx::Error> {
    let mut results: Vec<Option<Answered>> = (0..jobs.len()).map(|_| None).collect();
    let mut waiting: Vec<usize> = Vec::new();
    // Jobs whose task is gone are as missing as a shard that does not exist.
    for (n, j) in jobs.iter().enumerate() {
        if tasks.contains_key(&j.task) {
            waiting.push(n);
        } else {
            results[n] = Some(Err(Refusal::NotFound));
        }
    }
    while !waiting.is_empty() {
        let (round, later) = next_round(jobs, &waiting);
        waiting = later;
        let slow = run_round(tx, tasks, jobs, &round, show_predictions, now, &mut results).await?;
        for n in slow {
            let j = &jobs[n];
            let task = &tasks[&j.task];
            results[n] = Some(submit::submit_in(tx, task, j.user, &j.sub, now).await?);
        }
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or(Err(Refusal::NotFound)))
        .collect())
}

/// The next round: jobs in order, skipping any whose rater is already in it.
fn next_round(jobs: &[Pending<'_>], waiting: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut users = HashSet::new();
    let mut round = Vec::new();
    let mut later = Vec::new();
    for &n in waiting {
        if users.insert(jobs[n].user) {
            round.push(n);
        } else {
            later.push(n);
        }
    }
    (round, later)
}

/// A first answer on a live lease, decided and waiting for the round's writes.
struct Fast {
    n: usize,
    value_json: String,
    shard_expires_at: i64,
    label_count: i64,
    target: i64,
    gold: bool,
}

/// Decides and writes one round; returns the jobs left to `submit_in` (in order).
async fn run_round(
    tx: &mut Tx,
    tasks: &HashMap<TaskId, Task>,
    jobs: &[Pending<'_>],
    round: &[usize],
    show_predictions: &HashSet<TaskId>,
    now: i64,
    results: &mut [Option<Answered>],
) -> Result<Vec<usize>, sqlx::Error> {
    let probes: Vec<Probe<'_>> = round
        .iter()
        .map(|&n| Probe {
            n: n as i64,
            user: jobs[n].user,
            shard: jobs[n].sub.shard,
            item: jobs[n].sub.item,
            key: jobs[n].sub.key,
        })
        .collect();
    let with_data = round
        .iter()
        .any(|&n| crate::domain::kinds::needs_item(&tasks[&jobs[n].task].schema));
    let rows = lb::probe(tx, &probes, with_data).await?;
    let mut by_n: HashMap<usize, ProbeRow> = rows.into_iter().map(|r| (r.n as usize, r)).collect();
    let mut fast = Vec::new();
    let mut slow = Vec::new();
    for &n in round {
        let j = &jobs[n];
        let task = &tasks[&j.task];
        let Some(row) = by_n.remove(&n) else {
            results[n] = Some(Err(Refusal::NotFound));
            continue;
        };
        match decide(task, j, &row, now) {
            Step::Done(r) => results[n] = Some(r),
            Step::Slow => slow.push(n),
            Step::Fast(f) => fast.push(Fast { n, ..f }),
        }
    }
    write_fast(tx, tasks, jobs, &fast, show_predictions, now, results).await?;
    Ok(slow)
}

enum Step {
    Done(Answered),
    Slow,
    Fast(Fast),
}

/// The rules of `submit_in`, in its order, on the probed row: a replay, a refusal, the common
/// case, or `Slow` for the cases `submit_in` runs itself.
fn decide(task: &Task, j: &Pending<'_>, row: &ProbeRow, now: i64) -> Step {
    if let (Some(hash), Some(body)) = (&row.request_hash, &row.response_json) {
        let stored = db::labels::StoredAnswer {
            request_hash: hash.clone(),
            status: 0,
            response_json: body.clone(),
        };
        return Step::Done(submit::replay(stored, &j.sub));
    }
    let (Some(shard_user), Some(shard_task), Some(expires_at), Some(swept)) =
        (row.shard_user, row.shard_task, row.expires_at, row.swept)
    else {
        return Step::Done(Err(Refusal::NotFound));
    };
    if shard_user != j.user || shard_task != task.id {
        return Step::Done(Err(Refusal::NotFound));
    }
    let Some(si_state) = row.si_state else {
        return Step::Done(Err(Refusal::NotFound));
    };
    if task.state != TaskState::Active {
        return Step::Done(Err(Refusal::TaskNotActive));
    }
    let value = match task.schema.check_value(j.sub.value) {
        Ok(v) => v,
        Err(e) => return Step::Done(Err(Refusal::InvalidValue(e))),
    };
    let (Some(item_task), Some(label_count), Some(target)) =
        (row.item_task, row.label_count, row.target)
    else {
        return Step::Done(Err(Refusal::NotFound));
    };
    if item_task != task.id {
        return Step::Done(Err(Refusal::NotFound));
    }
    if crate::domain::kinds::needs_item(&task.schema) {
        let data: Value = row
            .data_json
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or(Value::Null);
        if let Err(e) = crate::domain::kinds::check_against_item(&task.schema, &value, &data) {
            return Step::Done(Err(Refusal::InvalidValue(e)));
        }
    }
    let live = swept == 0 && expires_at > now;
    if row.label_id.is_some() || si_state != ShardItemState::Leased || !live {
        return Step::Slow;
    }
    Step::Fast(Fast {
        n: 0,
        value_json: value.to_string(),
        shard_expires_at: expires_at,
        label_count,
        target,
        gold: row.gold != 0,
    })
}

/// Writes the round's first answers: one statement per table, then settling and the gold check.
async fn write_fast(
    tx: &mut Tx,
    tasks: &HashMap<TaskId, Task>,
    jobs: &[Pending<'_>],
    fast: &[Fast],
    show_predictions: &HashSet<TaskId>,
    now: i64,
    results: &mut [Option<Answered>],
) -> Result<(), sqlx::Error> {
    if fast.is_empty() {
        return Ok(());
    }
    // What the rater was shown, where the task pre-fills answers with a prediction.
    let shown_items: Vec<i64> = fast
        .iter()
        .filter(|f| show_predictions.contains(&jobs[f.n].task))
        .map(|f| jobs[f.n].sub.item)
        .collect();
    let mut shown: HashMap<i64, Value> = HashMap::new();
    for (item, v) in lb::latest_predictions(tx, &shown_items).await? {
        if let Ok(v) = serde_json::from_str(&v) {
            shown.entry(item).or_insert(v);
        }
    }
    let mut labels = Vec::with_capacity(fast.len());
    for f in fast {
        let j = &jobs[f.n];
        let task = &tasks[&j.task];
        // Recorded only where a prediction was shown (NULL otherwise, as `record_kept` does).
        let prediction_kept = shown
            .get(&j.sub.item)
            .map(|p| crate::sampling::service::kept(Some(p), &f.value_json));
        labels.push(NewLabel {
            task: task.id,
            item: j.sub.item,
            user: j.user,
            shard: j.sub.shard,
            value_json: f.value_json.clone(),
            duration_ms: j.sub.duration_ms.clamp(0, 86_400_000),
            instruction_version: task.instructions_version,
            prediction_kept,
        });
    }
    // Per item, how many of the round's labels it got (several raters may answer one item).
    let mut per_item: HashMap<i64, i64> = HashMap::new();
    for f in fast {
        *per_item.entry(jobs[f.n].sub.item).or_default() += 1;
    }
    let counts: Vec<(i64, i64)> = per_item.iter().map(|(i, n)| (*i, *n)).collect();
    lb::count_leased_labels(tx, &counts).await?;
    let pairs: Vec<(ShardId, i64)> = fast
        .iter()
        .map(|f| (jobs[f.n].sub.shard, jobs[f.n].sub.item))
        .collect();
    lb::mark_labeled(tx, &pairs).await?;
    let ids: HashMap<(i64, UserId), i64> = lb::insert_labels(tx, &labels, now)
        .await?
        .into_iter()
        .map(|(item, user, id)| ((item, user), id))
        .collect();
    // An active rater keeps the shard: the lease is pushed to a full term, at most once a minute.
    let mut extend: HashMap<i64, Vec<ShardId>> = HashMap::new();
    for f in fast {
        let j = &jobs[f.n];
        let lease_ms = tasks[&j.task].lease_minutes * 60_000;
        if f.shard_expires_at < now + lease_ms - 60_000 {
            extend.entry(now + lease_ms).or_default().push(j.sub.shard);
        }
    }
    for (until, shards) in &extend {
        lb::extend(tx, shards, *until).await?;
    }
    let mut answers = Vec::with_capacity(fast.len());
    for f in fast {
        let j = &jobs[f.n];
        let Some(&label_id) = ids.get(&(j.sub.item, j.user)) else {
            return Err(sqlx::Error::Protocol(format!(
                "label batch: no id came back for item {}",
                j.sub.item
            )));
        };
        let outcome = SubmitOutcome {
            item_id: j.sub.item,
            label_id,
            status: SubmitStatus::Created,
        };
        answers.push(Answer {
            user: j.user,
            key: j.sub.key,
            request_hash: submit::fingerprint(&j.sub),
            status: i64::from(outcome.http_status()),
            response_json: serde_json::to_string(&outcome).unwrap_or_default(),
        });
        results[f.n] = Some(Ok(outcome));
    }
    lb::store_answers(tx, &answers, now).await?;
    // Only the label that completes an item can change its resolution.
    let mut complete: HashMap<TaskId, Vec<i64>> = HashMap::new();
    for f in fast {
        let j = &jobs[f.n];
        let added = per_item.get(&j.sub.item).copied().unwrap_or(1);
        if f.label_count + added >= f.target && per_item.remove(&j.sub.item).is_some() {
            complete.entry(j.task).or_default().push(j.sub.item);
        }
    }
    for (task, items) in &complete {
        super::settle::settle_many(tx, &tasks[task], items, now).await?;
    }
    for f in fast.iter().filter(|f| f.gold) {
        let j = &jobs[f.n];
        super::gold::check_window(tx, &tasks[&j.task], j.user, now).await?;
    }
    Ok(())
}
