//! Group commit for label submissions (and new shard leases, which write the same rows).
//!
//! With `synchronous=FULL` every commit costs an fsync (about half a millisecond here), so one
//! transaction per label caps a server near 2,000 labels a second. Instead, submissions go to one
//! writer task that takes everything waiting (up to [`MAX_BATCH`]), runs them one after another in
//! a single `BEGIN IMMEDIATE` transaction, commits once, and only then answers every submission of
//! the batch. The promise stays: a 2xx means the label is committed. A refused submission writes
//! nothing and leaves the others alone; a database error or a failed commit answers every
//! submission of the batch with an error, so clients retry with the same keys.

use std::collections::HashMap;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;
use crate::db::tasks::Task;
use crate::db::{self, Db, Tx};
use crate::domain::ids::{ShardId, TaskId, UserId};
use crate::error::AppError;
use crate::labeling::batch::Pending;
use crate::labeling::submit::{Refusal, Submission, SubmitOutcome, SubmitStatus};

/// The most submissions committed together.
pub const MAX_BATCH: usize = 512;
/// How many submissions may wait for the writer before callers wait to enqueue.
const QUEUE: usize = 4096;

/// One submission, as the handler checked it: the shard is the rater's, in `task` (the writer
/// reads the task itself, in the batch's transaction, so a task closed meanwhile is seen).
pub struct Job {
    pub task: TaskId,
    pub user: UserId,
    pub shard: ShardId,
    pub item: i64,
    pub value: Value,
    pub duration_ms: i64,
    pub key: String,
}

type Outcome = Result<Result<SubmitOutcome, Refusal>, AppError>;
type LeaseOutcome = Result<Option<ShardId>, AppError>;

/// A new lease, asked for by a rater (or assigned by an admin).
pub struct LeaseJob {
    pub task: Task,
    pub user: UserId,
    pub assigned_by: Option<UserId>,
}

enum Queued {
    Submit {
        job: Job,
        reply: oneshot::Sender<Outcome>,
    },
    Lease {
        job: Box<LeaseJob>,
        reply: oneshot::Sender<LeaseOutcome>,
    },
    /// Answered once everything queued before it has been committed (for a graceful shutdown).
    Flush(oneshot::Sender<()>),
    /// An API token was used: its `last_used_at` is written with the next batch (no caller
    /// waits for it, and it takes no write lock of its own).
    TouchToken(i64),
}

impl Queued {
    fn fail(self, e: AppError) {
        match self {
            Queued::Submit { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Queued::Lease { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Queued::Flush(reply) => {
                let _ = reply.send(());
            }
            Queued::TouchToken(_) => {}
        }
    }
}

/// What one queued piece of work came to, sent once the batch is committed.
enum Done {
    Submit(Outcome),
    Lease(LeaseOutcome),
}

/// The handle handlers use to submit; cheap to clone.
#[derive(Clone)]
pub struct Submitter {
    queue: mpsc::Sender<Queued>,
}

impl Submitter {
    /// Starts the writer task.
    pub fn start(db: Db, clock: Clock) -> Submitter {
        let (queue, rx) = mpsc::channel(QUEUE);
        tokio::spawn(writer(db.dedicated_writer(), clock, rx));
        Submitter { queue }
    }

    /// Submits a label and waits until its batch is committed (or refused).
    pub async fn submit(&self, job: Job) -> Outcome {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Queued::Submit { job, reply })
            .await
            .map_err(|_| AppError::internal("the label writer has stopped"))?;
        answer
            .await
            .map_err(|_| AppError::internal("the label writer dropped a submission"))?
    }

    /// Records that an API token was used, with the next batch; never waits (when the queue is
    /// full the use is simply recorded at a later request).
    pub fn touch_token(&self, token_id: i64) {
        let _ = self.queue.try_send(Queued::TouchToken(token_id));
    }

    /// Waits until every submission and lease queued so far has been committed or answered.
    pub async fn flush(&self) {
        let (reply, done) = oneshot::channel();
        if self.queue.send(Queued::Flush(reply)).await.is_ok() {
            let _ = done.await;
        }
    }

    /// Leases a new shard and waits until the lease is committed.
    pub async fn lease(
        &self,
        task: Task,
        user: UserId,
        assigned_by: Option<UserId>,
    ) -> LeaseOutcome {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(LeaseJob {
            task,
            user,
            assigned_by,
        });
        self.queue
            .send(Queued::Lease { job, reply })
            .await
            .map_err(|_| AppError::internal("the label writer has stopped"))?;
        answer
            .await
            .map_err(|_| AppError::internal("the label writer dropped a lease"))?
    }
}

async fn writer(db: Db, clock: Clock, mut rx: mpsc::Receiver<Queued>) {
    while let Some(first) = rx.recv().await {
        let mut batch = Vec::with_capacity(64);
        let mut flushes = Vec::new();
        let mut touches: Vec<i64> = Vec::new();
        let mut next = Some(first);
        while let Some(q) = next.take() {
            match q {
                Queued::Flush(reply) => flushes.push(reply),
                Queued::TouchToken(id) => {
                    if !touches.contains(&id) {
                        touches.push(id);
                    }
                }
                q => batch.push(q),
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        metrics::gauge!("quorum_writer_queue_depth").set(rx.len() as f64);
        if !batch.is_empty() || !touches.is_empty() {
            // A batch of token uses alone is not a batch of labeling work.
            if !batch.is_empty() {
                metrics::histogram!("quorum_writer_batch_size").record(batch.len() as f64);
            }
            let started = std::time::Instant::now();
            run_batch(&db, clock.now_ms(), batch, &touches).await;
            metrics::histogram!("quorum_writer_commit_seconds")
                .record(started.elapsed().as_secs_f64());
        }
        // Everything queued before a flush marker was in this batch or an earlier one.
        for reply in flushes {
            let _ = reply.send(());
        }
    }
}

/// The same mapping as `From<sqlx::Error>`, for an error that must answer many callers.
fn shared_error(e: &sqlx::Error) -> AppError {
    if let sqlx::Error::Database(d) = e
        && matches!(d.code().as_deref(), Some("13") | Some("53100"))
    {
        return AppError::StorageFull;
    }
    AppError::Internal(format!("label batch: {e}"))
}

async fn run_batch(db: &Db, now: i64, batch: Vec<Queued>, touches: &[i64]) {
    let started = std::time::Instant::now();
    let tx = db.begin_write().await;
    metrics::histogram!("quorum_writer_phase_seconds", "phase" => "begin")
        .record(started.elapsed().as_secs_f64());
    let mut tx = match tx {
        Ok(tx) => tx,
        Err(e) => {
            for q in batch {
                q.fail(shared_error(&e));
            }
            return;
        }
    };
    // No savepoint per job: a refused submission returns before its first write (the only write
    // before a refusal is giving expired leases back, which is right to keep), so only a database
    // error can leave a job half done, and that ends the whole batch below.
    let results = match touch_and_run(&mut tx, &batch, touches, now).await {
        Ok(results) => results,
        Err(e) => {
            // The transaction may hold half a job: nothing of this batch is kept.
            let _ = tx.rollback().await;
            tracing::error!(error = ?e, "label batch failed");
            let message = e.to_string();
            let full = matches!(e, AppError::StorageFull);
            for q in batch {
                q.fail(if full {
                    AppError::StorageFull
                } else {
                    AppError::Internal(format!("label batch: {message}"))
                });
            }
            return;
        }
    };
    let started = std::time::Instant::now();
    let committed = tx.commit().await;
    metrics::histogram!("quorum_writer_phase_seconds", "phase" => "commit")
        .record(started.elapsed().as_secs_f64());
    match committed {
        Ok(()) => {
            for (q, done) in batch.into_iter().zip(results) {
                match (q, done) {
                    (Queued::Submit { reply, .. }, Done::Submit(r)) => {
                        if let Ok(Ok(o)) = &r {
                            let status = match o.status {
                                SubmitStatus::Created => "created",
                                SubmitStatus::Updated => "updated",
                            };
                            metrics::counter!("quorum_labels_submitted_total", "status" => status)
                                .increment(1);
                        }
                        let _ = reply.send(r);
                    }
                    (Queued::Lease { reply, .. }, Done::Lease(r)) => {
                        let _ = reply.send(r);
                    }
                    (q, _) => q.fail(AppError::internal("label batch: results out of order")),
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "label batch commit failed");
            for q in batch {
                q.fail(shared_error(&e));
            }
        }
    }
}

/// Records the batch's token uses, then runs its jobs.
async fn touch_and_run(
    tx: &mut Tx,
    batch: &[Queued],
    touches: &[i64],
    now: i64,
) -> Result<Vec<Done>, AppError> {
    db::tokens::touch_many(&mut **tx, touches, now).await?;
    run_jobs(tx, batch, now).await
}

/// Runs a batch inside its transaction and returns one result per queued job, in order.
///
/// Leases first, one after another (each picks items against the counters the one before it
/// wrote); then every submission, set-based (`batch::run`). Running the batch's leases before its
/// submissions is one of the orders its jobs could have arrived in: none has been answered yet.
async fn run_jobs(tx: &mut Tx, batch: &[Queued], now: i64) -> Result<Vec<Done>, AppError> {
    let mut done: Vec<Option<Done>> = (0..batch.len()).map(|_| None).collect();
    let started = std::time::Instant::now();
    let mut swept = false;
    for (n, q) in batch.iter().enumerate() {
        if let Queued::Lease { job: j, .. } = q {
            // Expired leases go back once per batch: every lease after the first sees the same
            // clock, so a second sweep would find nothing.
            if !swept {
                db::shards::sweep_expired(tx, now).await?;
                swept = true;
            }
            let r = super::lease::lease_in(tx, &j.task, j.user, j.assigned_by, now).await?;
            done[n] = Some(Done::Lease(Ok(r)));
        }
    }
    metrics::histogram!("quorum_writer_phase_seconds", "phase" => "leases")
        .record(started.elapsed().as_secs_f64());
    let started = std::time::Instant::now();
    let mut pending = Vec::new();
    let mut at = Vec::new();
    let mut task_ids = Vec::new();
    for (n, q) in batch.iter().enumerate() {
        if let Queued::Submit { job: j, .. } = q {
            pending.push(Pending {
                task: j.task,
                user: j.user,
                sub: Submission {
                    shard: j.shard,
                    item: j.item,
                    value: &j.value,
                    duration_ms: j.duration_ms,
                    key: &j.key,
                },
            });
            at.push(n);
            if !task_ids.contains(&j.task) {
                task_ids.push(j.task);
            }
        }
    }
    if !pending.is_empty() {
        let tasks: HashMap<TaskId, Task> = db::tasks::get_many(&mut **tx, &task_ids)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
        let show = db::sampling::showing_predictions(&mut **tx, &task_ids).await?;
        let answers = super::batch::run(tx, &tasks, &pending, &show, now)
            .await
            .map_err(|e| shared_error(&e))?;
        for (n, r) in at.into_iter().zip(answers) {
            done[n] = Some(Done::Submit(Ok(r)));
        }
    }
    metrics::histogram!("quorum_writer_phase_seconds", "phase" => "submissions")
        .record(started.elapsed().as_secs_f64());
    done.into_iter()
        .map(|d| d.ok_or_else(|| AppError::internal("label batch: a job was not run")))
        .collect()
}
