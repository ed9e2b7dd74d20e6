//! Starting and stopping the server: data directory, database, first admin, the accept loop with
//! a header-read timeout (plain `axum::serve` sets none), an idle timeout and a connection cap
//! (see [`conns`]), and a graceful shutdown with a deadline.

pub mod conns;
pub mod limits;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::auth::password::Hasher;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::state::AppState;
use conns::{Admission, GuardedBody, Registry, Tracked};

/// How long a client may take to send its request headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error(transparent)]
    Db(#[from] crate::db::OpenError),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error("first admin: {0}")]
    Bootstrap(String),
}

/// A running server (for the CLI and for tests).
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    /// The one-time setup link printed on first start, when no password was given.
    pub setup_link: Option<String>,
    shutdown: Option<oneshot::Sender<()>>,
    join: JoinHandle<()>,
    sweeper: JoinHandle<()>,
    webhooks: JoinHandle<()>,
}

impl Running {
    /// Stops accepting, lets requests in flight finish and the label writer commit what is
    /// queued (both within the drain deadline), and returns.
    pub async fn stop(mut self) {
        let deadline = tokio::time::Instant::now() + self.state.config.drain_deadline;
        self.sweeper.abort();
        // A delivery cut off here keeps its claim until it runs out, then is sent again.
        self.webhooks.abort();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.join).await;
        // Requests cut off by the deadline may have queued labels: they are committed (or the
        // deadline passes) before the process may exit. Nobody was told they were stored unless
        // they were, so what is still queued after the deadline is lost without harm.
        match tokio::time::timeout_at(deadline, self.state.submitter.flush()).await {
            Ok(()) => tracing::info!("label writer drained"),
            Err(_) => tracing::warn!("drain deadline passed with labels still queued"),
        }
    }

    /// Waits until the server stops by itself (it never does unless [`Running::stop`] is called).
    pub async fn wait(self) {
        let _ = self.join.await;
    }
}

/// Opens the store, makes the first admin if needed, binds and starts serving in the background.
pub async fn spawn(config: Config, clock: Clock) -> Result<Running, StartError> {
    create_data_dir(&config.data_dir)?;
    crate::http::metrics::install();
    let max_connections = limits::connection_cap(config.max_connections);
    let db = Db::open(&config.database_url()).await?;
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|e| StartError::Bind(config.bind, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Bind(config.bind, e))?;
    let base_url: Arc<str> = match &config.base_url {
        Some(u) => Arc::from(u.trim_end_matches('/')),
        None => Arc::from(format!("http://{addr}").as_str()),
    };
    let hasher = Hasher::new(config.password_pepper.as_deref(), 2);
    let submitter = crate::labeling::writer::Submitter::start(db.clone(), clock.clone());
    let state = AppState {
        db,
        config: Arc::new(config),
        clock,
        hasher,
        base_url,
        submitter,
        shard_owners: Default::default(),
        auth_cache: Default::default(),
    };
    crate::sweep::startup_sweep(&state)
        .await
        .map_err(|e| StartError::Bootstrap(format!("{e:?}")))?;
    let setup_link = crate::people::users::bootstrap_admin(&state)
        .await
        .map_err(|e| StartError::Bootstrap(format!("{e:?}")))?;
    let sweeper = crate::sweep::spawn_sweeper(state.clone());
    let webhooks = crate::webhooks::worker::spawn(state.clone());
    let (tx, rx) = oneshot::channel();
    let app = crate::app::app(state.clone());
    let registry = Registry::new(max_connections);
    let limits = ConnLimits {
        idle: state.config.idle_timeout,
        drain: state.config.drain_deadline,
        trusted_proxies: state.config.trusted_proxies.clone().into(),
    };
    let join = tokio::spawn(accept_loop(listener, app, registry, limits, rx));
    tracing::info!(%addr, max_connections, "quorum listening");
    Ok(Running {
        addr,
        state,
        setup_link,
        shutdown: Some(tx),
        join,
        sweeper,
        webhooks,
    })
}

fn create_data_dir(dir: &std::path::Path) -> Result<(), StartError> {
    let err = |e| StartError::DataDir(dir.display().to_string(), e);
    std::fs::create_dir_all(dir).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(dir).map_err(err)?;
        // The data directory holds the database and exports: nobody else may write to it.
        if meta.permissions().mode() & 0o002 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
        }
    }
    Ok(())
}

/// What the accept loop enforces on every connection.
#[derive(Clone)]
struct ConnLimits {
    /// A connection with no byte in or out and no request in flight for this long is closed.
    idle: Duration,
    /// How long shutdown waits for requests in flight.
    drain: Duration,
    /// Peers whose forwarding headers name the client.
    trusted_proxies: Arc<[ipnet::IpNet]>,
}

/// The TCP peer of a request, in its extensions. `ConnectInfo` carries the *client* address
/// instead: the peer itself, or the address a trusted proxy forwarded (see
/// [`crate::http::client_addr`]), so the throttle, the audit log and the access log use it.
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);

async fn accept_loop(
    listener: TcpListener,
    app: axum::Router,
    registry: Arc<Registry>,
    limits: ConnLimits,
    mut stop: oneshot::Receiver<()>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let (conn, registered) = match registry.admit() {
            Admission::Admitted(conn, registered) => (conn, registered),
            Admission::Full => {
                // Every slot has a request in flight: this client is better off retrying.
                tracing::warn!(
                    cap = registry.cap(),
                    "connection refused: at the connection cap"
                );
                drop(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let watched = conn.clone();
        let trusted = limits.trusted_proxies.clone();
        let service = hyper::service::service_fn(move |req: axum::http::Request<Incoming>| {
            let busy = watched.busy();
            let mut req = req.map(Body::new);
            let client = crate::http::client_addr::client_ip(remote.ip(), req.headers(), &trusted);
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::new(client, remote.port())));
            req.extensions_mut().insert(PeerAddr(remote));
            let app = app.clone();
            async move {
                let res = app.oneshot(req).await;
                res.map(|r| r.map(|body| GuardedBody::new(body, busy)))
            }
        });
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT);
        builder.http2().timer(TokioTimer::new());
        let io = TokioIo::new(Tracked::new(stream, conn.clone()));
        let served = builder
            .serve_connection_with_upgrades(io, service)
            .into_owned();
        let served = graceful.watch(served);
        tokio::spawn(async move {
            let _registered = registered;
            tokio::select! {
                _ = served => {}
                // Dropping the connection closes its socket.
                _ = conn.idle_closed(limits.idle) => {
                    tracing::debug!(%remote, "closing an idle connection");
                }
            }
        });
    }
    drop(listener);
    tracing::info!("shutting down: draining requests in flight");
    if tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("drain deadline passed; closing the remaining connections");
    }
}

/// Resolves when the process gets SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
