//! The database commands of the command line: `quorum migrate` and `quorum copy`.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::db::{Backend, Db, redact_url};

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// Change nothing: exit with an error unless the schema is exactly this binary's (no pending
    /// migration, none unknown or changed). Run before starting an instance to refuse an
    /// unexpected schema.
    #[arg(long)]
    pub check: bool,
}

#[derive(Args, Debug)]
pub struct CopyArgs {
    /// The database to copy from (default: the one --data-dir / --database name).
    #[arg(long)]
    pub from: Option<String>,
    /// The new, empty database to copy into, e.g. postgres://quorum:…@db.internal/quorum.
    #[arg(long)]
    pub to: String,
    /// The target's data directory (default: the directory of a sqlite:// target's file, or a
    /// scratch directory for PostgreSQL, whose snapshots live in the database).
    #[arg(long)]
    pub to_data_dir: Option<PathBuf>,
}

/// `quorum migrate [--check]`.
pub async fn migrate(url: &str, args: MigrateArgs) -> Result<(), String> {
    let db = Db::connect(url).await.map_err(|e| e.to_string())?;
    let status = db.schema_status().await.map_err(|e| e.to_string())?;
    if !status.unexpected.is_empty() {
        return Err(format!(
            "unexpected schema in {}: {}",
            redact_url(url),
            status.unexpected.join("; ")
        ));
    }
    if args.check {
        if status.pending.is_empty() {
            println!("schema is current ({} database)", db.backend.name());
            return Ok(());
        }
        let pending: Vec<String> = status
            .pending
            .iter()
            .map(|(v, d)| format!("{v} {d}"))
            .collect();
        return Err(format!(
            "{} migration(s) not applied: {} (run `quorum migrate`)",
            pending.len(),
            pending.join(", ")
        ));
    }
    let n = status.pending.len();
    db.migrate().await.map_err(|e| e.to_string())?;
    println!(
        "applied {n} migration(s); schema is current ({} database)",
        db.backend.name()
    );
    Ok(())
}

/// `quorum copy --to URL`.
pub async fn copy(from_url: &str, from_dir: &Path, args: CopyArgs) -> Result<(), String> {
    let from_url = args.from.clone().unwrap_or_else(|| from_url.to_string());
    if from_url == args.to {
        return Err("--from and --to name the same database".into());
    }
    let to_backend = Backend::of_url(&args.to).ok_or_else(|| {
        format!(
            "unsupported --to {}: use sqlite://FILE or postgres://…",
            redact_url(&args.to)
        )
    })?;
    let scratch;
    let to_dir: PathBuf = match (&args.to_data_dir, to_backend) {
        (Some(d), _) => d.clone(),
        (None, Backend::Sqlite) => sqlite_dir(&args.to),
        (None, Backend::Postgres) => {
            scratch = tempfile_dir()?;
            scratch.clone()
        }
    };
    std::fs::create_dir_all(&to_dir)
        .map_err(|e| format!("cannot create {}: {e}", to_dir.display()))?;
    let from = Db::open(&from_url)
        .await
        .map_err(|e| format!("source: {e}"))?;
    let to = Db::open(&args.to)
        .await
        .map_err(|e| format!("target: {e}"))?;
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} copying {bar:40} {pos}/{len} rows ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let ends = crate::copy::Ends {
        from: &from,
        from_dir,
        to: &to,
        to_dir: &to_dir,
    };
    let result = crate::copy::run(&ends, &|p| match p {
        crate::copy::Progress::Total(n) => bar.set_length(u64::try_from(n).unwrap_or(0)),
        crate::copy::Progress::Rows(n) => bar.inc(n),
    })
    .await;
    bar.finish_and_clear();
    if to_backend == Backend::Postgres && args.to_data_dir.is_none() {
        let _ = std::fs::remove_dir_all(&to_dir);
    }
    let s = result?;
    for (t, n) in &s.tables {
        println!("  {t:<22} {n:>10} rows");
    }
    println!(
        "copied {} rows in {} tables and {} snapshot files from {} to {} in {:.1} s; counts and checksums verified",
        s.rows,
        s.tables.len(),
        s.files,
        redact_url(&from_url),
        redact_url(&args.to),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The directory of a `sqlite://PATH` URL's file.
fn sqlite_dir(url: &str) -> PathBuf {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn tempfile_dir() -> Result<PathBuf, String> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| e.to_string())?;
    let dir = std::env::temp_dir().join(format!("quorum-copy-{}", hex::encode(random)));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}
