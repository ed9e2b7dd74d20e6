//! What /proc tells about a process and the machine: CPU seconds, resident set size (peak, and
//! sampled while the servers run), cores, CPU model and memory, and the CPU of the PostgreSQL
//! backends serving one database.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

/// Linux reports process times in USER_HZ ticks, 100 per second on every mainstream architecture.
const CLOCK_TICKS: f64 = 100.0;

pub(crate) fn proc_status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// utime + stime of a process, in seconds.
pub(crate) fn proc_cpu_s(pid: &str) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / CLOCK_TICKS)
}

/// The CPU seconds of several processes together (those gone count nothing).
pub(crate) fn cpu_sum(pids: &[u32]) -> f64 {
    pids.iter().filter_map(|p| proc_cpu_s(&p.to_string())).sum()
}

/// The role and database a PostgreSQL URL names: `postgres://USER[:PW]@HOST[:PORT]/DB[?…]`.
pub(crate) fn pg_user_and_db(url: &str) -> Option<(String, String)> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let rest = rest.split('?').next().unwrap_or("");
    let (authority, db) = rest.rsplit_once('/')?;
    let userinfo = authority.rsplit_once('@')?.0;
    let user = userinfo.split(':').next().unwrap_or("");
    if user.is_empty() || db.is_empty() {
        return None;
    }
    Some((user.to_string(), db.to_string()))
}

/// The CPU seconds of every PostgreSQL backend process serving `db` as `user`, by pid. A
/// backend's title is `postgres: [CLUSTER: ]USER DB HOST(PORT) STATE` (`/proc/PID/cmdline`).
pub(crate) fn pg_backends_cpu(user: &str, db: &str) -> HashMap<u32, f64> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let title = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let Some(rest) = title.strip_prefix("postgres: ") else {
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        if words.windows(2).any(|w| w[0] == user && w[1] == db)
            && let Some(cpu) = proc_cpu_s(&pid.to_string())
        {
            out.insert(pid, cpu);
        }
    }
    out
}

/// The CPU the backends of `before`'s database used since it was taken: backends started since
/// count from zero; backends that exited in between are lost (the servers' pools keep theirs).
pub(crate) fn pg_cpu_since(user: &str, db: &str, before: &HashMap<u32, f64>) -> f64 {
    pg_backends_cpu(user, db)
        .iter()
        .map(|(pid, now)| (now - before.get(pid).copied().unwrap_or(0.0)).max(0.0))
        .sum()
}

pub(crate) fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let mem_kb = std::fs::read_to_string("/proc/meminfo").ok().and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    });
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    json!({"cores": cores, "cpu": cpu, "memory_gib": mem_kb.map(|k| (k as f64 / 1048576.0 * 10.0).round() / 10.0)})
}

/// Samples the servers' resident set size, summed over them, while they run.
pub(crate) struct RssSampler {
    pub(crate) peak_kb: Arc<AtomicU64>,
    pub(crate) stop: Arc<AtomicBool>,
}

impl RssSampler {
    pub(crate) fn start(pids: Vec<u32>) -> RssSampler {
        let peak_kb = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (peak_kb.clone(), stop.clone());
        tokio::spawn(async move {
            // Bounded: stops with the flag, or when every process is gone.
            while !s.load(Ordering::Relaxed) {
                let rss: Vec<u64> = pids
                    .iter()
                    .filter_map(|&pid| proc_status_kb(pid, "VmRSS:"))
                    .collect();
                if rss.is_empty() {
                    break;
                }
                p.fetch_max(rss.iter().sum(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        RssSampler { peak_kb, stop }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_times_are_read_from_proc() {
        assert!(proc_cpu_s("self").is_some());
        assert!(proc_status_kb(std::process::id(), "VmHWM:").is_some_and(|kb| kb > 0));
        assert!(proc_cpu_s("0").is_none());
        let me = std::process::id();
        assert!(cpu_sum(&[me, me]) >= proc_cpu_s("self").unwrap());
        assert_eq!(cpu_sum(&[0]), 0.0);
    }

    #[test]
    fn postgres_urls_name_their_role_and_database() {
        assert_eq!(
            pg_user_and_db("postgres://quorum_ci:pw@127.0.0.1:5432/bench1?sslmode=disable"),
            Some(("quorum_ci".into(), "bench1".into()))
        );
        assert_eq!(
            pg_user_and_db("postgresql://u@localhost/d"),
            Some(("u".into(), "d".into()))
        );
        assert_eq!(pg_user_and_db("postgres://localhost/d"), None);
        assert_eq!(pg_user_and_db("sqlite:///tmp/x.db"), None);
        assert!(pg_backends_cpu("nobody-here", "no-such-db").is_empty());
    }
}
