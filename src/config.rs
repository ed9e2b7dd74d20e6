//! Server configuration: one [`Config`], built from the command line and the environment.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

/// Everything `quorum serve` needs to know. Secrets are redacted in `Debug`.
#[derive(Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    /// `sqlite://…` (default: `quorum.db` in the data directory).
    pub database: Option<String>,
    /// The public base URL used in every link the server makes (invites, resets); never the Host header.
    pub base_url: Option<String>,
    pub secure_cookies: bool,
    /// Sets the first admin's password directly instead of printing a setup link.
    pub admin_password: Option<String>,
    /// Print `LISTENING <addr>` on stdout once bound (for scripts and tests).
    pub print_addr: bool,
    /// Optional pepper mixed into every password hash (kept outside the database).
    pub password_pepper: Option<String>,
    /// A connection with no byte in or out and no request in flight for this long is closed.
    pub idle_timeout: Duration,
    /// The most connections served at once (default: what the open-file limit leaves room for).
    pub max_connections: Option<usize>,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// How often expired sessions, old throttle rows and expired leases are cleared.
    pub sweep_interval: Duration,
    /// How long shutdown waits for requests in flight and queued labels.
    pub drain_deadline: Duration,
    /// Webhook delivery: which private ranges may receive, how retries back off, and more.
    pub webhooks: WebhookConfig,
}

/// How the webhook delivery worker behaves (`--webhook-*` flags).
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookConfig {
    /// Address ranges webhooks may be sent to although they are private, loopback, link-local…
    /// (default: none; public addresses are always allowed).
    pub allow: Vec<IpNet>,
    /// The wait after the first failed attempt; it doubles after each further failure.
    pub backoff: Duration,
    /// The longest wait between two attempts.
    pub backoff_cap: Duration,
    /// Attempts before a delivery is marked failed.
    pub max_attempts: u32,
    /// How long one attempt (connect, send, answer) may take.
    pub timeout: Duration,
    /// How often the worker looks for due deliveries.
    pub poll: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            allow: Vec::new(),
            backoff: Duration::from_secs(10),
            backoff_cap: Duration::from_secs(3600),
            max_attempts: 8,
            timeout: Duration::from_secs(10),
            poll: Duration::from_secs(1),
        }
    }
}

/// The idle timeout when none is configured.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(15);
/// The sweep interval when none is configured.
pub const DEFAULT_SWEEP_INTERVAL: Duration = Duration::from_secs(15);
/// The drain deadline when none is configured.
pub const DEFAULT_DRAIN_DEADLINE: Duration = Duration::from_secs(30);

impl Config {
    /// A configuration for the given data directory with every other option at its default.
    pub fn new(data_dir: PathBuf) -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir,
            database: None,
            base_url: None,
            secure_cookies: false,
            admin_password: None,
            print_addr: false,
            password_pepper: None,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: None,
            trusted_proxies: Vec::new(),
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
            drain_deadline: DEFAULT_DRAIN_DEADLINE,
            webhooks: WebhookConfig::default(),
        }
    }

    /// The SQLite file path or database URL in use.
    pub fn database_url(&self) -> String {
        match &self.database {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("quorum.db").display()),
        }
    }

    /// Cookies get `Secure` when asked for or when the base URL is https.
    pub fn cookies_secure(&self) -> bool {
        self.secure_cookies
            || self
                .base_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("database", &self.database.as_ref().map(|_| "[set]"))
            .field("base_url", &self.base_url)
            .field("secure_cookies", &self.secure_cookies)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "password_pepper",
                &self.password_pepper.as_ref().map(|_| "[redacted]"),
            )
            .field("idle_timeout", &self.idle_timeout)
            .field("max_connections", &self.max_connections)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("sweep_interval", &self.sweep_interval)
            .field("drain_deadline", &self.drain_deadline)
            .field("webhooks", &self.webhooks)
            .finish()
    }
}
