//! [`map`]: independent jobs (the fits `Auto` compares) spread over the machine's cores, with
//! results that do not depend on how many cores there are or which thread ran what.
//!
//! Each job's result is stored at its own index and callers combine them in index order, so the
//! output is bit-identical to running the jobs one after another. Plain scoped threads and an
//! atomic job counter (no thread pool to keep alive, no new dependency).

use std::sync::atomic::{AtomicUsize, Ordering};

/// At most this many threads, whatever the machine has.
const MAX_THREADS: usize = 8;

/// `(0..n).map(job).collect()`, with the jobs run on up to `available_parallelism` threads (the
/// caller's included). Jobs are handed out in index order, so put the longest first.
pub(super) fn map<T: Send>(n: usize, job: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .min(MAX_THREADS)
        .min(n);
    if threads <= 1 {
        return (0..n).map(job).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let j = next.fetch_add(1, Ordering::Relaxed);
            if j >= n {
                return done;
            }
            done.push((j, job(j)));
        }
    };
    let mut slots: Vec<Option<T>> = (0..n).map(|_| None).collect();
    std::thread::scope(|scope| {
        // A helper the OS refuses to start just means fewer threads: the caller works too.
        let helpers: Vec<_> = (1..threads)
            .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
            .collect();
        let mut finished = vec![work()];
        finished.extend(helpers.into_iter().filter_map(|h| h.join().ok()));
        for (j, value) in finished.into_iter().flatten() {
            slots[j] = Some(value);
        }
    });
    // Only a job whose thread died is missing; run it here (it fails the same way, if it must).
    slots
        .into_iter()
        .enumerate()
        .map(|(j, slot)| slot.unwrap_or_else(|| job(j)))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_come_back_in_job_order() {
        let squares = super::map(100, |j| j * j);
        assert_eq!(squares, (0..100).map(|j| j * j).collect::<Vec<_>>());
        assert!(super::map(0, |j| j).is_empty());
        assert_eq!(super::map(1, |j| j + 1), [1]);
    }
}
