//! The command line: [`Args`] with its checks, and [`check_loopback`], which keeps every request
//! this benchmark sends on this machine.

use std::path::PathBuf;

use clap::Parser;

#[derive(Parser, Debug, Clone)]
#[command(
    name = "quorum-bench",
    about = "End-to-end load benchmark for a Quorum server (loopback HTTP only)"
)]
pub(crate) struct Args {
    /// Start `quorum serve` on a temporary data directory and stop it at the end.
    #[arg(long)]
    pub(crate) spawn: bool,
    /// Start this many `quorum serve` processes on one database (each with its own data
    /// directory); above 1 it needs `--database postgres://…`. Implies --spawn.
    #[arg(long)]
    pub(crate) spawn_instances: Option<u32>,
    /// The database URL: with --spawn, the servers' `QUORUM_DATABASE_URL` (an empty database,
    /// e.g. one made for the run); with --url, where the invariant checks read (instead of --db).
    #[arg(long, hide_env_values = true)]
    pub(crate) database: Option<String>,
    /// The quorum binary to start with --spawn (default: `quorum` next to this program).
    #[arg(long)]
    pub(crate) server: Option<PathBuf>,
    /// The server to drive when not spawning, e.g. http://127.0.0.1:8080 (loopback only).
    /// Repeat it for several instances of one deployment: rater r starts on instance r % N and
    /// sends each next request to the next instance.
    #[arg(long)]
    pub(crate) url: Vec<String>,
    /// An admin API token for --url (e.g. from `quorum token create --username admin`).
    #[arg(long, env = "QUORUM_BENCH_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
    /// The server's SQLite file, for the invariant checks when not spawning (opened read-only).
    #[arg(long)]
    pub(crate) db: Option<PathBuf>,
    /// With --spawn: put the data directory here (must not exist yet) instead of a temporary one.
    #[arg(long)]
    pub(crate) data_dir: Option<PathBuf>,
    /// Keep the temporary directory (database and server log) afterwards.
    #[arg(long)]
    pub(crate) keep: bool,
    /// Items to import.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) items: u64,
    /// Concurrent simulated raters.
    #[arg(long, default_value_t = 256)]
    pub(crate) raters: u32,
    /// Labels per item (the task's overlap k).
    #[arg(long, default_value_t = 3)]
    pub(crate) overlap: u32,
    /// Items per shard.
    #[arg(long, default_value_t = 20)]
    pub(crate) shard_size: u32,
    /// Lease duration in minutes.
    #[arg(long, default_value_t = 30)]
    pub(crate) lease_minutes: u32,
    /// Think time before each submission, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub(crate) think_ms: u64,
    /// Stop labeling after this many seconds even when items still need labels.
    #[arg(long, default_value_t = 600)]
    pub(crate) time_cap: u64,
    /// Resend every Nth submission with the same key, to check idempotent replays (0: never).
    #[arg(long, default_value_t = 100)]
    pub(crate) retry_every: u64,
    /// Export formats to request after labeling, comma separated.
    #[arg(long, default_value = "jsonl")]
    pub(crate) export_formats: String,
    /// Export every item, resolved or not (`"only_resolved": false`), e.g. to time the encoders
    /// over all N items when labeling stopped at the time cap.
    #[arg(long)]
    pub(crate) export_all: bool,
    /// The task-wide resolution route to call after labeling ({id} is the task id); skipped when
    /// the server answers 404 or 405.
    #[arg(long, default_value = "/api/v1/tasks/{id}/resolve")]
    pub(crate) resolve_path: String,
    /// Fail (exit 1) when labeling did not give every item its k labels.
    #[arg(long)]
    pub(crate) require_complete: bool,
    /// Write the report as JSON to this file.
    #[arg(long)]
    pub(crate) json: Option<PathBuf>,
    /// Open loop: submit labels at this fixed arrival rate (labels per second, all raters
    /// together) instead of as fast as the server answers. Each label has an intended start on a
    /// fixed schedule and its latency is measured from that start, so a slow server shows as
    /// latency rather than as fewer requests (coordinated omission corrected, as wrk2 does).
    #[arg(long)]
    pub(crate) rate: Option<f64>,
    /// Requests in flight while setting up raters.
    #[arg(long, default_value_t = 16)]
    pub(crate) setup_concurrency: usize,
}

impl Args {
    pub(crate) fn check(&self) -> Result<(), String> {
        if !(1..=50_000_000).contains(&self.items) {
            return Err("--items: 1 to 50,000,000".into());
        }
        if !(1..=10_000).contains(&self.raters) {
            return Err("--raters: 1 to 10,000".into());
        }
        if !(1..=50).contains(&self.overlap) {
            return Err("--overlap: 1 to 50".into());
        }
        if self.overlap > self.raters {
            return Err("--overlap cannot exceed --raters: no item could be completed".into());
        }
        if !(1..=500).contains(&self.shard_size) {
            return Err("--shard-size: 1 to 500".into());
        }
        if !(1..=1440).contains(&self.lease_minutes) {
            return Err("--lease-minutes: 1 to 1440".into());
        }
        if !(1..=86_400).contains(&self.time_cap) {
            return Err("--time-cap: 1 to 86,400 seconds".into());
        }
        if self.think_ms > 600_000 {
            return Err("--think-ms: at most 600,000".into());
        }
        if let Some(rate) = self.rate {
            if !(rate.is_finite() && (0.1..=1_000_000.0).contains(&rate)) {
                return Err("--rate: 0.1 to 1,000,000 labels per second".into());
            }
            if self.think_ms > 0 {
                return Err("--rate sets the pace; leave --think-ms at 0".into());
            }
        }
        if !(1..=256).contains(&self.setup_concurrency) {
            return Err("--setup-concurrency: 1 to 256".into());
        }
        if let Some(n) = self.spawn_instances
            && !(1..=16).contains(&n)
        {
            return Err("--spawn-instances: 1 to 16".into());
        }
        if let Some(db) = &self.database {
            match quorum::db::Backend::of_url(db) {
                None => {
                    return Err(
                        "--database: sqlite://FILE or postgres://USER:PASSWORD@HOST/DB".into(),
                    );
                }
                Some(quorum::db::Backend::Sqlite) if self.instances() > 1 => {
                    return Err(
                        "--spawn-instances above 1 needs --database postgres://… (SQLite serves one process)"
                            .into(),
                    );
                }
                Some(_) => {}
            }
            if self.db.is_some() {
                return Err("give --db PATH or --database URL, not both".into());
            }
        } else if self.instances() > 1 {
            return Err("--spawn-instances above 1 needs --database postgres://…".into());
        }
        if self.spawning() {
            if !self.url.is_empty() {
                return Err("--url drives running servers; leave it out with --spawn".into());
            }
        } else {
            if self.url.is_empty() {
                return Err(
                    "give --spawn (or --spawn-instances N), or --url and --token of a running server"
                        .into(),
                );
            }
            for url in &self.url {
                check_loopback(url)?;
            }
            if self.token.as_deref().unwrap_or("").is_empty() {
                return Err("--url needs --token (an admin API token)".into());
            }
        }
        for f in self.formats() {
            if !f
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(format!("--export-formats: bad format name {f:?}"));
            }
        }
        if !self.resolve_path.starts_with('/') {
            return Err("--resolve-path must start with /".into());
        }
        Ok(())
    }

    /// True when this program starts the servers itself.
    pub(crate) fn spawning(&self) -> bool {
        self.spawn || self.spawn_instances.is_some()
    }

    /// How many servers to start (spawning) or drive (--url).
    pub(crate) fn instances(&self) -> u32 {
        if self.spawning() {
            self.spawn_instances.unwrap_or(1)
        } else {
            u32::try_from(self.url.len()).unwrap_or(u32::MAX)
        }
    }

    pub(crate) fn formats(&self) -> Vec<String> {
        self.export_formats
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// The benchmark sends traffic to this machine only.
pub(crate) fn check_loopback(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("--url: an http:// URL on loopback (127.0.0.1, localhost or [::1])")?;
    let host = rest.split('/').next().unwrap_or("");
    let host = if let Some(h) = host.strip_prefix('[') {
        h.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    let ok = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "--url: {host:?} is not a loopback address; this benchmark drives local servers only"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &[&str]) -> Result<Args, String> {
        let args =
            Args::try_parse_from(std::iter::once("quorum-bench").chain(line.iter().copied()))
                .map_err(|e| e.to_string())?;
        args.check().map(|()| args)
    }

    #[test]
    fn instances_come_from_spawn_or_repeated_urls() {
        assert_eq!(parse(&["--spawn"]).unwrap().instances(), 1);
        let pg = "postgres://u:p@127.0.0.1/db";
        let a = parse(&["--spawn-instances", "3", "--database", pg]).unwrap();
        assert!(a.spawning());
        assert_eq!(a.instances(), 3);
        let a = parse(&[
            "--url",
            "http://127.0.0.1:1",
            "--url",
            "http://127.0.0.1:2",
            "--token",
            "t",
            "--database",
            pg,
        ])
        .unwrap();
        assert_eq!(a.instances(), 2);
        for bad in [
            &["--spawn-instances", "3"][..],
            &["--spawn-instances", "2", "--database", "sqlite:///tmp/x.db"],
            &["--spawn-instances", "0", "--database", pg],
            &["--spawn", "--database", "mysql://x"],
            &["--spawn", "--url", "http://127.0.0.1:1"],
            &[
                "--url",
                "http://127.0.0.1:1",
                "--url",
                "http://10.0.0.1:2",
                "--token",
                "t",
            ],
            &[
                "--url",
                "http://127.0.0.1:1",
                "--token",
                "t",
                "--db",
                "x.db",
                "--database",
                pg,
            ],
            &[],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_loopback_urls_are_driven() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/x",
            "http://localhost:1",
            "http://[::1]:9000/",
            "http://127.9.9.9",
        ] {
            assert!(check_loopback(ok).is_ok(), "{ok}");
        }
        for bad in [
            "https://127.0.0.1",
            "http://10.0.0.1:8080",
            "http://192.168.1.2",
            "http://example.com",
            "http://localhost.example.com",
            "127.0.0.1:8080",
            "",
        ] {
            assert!(check_loopback(bad).is_err(), "{bad}");
        }
    }
}
