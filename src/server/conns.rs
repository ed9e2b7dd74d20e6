//! Connection bookkeeping: every accepted connection is registered with the time of its last byte
//! in or out and the number of requests it has in flight (a response counts until its body has
//! been sent). That lets the accept loop close a connection that stays idle too long (one that
//! never sends a byte, an HTTP/2 connection that goes quiet after its preface, a keep-alive left
//! open) and, when the connection cap is reached, shed the connection idle the longest so a new
//! client still gets in.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// One open connection, shared by its I/O wrapper, its requests and the registry.
pub struct Conn {
    epoch: Instant,
    /// Milliseconds after `epoch` of the last byte read or written (or request finished).
    last_active: AtomicU64,
    /// Requests whose response has not been sent completely.
    busy: AtomicUsize,
    /// Fired to close the connection now (it was shed to make room).
    close: Notify,
}

impl Conn {
    fn new(epoch: Instant) -> Conn {
        let c = Conn {
            epoch,
            last_active: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
            close: Notify::new(),
        };
        c.touch();
        c
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Something happened on the connection.
    pub fn touch(&self) {
        self.last_active.store(self.now_ms(), Ordering::Relaxed);
    }

    fn is_idle(&self) -> bool {
        self.busy.load(Ordering::Acquire) == 0
    }

    /// Counts a request in flight until the guard is dropped.
    pub fn busy(self: &Arc<Self>) -> BusyGuard {
        self.busy.fetch_add(1, Ordering::AcqRel);
        self.touch();
        BusyGuard(self.clone())
    }

    /// Resolves when the connection has been idle for `limit` (no byte, no request in flight) or
    /// was shed by the registry.
    pub async fn idle_closed(&self, limit: Duration) {
        loop {
            let wait = if self.is_idle() {
                let quiet = self
                    .now_ms()
                    .saturating_sub(self.last_active.load(Ordering::Relaxed));
                let quiet = Duration::from_millis(quiet);
                if quiet >= limit {
                    return;
                }
                limit - quiet
            } else {
                // A request in flight is the request timeout's business; look again later.
                limit
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.close.notified() => return,
            }
        }
    }
}

/// A request in flight on a connection (see [`Conn::busy`]).
pub struct BusyGuard(Arc<Conn>);

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The open connections, up to a cap.
pub struct Registry {
    epoch: Instant,
    cap: usize,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
}

/// What [`Registry::admit`] decided.
pub enum Admission {
    /// The connection may be served; dropping the guard takes it off the registry.
    Admitted(Arc<Conn>, Registered),
    /// Every slot is taken by a connection with a request in flight.
    Full,
}

impl Registry {
    pub fn new(cap: usize) -> Arc<Registry> {
        Arc::new(Registry {
            epoch: Instant::now(),
            cap: cap.max(1),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// The most connections served at once.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        self.open.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Registers a new connection. At the cap, the connection idle the longest is told to close
    /// to make room; when none is idle the new one is refused.
    pub fn admit(self: &Arc<Self>) -> Admission {
        let Ok(mut open) = self.open.lock() else {
            return Admission::Full;
        };
        while open.len() >= self.cap {
            let oldest = open
                .iter()
                .filter(|(_, c)| c.is_idle())
                .min_by_key(|(_, c)| c.last_active.load(Ordering::Relaxed))
                .map(|(id, _)| *id);
            let Some(id) = oldest else {
                return Admission::Full;
            };
            if let Some(shed) = open.remove(&id) {
                // `notify_one` keeps the permit if the watcher is not waiting yet.
                shed.close.notify_one();
                metrics::counter!("quorum_connections_shed_total").increment(1);
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Arc::new(Conn::new(self.epoch));
        open.insert(id, conn.clone());
        metrics::gauge!("quorum_open_connections").set(open.len() as f64);
        Admission::Admitted(
            conn,
            Registered {
                registry: self.clone(),
                id,
            },
        )
    }
}

/// A connection's place in the registry, given up on drop.
pub struct Registered {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut open) = self.registry.open.lock() {
            open.remove(&self.id);
            metrics::gauge!("quorum_open_connections").set(open.len() as f64);
        }
    }
}

/// A socket that records when bytes pass, on its [`Conn`].
pub struct Tracked<T> {
    inner: T,
    conn: Arc<Conn>,
}

impl<T> Tracked<T> {
    pub fn new(inner: T, conn: Arc<Conn>) -> Self {
        Tracked { inner, conn }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.conn.touch();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.conn.touch();
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.conn.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A response body that keeps its request counted as in flight until it has been sent.
pub struct GuardedBody {
    inner: Body,
    _busy: BusyGuard,
}

impl GuardedBody {
    pub fn new(inner: Body, busy: BusyGuard) -> Self {
        GuardedBody { inner, _busy: busy }
    }
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(r: &Arc<Registry>) -> (Arc<Conn>, Registered) {
        match r.admit() {
            Admission::Admitted(c, g) => (c, g),
            Admission::Full => panic!("should be admitted"),
        }
    }

    #[tokio::test]
    async fn at_the_cap_the_longest_idle_connection_is_shed() {
        let r = Registry::new(2);
        let (a, _ga) = admitted(&r);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (b, _gb) = admitted(&r);
        let (_c, _gc) = admitted(&r);
        assert_eq!(r.len(), 2);
        // `a` was told to close, `b` was not.
        tokio::time::timeout(
            Duration::from_secs(5),
            a.idle_closed(Duration::from_secs(3600)),
        )
        .await
        .expect("the oldest idle connection is closed");
        let b_open = tokio::time::timeout(
            Duration::from_millis(20),
            b.idle_closed(Duration::from_secs(3600)),
        )
        .await;
        assert!(b_open.is_err(), "a younger connection stays open");
    }

    #[tokio::test]
    async fn busy_connections_are_never_shed() {
        let r = Registry::new(1);
        let (a, _ga) = admitted(&r);
        let _busy = a.busy();
        assert!(matches!(r.admit(), Admission::Full));
        assert_eq!(r.len(), 1);
    }

    #[tokio::test]
    async fn a_quiet_connection_closes_after_the_idle_limit() {
        let r = Registry::new(4);
        let (a, _ga) = admitted(&r);
        tokio::time::timeout(
            Duration::from_secs(5),
            a.idle_closed(Duration::from_millis(30)),
        )
        .await
        .expect("closed when idle");
    }
}
