//! Starting and stopping the server: data directory, database, first admin, the accept loop with
//! a header-read timeout (plain `axum::serve` sets none), and a graceful shutdown with a deadline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
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

/// How long a client may take to send its request headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for requests in flight before it gives up on them.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(30);

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
}

impl Running {
    /// Stops accepting, lets requests in flight finish (up to the drain deadline) and returns.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.join).await;
    }

    /// Waits until the server stops by itself (it never does unless [`Running::stop`] is called).
    pub async fn wait(self) {
        let _ = self.join.await;
    }
}

/// Opens the store, makes the first admin if needed, binds and starts serving in the background.
pub async fn spawn(config: Config, clock: Clock) -> Result<Running, StartError> {
    create_data_dir(&config.data_dir)?;
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
    };
    crate::sweep::startup_sweep(&state)
        .await
        .map_err(|e| StartError::Bootstrap(e.to_string()))?;
    let setup_link = crate::people::users::bootstrap_admin(&state)
        .await
        .map_err(|e| StartError::Bootstrap(e.to_string()))?;
    crate::sweep::spawn_sweeper(state.clone());
    let (tx, rx) = oneshot::channel();
    let app = crate::app::app(state.clone());
    let join = tokio::spawn(accept_loop(listener, app, rx));
    tracing::info!(%addr, "quorum listening");
    Ok(Running {
        addr,
        state,
        setup_link,
        shutdown: Some(tx),
        join,
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

async fn accept_loop(listener: TcpListener, app: axum::Router, mut stop: oneshot::Receiver<()>) {
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
        let _ = stream.set_nodelay(true);
        let service =
            app.clone()
                .map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(remote));
                    req.map(Body::new)
                });
        let hyper_service = hyper_util::service::TowerToHyperService::new(service);
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT);
        builder.http2().timer(TokioTimer::new());
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), hyper_service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    drop(listener);
    tracing::info!("shutting down: draining requests in flight");
    if tokio::time::timeout(DRAIN_DEADLINE, graceful.shutdown())
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
