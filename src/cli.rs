//! The command line: `quorum serve`, `quorum user …`, `quorum token …`, `quorum backup`/`restore`.
//!
//! Every command that touches the store takes the same `--data-dir` / `--database` options,
//! anywhere on the command line.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::auth::password::Hasher;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{self, Db};
use crate::domain::role::Role;
use crate::people::passwords::{self, NewPassword};
use crate::people::users::{self, NewUser, Origin};
use crate::people::{Actor, Store, tokens};

#[derive(Parser, Debug)]
#[command(name = "quorum", version, about = "Self-hosted human data labeling")]
pub struct Cli {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// Where the database and exports live.
    #[arg(
        long,
        global = true,
        default_value = "./quorum-data",
        env = "QUORUM_DATA_DIR"
    )]
    pub data_dir: PathBuf,
    /// Database URL (default: sqlite file quorum.db in the data directory).
    #[arg(long, global = true, env = "QUORUM_DATABASE_URL")]
    pub database: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web server (the default when no command is given).
    Serve(ServeArgs),
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Import items into a task from a JSONL, CSV or JSON-array file (all or nothing).
    Import(ImportArgs),
    /// Write the database and the export snapshots to one archive with a manifest of sha256
    /// checksums (safe while the server runs). An --out ending in .db, .sqlite or .sqlite3 writes
    /// only a copy of the database, as earlier versions did.
    Backup {
        /// The file to create; it must not exist. `.tar`, or `.tar.gz`/`.tgz` for gzip.
        #[arg(long)]
        out: PathBuf,
    },
    /// Unpack a backup archive into an empty --data-dir, verify every checksum and open the database.
    Restore {
        /// The archive `quorum backup` wrote.
        #[arg(long)]
        archive: PathBuf,
    },
    /// Resolve crowd labels offline, no server: prints item,label,confidence CSV.
    Aggregate(crate::review::offline::AggregateArgs),
    /// Export a task's labels as a versioned snapshot.
    Export(crate::export::cli::ExportArgs),
    /// Record direct labels (ground truth observed later in production) from a JSONL file of
    /// {"external_id", "value", "source", "observed_at"}, all or nothing.
    Outcomes(crate::outcomes::cli::OutcomesArgs),
    /// Apply the embedded migrations of the database's dialect (every start does too); with
    /// --check, change nothing and fail unless the schema is exactly this binary's.
    Migrate(crate::cli_db::MigrateArgs),
    /// Copy a whole deployment (people, tasks, items, labels, leases, audit log, snapshots) into a
    /// new, empty database, e.g. from SQLite to PostgreSQL; verifies counts and checksums.
    Copy(crate::cli_db::CopyArgs),
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The task to import into.
    #[arg(long)]
    pub task: i64,
    /// The file (format from its extension: .jsonl/.ndjson, .csv, .json), or - for standard input.
    pub file: PathBuf,
    /// Force the format: jsonl, csv or json.
    #[arg(long)]
    pub format: Option<String>,
    /// Keep reading (JSONL): import new lines as they are appended to FILE (like `tail -f`), or
    /// as they arrive on standard input, in batches, until SIGTERM/Ctrl-C or the input closes.
    #[arg(long)]
    pub follow: bool,
    /// With --follow: the most lines in one batch (a batch also ends after a second).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: u32,
}

/// `quorum serve`: every flag can also be set by its `QUORUM_…` environment variable, and a plain
/// `quorum` reads the same variables.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "QUORUM_BIND")]
    pub bind: std::net::SocketAddr,
    /// Public base URL for links the server makes (invites, password links), e.g. https://label.example.com
    #[arg(long, env = "QUORUM_BASE_URL")]
    pub base_url: Option<String>,
    /// Mark cookies Secure (implied by an https base URL).
    #[arg(long, env = "QUORUM_SECURE_COOKIES", value_parser = clap::builder::BoolishValueParser::new())]
    pub secure_cookies: bool,
    /// Print `LISTENING <addr>` on stdout once the socket is bound.
    #[arg(long, env = "QUORUM_PRINT_ADDR", value_parser = clap::builder::BoolishValueParser::new())]
    pub print_addr: bool,
    /// Close a connection that sends or receives nothing (and has no request running) this long:
    /// 15s, 500ms, 2m.
    #[arg(long, default_value = "15s", env = "QUORUM_IDLE_TIMEOUT", value_parser = parse_duration)]
    pub idle_timeout: std::time::Duration,
    /// Serve at most this many connections at once (default: what the open-file limit allows, at
    /// most 10000); at the cap the connection idle the longest is closed to make room.
    #[arg(long, env = "QUORUM_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For / Forwarded headers are
    /// believed; the environment variable takes a comma-separated list.
    #[arg(long, env = "QUORUM_TRUSTED_PROXY", num_args = 1.., value_delimiter = ',', value_parser = crate::http::client_addr::parse_trusted)]
    pub trusted_proxy: Vec<ipnet::IpNet>,
    /// How often expired sessions, old login-throttle rows and expired leases are cleared.
    #[arg(long, default_value = "15s", env = "QUORUM_SWEEP_INTERVAL", value_parser = parse_duration)]
    pub sweep_interval: std::time::Duration,
    /// On SIGTERM, how long requests in flight and queued labels may take to finish.
    #[arg(long, default_value = "30s", env = "QUORUM_DRAIN_DEADLINE", value_parser = parse_duration)]
    pub drain_deadline: std::time::Duration,
    /// Address ranges (CIDR or single addresses) webhooks may be sent to although they are
    /// private, loopback or link-local (default: none); the environment variable takes a
    /// comma-separated list.
    #[arg(long, env = "QUORUM_WEBHOOK_ALLOW", num_args = 1.., value_delimiter = ',', value_parser = crate::http::client_addr::parse_trusted)]
    pub webhook_allow: Vec<ipnet::IpNet>,
    /// The wait before a failed webhook delivery is retried; it doubles after each failure.
    #[arg(long, default_value = "10s", env = "QUORUM_WEBHOOK_BACKOFF", value_parser = parse_duration)]
    pub webhook_backoff: std::time::Duration,
    /// The longest wait between two attempts of a webhook delivery.
    #[arg(long, default_value = "60m", env = "QUORUM_WEBHOOK_BACKOFF_CAP", value_parser = parse_duration)]
    pub webhook_backoff_cap: std::time::Duration,
    /// Attempts before a webhook delivery is marked failed.
    #[arg(long, default_value_t = 8, env = "QUORUM_WEBHOOK_MAX_ATTEMPTS", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub webhook_max_attempts: u32,
    /// How long one webhook attempt (connect, send, answer) may take.
    #[arg(long, default_value = "10s", env = "QUORUM_WEBHOOK_TIMEOUT", value_parser = parse_duration)]
    pub webhook_timeout: std::time::Duration,
    /// How often the delivery worker looks for due webhook deliveries.
    #[arg(long, default_value = "1s", env = "QUORUM_WEBHOOK_POLL", value_parser = parse_duration)]
    pub webhook_poll: std::time::Duration,
}

/// `quorum` without a command: the serve flags, from the environment and their defaults only.
#[derive(Parser, Debug)]
struct ServeFromEnv {
    #[command(flatten)]
    serve: ServeArgs,
}

/// A duration such as `15s`, `500ms`, `2m` or a bare number of seconds.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a duration: write e.g. 15s, 500ms or 2m"))?;
    match unit {
        "" | "s" => Ok(std::time::Duration::from_secs(n)),
        "ms" => Ok(std::time::Duration::from_millis(n)),
        "m" => Ok(std::time::Duration::from_secs(n.saturating_mul(60))),
        _ => Err(format!("{s:?}: unknown unit {unit:?}; use ms, s or m")),
    }
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Set a user's password from standard input, reactivate them and clear their login throttle
    /// (the operator's way back in).
    Password {
        #[arg(long)]
        username: String,
    },
    /// Turn off a user's two-factor sign-in (lost authenticator and recovery codes); audited.
    MfaReset {
        #[arg(long)]
        username: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create an API token for a user and print it (shown once).
    Create {
        #[arg(long)]
        username: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// What the token may do: full (default), read, metrics, exports or label.
        #[arg(long, default_value = "full", value_parser = parse_scope)]
        scope: crate::domain::token_scope::TokenScope,
    },
}

fn parse_scope(s: &str) -> Result<crate::domain::token_scope::TokenScope, String> {
    crate::domain::token_scope::TokenScope::parse(s)
        .ok_or_else(|| format!("unknown scope {s:?}: use full, read, metrics, exports or label"))
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role {s:?}: use admin, reviewer or rater"))
}

/// Parses the command line and runs it; the process exit code says how it went.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    // The server logs what it does; one-shot commands only warn, so their output stays readable.
    let serving = matches!(cli.command, None | Some(Command::Serve(_)));
    init_tracing(if serving {
        "info,sqlx=warn,tower_http=info"
    } else {
        "warn"
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(default: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // JSON lines: values are escaped, so nothing a user types can forge a log line.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn config_for(store: &StoreArgs) -> Config {
    let mut c = Config::new(store.data_dir.clone());
    c.database = store.database.clone();
    c.password_pepper = std::env::var("QUORUM_PASSWORD_PEPPER")
        .ok()
        .filter(|p| !p.is_empty());
    c
}

async fn open_store(store: &StoreArgs) -> Result<Db, String> {
    let config = config_for(store);
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", config.data_dir.display()))?;
    Db::open(&config.database_url())
        .await
        .map_err(|e| e.to_string())
}

async fn dispatch(cli: Cli) -> Result<(), String> {
    let command = match cli.command {
        Some(c) => c,
        // The same settings `quorum serve` would read from the environment.
        None => Command::Serve(
            ServeFromEnv::try_parse_from(["quorum"])
                .map_err(|e| e.to_string())?
                .serve,
        ),
    };
    match command {
        Command::Serve(args) => serve(&cli.store, args).await,
        Command::User(UserCommand::Create { username, role }) => {
            let password = read_password()?;
            let (db, hasher) = open_people(&cli.store).await?;
            let store = people_store(&db, &hasher);
            let new = NewUser {
                username,
                role,
                password: Some(NewPassword::new(password)),
            };
            let made = users::create(store, new, Origin::Cli, Actor::system())
                .await
                .map_err(|e| e.to_string())?;
            println!("created user {} (id {}, {role})", made.username, made.id);
            Ok(())
        }
        Command::User(UserCommand::Password { username }) => {
            let password = read_password()?;
            let (db, hasher) = open_people(&cli.store).await?;
            let name = passwords::set_by_operator(people_store(&db, &hasher), &username, password)
                .await
                .map_err(|e| e.to_string())?;
            println!("password set for {name}; their sessions have ended");
            Ok(())
        }
        Command::User(UserCommand::MfaReset { username }) => {
            let (db, hasher) = open_people(&cli.store).await?;
            let name = crate::people::mfa::reset_by_operator(people_store(&db, &hasher), &username)
                .await
                .map_err(|e| e.to_string())?;
            println!("two-factor sign-in turned off for {name}; they enrol again after signing in");
            Ok(())
        }
        Command::Import(args) => import(&cli.store, args).await,
        Command::Backup { out } => backup(&cli.store, &out).await,
        Command::Restore { archive } => restore(&cli.store, &archive).await,
        Command::Aggregate(args) => crate::review::offline::run_aggregate(&args),
        Command::Export(args) => {
            let db = open_store(&cli.store).await?;
            crate::export::cli::run_export(&db, &cli.store.data_dir, args).await
        }
        Command::Outcomes(args) => {
            let db = open_store(&cli.store).await?;
            crate::outcomes::cli::run(&db, args).await
        }
        Command::Migrate(args) => {
            crate::cli_db::migrate(&config_for(&cli.store).database_url(), args).await
        }
        Command::Copy(args) => {
            let from = config_for(&cli.store).database_url();
            crate::cli_db::copy(&from, &cli.store.data_dir, args).await
        }
        Command::Token(TokenCommand::Create {
            username,
            name,
            scope,
        }) => {
            let (db, hasher) = open_people(&cli.store).await?;
            let made = tokens::create_for(
                people_store(&db, &hasher),
                &username,
                &name,
                scope,
                Actor::system(),
            )
            .await
            .map_err(|e| e.to_string())?;
            println!("{}", made.token);
            Ok(())
        }
    }
}

/// The store and a password hasher (with the pepper of the environment) for the people commands.
async fn open_people(store: &StoreArgs) -> Result<(Db, Hasher), String> {
    let db = open_store(store).await?;
    let hasher = Hasher::new(config_for(store).password_pepper.as_deref(), 1);
    Ok((db, hasher))
}

fn people_store<'a>(db: &'a Db, hasher: &'a Hasher) -> Store<'a> {
    Store {
        db,
        hasher,
        now: Clock::default().now_ms(),
    }
}

async fn import(store: &StoreArgs, args: ImportArgs) -> Result<(), String> {
    use crate::domain::import::Format;
    if args.follow {
        if args.format.as_deref().is_some_and(|f| f != "jsonl") {
            return Err("--follow reads JSON lines only (--format jsonl)".into());
        }
        let db = open_store(store).await?;
        return crate::cli_follow::follow(
            &db,
            &store.data_dir,
            crate::domain::ids::TaskId(args.task),
            args.file,
            args.batch as usize,
        )
        .await;
    }
    let format = match args.format.as_deref() {
        Some(name) => crate::ingest::format_named(name).map_err(|e| e.to_string())?,
        None => Format::from_filename(&args.file.to_string_lossy())
            .ok_or("cannot tell the format from the file name; pass --format jsonl|csv|json")?,
    };
    let db = open_store(store).await?;
    let task = db::tasks::get(&db.pool, crate::domain::ids::TaskId(args.task))
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("there is no task {}", args.task))?;
    let name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let (reader, len): (Box<dyn Read + Send>, Option<u64>) = if args.file.as_os_str() == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let f = std::fs::File::open(&args.file)
            .map_err(|e| format!("cannot open {}: {e}", args.file.display()))?;
        let len = f.metadata().ok().map(|m| m.len());
        (Box::new(f), len)
    };
    let bar = match len {
        Some(n) => indicatif::ProgressBar::new(n).with_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} reading {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        ),
        None => indicatif::ProgressBar::new_spinner(),
    };
    let reader = bar.wrap_read(reader);
    let started = std::time::Instant::now();
    let clock = Clock::default();
    let job = crate::ingest::ImportJob {
        task: &task,
        user: None,
        format,
        filename: &name,
    };
    let result =
        crate::ingest::import_items(&db, &store.data_dir, move || clock.now_ms(), job, reader)
            .await;
    bar.finish_and_clear();
    match result {
        Ok(s) => {
            println!(
                "imported {} items into task {} ({} already there, skipped) in {:.1} s",
                s.imported,
                args.task,
                s.skipped_duplicates,
                started.elapsed().as_secs_f64()
            );
            for a in &s.anomalies {
                let lines: Vec<String> = a.lines.iter().take(10).map(u64::to_string).collect();
                println!(
                    "anomaly {}{}: {} item(s), line {}",
                    a.kind.as_str(),
                    a.field
                        .as_deref()
                        .map(|f| format!(" in {f:?}"))
                        .unwrap_or_default(),
                    a.count,
                    lines.join(", ")
                );
            }
            if s.quarantined > 0 {
                println!("{} anomalous item(s) held in quarantine", s.quarantined);
            }
            if let Some(d) = s.drift.as_ref().filter(|d| d.drifting) {
                println!(
                    "drift: {:.3} against import {}, above the task's threshold",
                    d.score, d.against_import
                );
            }
            Ok(())
        }
        Err(crate::error::AppError::BadRequest { message, .. }) => {
            Err(format!("nothing was imported: {message}"))
        }
        Err(e) => Err(format!("nothing was imported: {e}")),
    }
}

/// True when `--out` names a bare database copy (the backup of earlier versions).
fn database_only(out: &std::path::Path) -> bool {
    let ext = out.extension().and_then(|e| e.to_str()).unwrap_or("");
    matches!(ext, "db" | "sqlite" | "sqlite3")
}

async fn backup(store: &StoreArgs, out: &std::path::Path) -> Result<(), String> {
    if !database_only(out) {
        let db = open_store(store).await?;
        let started = std::time::Instant::now();
        let now = Clock::default().now_ms();
        let s = crate::backup::create(&db, &store.data_dir, out, now).await?;
        let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
        println!(
            "backup written to {} ({} files, {} bytes before packing, {} bytes, schema {}) in {:.1} s",
            out.display(),
            s.files,
            s.bytes,
            size,
            s.schema_version,
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    if out.exists() {
        return Err(format!(
            "{} exists already; choose a new file",
            out.display()
        ));
    }
    let db = open_store(store).await?;
    if db.backend != db::Backend::Sqlite {
        return Err(format!(
            "{} names a bare SQLite file, but this deployment runs on {}: write an archive \
             (--out quorum.tar.gz) or use pg_dump",
            out.display(),
            db.backend.name()
        ));
    }
    let started = std::time::Instant::now();
    db::backup::vacuum_into(&db.pool, out)
        .await
        .map_err(|e| format!("backup failed: {e}"))?;
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    println!(
        "backup written to {} ({} bytes) in {:.1} s",
        out.display(),
        size,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn restore(store: &StoreArgs, archive: &std::path::Path) -> Result<(), String> {
    let started = std::time::Instant::now();
    let s = crate::backup::restore(archive, &store.data_dir).await?;
    println!(
        "restored {} files ({} bytes, schema {}) into {}; every checksum matched and the database opened, in {:.1} s",
        s.files,
        s.bytes,
        s.schema_version,
        store.data_dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn read_password() -> Result<String, String> {
    let mut s = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut s)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    // One trailing newline (from `echo` or a terminal) is not part of the password.
    if s.ends_with('\n') {
        s.pop();
        if s.ends_with('\r') {
            s.pop();
        }
    }
    Ok(s)
}

async fn serve(store: &StoreArgs, args: ServeArgs) -> Result<(), String> {
    let mut config = config_for(store);
    config.bind = args.bind;
    config.base_url = args.base_url;
    config.secure_cookies = args.secure_cookies;
    config.print_addr = args.print_addr;
    config.idle_timeout = args.idle_timeout;
    config.max_connections = args.max_connections;
    config.trusted_proxies = args.trusted_proxy;
    config.sweep_interval = args.sweep_interval;
    config.drain_deadline = args.drain_deadline;
    config.webhooks = crate::config::WebhookConfig {
        allow: args.webhook_allow,
        backoff: args.webhook_backoff,
        backoff_cap: args.webhook_backoff_cap,
        max_attempts: args.webhook_max_attempts,
        timeout: args.webhook_timeout,
        poll: args.webhook_poll,
    };
    config.admin_password = std::env::var("QUORUM_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    tracing::info!(?config, "starting");
    let running = crate::server::spawn(config.clone(), Clock::default())
        .await
        .map_err(|e| e.to_string())?;
    if config.print_addr {
        println!("LISTENING {}", running.addr);
    }
    eprintln!("\n  Quorum is running at {}\n", running.state.base_url);
    if let Some(link) = &running.setup_link {
        // A box that stands out from the JSON log lines around it.
        let rule = "━".repeat(72);
        eprintln!(
            "  ┏{rule}\n  ┃ FIRST START: open this one-time link to set the admin password.\n  ┃ It is valid 24 hours; until it is used, every restart prints a new one.\n  ┃\n  ┃   {link}\n  ┗{rule}\n"
        );
    }
    crate::server::shutdown_signal().await;
    tracing::info!("signal received");
    running.stop().await;
    Ok(())
}
