//! Group commit for label submissions (and new shard leases, which write the same rows).
//!
//! With `synchronous=FULL` every commit costs an fsync (about half a millisecond here), so one
//! transaction per label caps a server near 2,000 labels a second. Instead, submissions go to one
//! writer task that takes everything waiting (up to [`MAX_BATCH`]), runs them one after another in
//! a single `BEGIN IMMEDIATE` transaction, commits once, and only then answers every submission of
//! the batch. The promise stays: a 2xx means the label is committed. A refused submission writes
//! nothing and leaves the others alone; a database error or a failed commit answers every
//! submission of the batch with an error, so clients retry with the same keys.

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::clock::Clock;
use crate::db::Db;
use crate::db::tasks::Task;
use crate::domain::ids::{ShardId, UserId};
use crate::error::AppError;
use crate::labeling::submit::{Refusal, Submission, SubmitOutcome};

/// The most submissions committed together.
pub const MAX_BATCH: usize = 512;
/// How many submissions may wait for the writer before callers wait to enqueue.
const QUEUE: usize = 4096;

/// One submission, as the handler checked it.
pub struct Job {
    pub task: Task,
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
        job: LeaseJob,
        reply: oneshot::Sender<LeaseOutcome>,
    },
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
        tokio::spawn(writer(db, clock, rx));
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

    /// Leases a new shard and waits until the lease is committed.
    pub async fn lease(
        &self,
        task: Task,
        user: UserId,
        assigned_by: Option<UserId>,
    ) -> LeaseOutcome {
        let (reply, answer) = oneshot::channel();
        let job = LeaseJob {
            task,
            user,
            assigned_by,
        };
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
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(q) => batch.push(q),
                Err(_) => break,
            }
        }
        run_batch(&db, clock.now_ms(), batch).await;
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

async fn run_batch(db: &Db, now: i64, batch: Vec<Queued>) {
    let mut tx = match db.begin_write().await {
        Ok(tx) => tx,
        Err(e) => {
            for q in batch {
                q.fail(shared_error(&e));
            }
            return;
        }
    };
    let mut results: Vec<Done> = Vec::with_capacity(batch.len());
    // No savepoint per job: a refused submission returns before its first write (the only write
    // before a refusal is giving expired leases back, which is right to keep), so only a database
    // error can leave a job half done, and that ends the whole batch below.
    let mut broken: Option<AppError> = None;
    for q in &batch {
        match q {
            Queued::Submit { job: j, .. } => {
                let sub = Submission {
                    shard: j.shard,
                    item: j.item,
                    value: &j.value,
                    duration_ms: j.duration_ms,
                    key: &j.key,
                };
                match super::submit::submit_in(&mut tx, &j.task, j.user, &sub, now).await {
                    Ok(r) => results.push(Done::Submit(Ok(r))),
                    Err(e) => {
                        broken = Some(shared_error(&e));
                        break;
                    }
                }
            }
            Queued::Lease { job: j, .. } => {
                match super::lease::lease_in(&mut tx, &j.task, j.user, j.assigned_by, now).await {
                    Ok(r) => results.push(Done::Lease(Ok(r))),
                    Err(e) => {
                        broken = Some(e);
                        break;
                    }
                }
            }
        }
    }
    if let Some(e) = broken {
        // The transaction may hold half a job: nothing of this batch is kept.
        let _ = tx.rollback().await;
        tracing::error!(error = %e, "label batch failed");
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
    match tx.commit().await {
        Ok(()) => {
            for (q, done) in batch.into_iter().zip(results) {
                match (q, done) {
                    (Queued::Submit { reply, .. }, Done::Submit(r)) => {
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
