//! The rater workload: each simulated rater leases shards and submits labels (with submission keys,
//! and replays of some) until the work is done or the time cap passes, recording latencies, errors
//! and any broken promise of the API. With several instances, each rater sends its requests round
//! the instances, starting at its own (`idx % N`), as a round-robin load balancer would: a shard
//! leased on one instance is labeled through the others, and a replay goes to another instance
//! than its first answer came from.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::json;

use crate::api::{Answer, Api};
use crate::data::{answer, mix};
use crate::report::histogram;

pub(crate) struct Rater {
    pub(crate) idx: u32,
    pub(crate) user_id: i64,
    pub(crate) token: String,
}

/// The open loop's schedule: label `i` is due at `start + i / rate`, whoever sends it.
pub(crate) struct Pacer {
    pub(crate) start: Instant,
    pub(crate) rate: f64,
    pub(crate) next: AtomicU64,
}

impl Pacer {
    /// The intended start of label `i`.
    fn at(&self, i: u64) -> Instant {
        self.start + Duration::from_secs_f64(i as f64 / self.rate)
    }

    pub(crate) fn new(rate: f64) -> Pacer {
        Pacer {
            start: Instant::now(),
            rate,
            next: AtomicU64::new(0),
        }
    }

    /// Takes the next slot and waits for its time; returns the slot's intended start, the
    /// instant latency is measured from (even when this rater comes to it late).
    async fn due(&self) -> Instant {
        let at = self.at(self.next.fetch_add(1, Ordering::Relaxed));
        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
        at
    }
}

pub(crate) struct Shared {
    pub(crate) api: Api,
    /// Open loop (`--rate`): the schedule every label follows. `None`: closed loop.
    pub(crate) pacer: Option<Pacer>,
    pub(crate) task: i64,
    pub(crate) think: Duration,
    pub(crate) deadline: Instant,
    pub(crate) retry_every: u64,
    pub(crate) target_labels: u64,
    pub(crate) created: AtomicU64,
}

impl Shared {
    pub(crate) fn done(&self) -> bool {
        self.created.load(Ordering::Relaxed) >= self.target_labels
    }
}

pub(crate) struct Outcome {
    pub(crate) lease: Histogram<u64>,
    pub(crate) submit: Histogram<u64>,
    pub(crate) lease_empty: u64,
    pub(crate) requests: u64,
    pub(crate) errors: BTreeMap<String, u64>,
    /// (label id, item id, user id) of every label answered 201.
    pub(crate) created: Vec<(i64, i64, i64)>,
    pub(crate) replays: u64,
    pub(crate) violations: Vec<String>,
}

impl Outcome {
    fn new() -> Outcome {
        Outcome {
            lease: histogram(),
            submit: histogram(),
            lease_empty: 0,
            requests: 0,
            errors: BTreeMap::new(),
            created: Vec::new(),
            replays: 0,
            violations: Vec::new(),
        }
    }

    fn error(&mut self, what: &str, a: Option<&Answer>) {
        let key = match a {
            Some(a) => {
                let code = a.error_code();
                if code.is_empty() {
                    format!("{what} {}", a.status.as_u16())
                } else {
                    format!("{what} {} {code}", a.status.as_u16())
                }
            }
            None => format!("{what} transport"),
        };
        *self.errors.entry(key).or_default() += 1;
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// Bounds on the loops of one rater.
const MAX_IDLE_POLLS: u32 = 15;
const MAX_CONSECUTIVE_ERRORS: u32 = 30;
const SUBMIT_ATTEMPTS: u32 = 3;

pub(crate) async fn rater_loop(sh: Arc<Shared>, r: Rater) -> Outcome {
    let mut out = Outcome::new();
    let mut labeled: HashSet<i64> = HashSet::new();
    let lease_path = format!("/api/v1/tasks/{}/shards", sh.task);
    let mut seq = 0u64;
    let mut idle = 0u32;
    let mut errors = 0u32;
    // Each pass leases a shard (progress), polls an empty pool (bounded by MAX_IDLE_POLLS) or
    // fails (bounded by MAX_CONSECUTIVE_ERRORS); the deadline bounds everything.
    // The instance of the next request: round the instances, from this rater's own.
    let at = |out: &Outcome| r.idx as usize + out.requests as usize;
    while Instant::now() < sh.deadline && !sh.done() {
        // Open loop: the lease is sent at the next label's slot, and the first label of the
        // shard follows it at once (its latency counted from the lease's answer).
        let t0 = match &sh.pacer {
            Some(p) => p.due().await,
            None => Instant::now(),
        };
        let res = sh
            .api
            .send(
                sh.api
                    .http
                    .post(sh.api.url_at(at(&out), &lease_path))
                    .bearer_auth(&r.token),
            )
            .await;
        out.requests += 1;
        let a = match res {
            Ok(a) => a,
            Err(_) => {
                out.error("lease", None);
                errors += 1;
                if errors > MAX_CONSECUTIVE_ERRORS {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        out.lease.saturating_record(micros(t0.elapsed()));
        match a.status.as_u16() {
            200 => {}
            204 => {
                out.lease_empty += 1;
                idle += 1;
                if idle > MAX_IDLE_POLLS {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            _ => {
                out.error("lease", Some(&a));
                errors += 1;
                if errors > MAX_CONSECUTIVE_ERRORS {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        }
        idle = 0;
        errors = 0;
        let shard = a.body["id"].as_i64().unwrap_or(0);
        let items: Vec<i64> = a.body["items"]
            .as_array()
            .map(|v| v.iter().filter_map(|i| i["id"].as_i64()).collect())
            .unwrap_or_default();
        if shard <= 0 || items.is_empty() {
            out.violations.push(format!(
                "rater {}: a 200 lease without a shard id or items: {}",
                r.idx, a.body
            ));
            break;
        }
        let submit_path = format!("/api/v1/shards/{shard}/labels");
        let mut first = true;
        for item in items {
            if Instant::now() >= sh.deadline {
                break;
            }
            let intended = match &sh.pacer {
                Some(p) if !first => Some(p.due().await),
                _ => None,
            };
            first = false;
            if labeled.contains(&item) {
                out.violations.push(format!(
                    "rater {} was leased item {item} again after labeling it",
                    r.idx
                ));
                continue;
            }
            if !sh.think.is_zero() {
                tokio::time::sleep(sh.think).await;
            }
            seq += 1;
            let body = json!({"item_id": item, "value": answer(item, r.idx),
                "duration_ms": 1000 + (mix(seq) % 4000), "submission_key": format!("bench-{}-{seq}", r.idx)});
            let mut answered = None;
            for attempt in 0..SUBMIT_ATTEMPTS {
                let t0 = match intended {
                    Some(at) if attempt == 0 => at,
                    _ => Instant::now(),
                };
                let i = at(&out);
                out.requests += 1;
                match sh.api.post_json_at(i, &r.token, &submit_path, &body).await {
                    Ok(a) => {
                        out.submit.saturating_record(micros(t0.elapsed()));
                        answered = Some(a);
                        break;
                    }
                    Err(_) => {
                        out.error("submit", None);
                        // A client retries a failed request with the same key.
                        tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
                    }
                }
            }
            let Some(a) = answered else { continue };
            match a.status.as_u16() {
                201 => {
                    let label = a.body["label_id"].as_i64().unwrap_or(0);
                    if label <= 0 || a.body["item_id"].as_i64() != Some(item) {
                        out.violations.push(format!(
                            "rater {}: a 201 without a label id for item {item}: {}",
                            r.idx, a.body
                        ));
                    }
                    out.created.push((label, item, r.user_id));
                    labeled.insert(item);
                    sh.created.fetch_add(1, Ordering::Relaxed);
                }
                200 => {
                    // "updated": this rater had labeled the item already in this shard.
                    out.violations.push(format!(
                        "rater {}: item {item} answered as a change of an earlier label: {}",
                        r.idx, a.body
                    ));
                }
                _ => {
                    out.error("submit", Some(&a));
                    continue;
                }
            }
            if sh.retry_every > 0 && seq.is_multiple_of(sh.retry_every) {
                // The same request again: the original answer, nothing new stored.
                let i = at(&out);
                out.requests += 1;
                match sh.api.post_json_at(i, &r.token, &submit_path, &body).await {
                    Ok(b) if b.status == a.status && b.body["label_id"] == a.body["label_id"] => {
                        out.replays += 1;
                    }
                    Ok(b) => out.violations.push(format!(
                        "rater {}: a retry with the same submission key got {} {} instead of {} {}",
                        r.idx, b.status, b.body, a.status, a.body
                    )),
                    Err(_) => out.error("replay", None),
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_fixed_by_the_rate_alone() {
        let p = Pacer::new(2000.0);
        assert_eq!(p.at(0), p.start);
        assert_eq!(p.at(1) - p.start, Duration::from_micros(500));
        assert_eq!(p.at(2000) - p.start, Duration::from_secs(1));
    }
}
