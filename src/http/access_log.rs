//! Request ids and the access log.
//!
//! Every request gets an `x-request-id` (the client's own, if it sent a sane one, else a new
//! random one), echoed on the response. A span named `request` carries the id, the method, the
//! matched route (the pattern, `/api/v1/tasks/{id}`, never the concrete path, so ids and tokens
//! in URLs stay out of the log), the client address (behind a trusted proxy, the forwarded one)
//! and, once the request is authenticated, the user id; every log
//! line made while serving the request sits in that span. When the response leaves, one INFO line
//! under the target `quorum::access` records status and latency (silence it with
//! `RUST_LOG=info,quorum::access=warn`).

use std::time::Duration;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Response};
use axum::middleware::Next;
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing::Span;

use crate::auth::AuthCtx;

/// The header that carries the request id, in and out.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Makes request ids: 16 random hex digits.
#[derive(Clone, Copy, Default)]
pub struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).ok()?;
        HeaderValue::from_str(&hex::encode(bytes))
            .ok()
            .map(RequestId::new)
    }
}

/// Whether a client's own request id may be kept: short, and only characters that cannot forge
/// anything in a log line.
pub fn acceptable_id(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Drops a client's request id that [`acceptable_id`] refuses, so a fresh one is made instead.
pub async fn sanitize_request_id(mut req: Request, next: Next) -> axum::response::Response {
    if req
        .headers()
        .get(&REQUEST_ID)
        .is_some_and(|v| !acceptable_id(v))
    {
        req.headers_mut().remove(&REQUEST_ID);
    }
    next.run(req).await
}

/// The span of one request (for `TraceLayer::make_span_with`).
pub fn make_span<B>(req: &axum::http::Request<B>) -> Span {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let client = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("(unmatched)");
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        route = %route,
        client = %client,
        user_id = tracing::field::Empty,
    )
}

/// The access log line (for `TraceLayer::on_response`).
pub fn log_response<B>(res: &Response<B>, latency: Duration, _span: &Span) {
    tracing::info!(
        target: "quorum::access",
        status = res.status().as_u16(),
        latency_us = latency.as_micros() as u64,
        "request"
    );
}

/// Records the signed-in user on the request's span (runs just inside authentication).
pub async fn record_user(req: Request, next: Next) -> axum::response::Response {
    if let Some(ctx) = req.extensions().get::<AuthCtx>() {
        Span::current().record("user_id", ctx.user.id.0);
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_client_ids_are_kept() {
        for ok in ["abc123", "req-1_2.3", &"a".repeat(64)] {
            assert!(acceptable_id(&HeaderValue::from_str(ok).unwrap()), "{ok}");
        }
        for bad in ["", "a b", "x\"y", "<script>", &"a".repeat(65), "a=b"] {
            assert!(
                !acceptable_id(&HeaderValue::from_str(bad).unwrap()),
                "{bad:?}"
            );
        }
    }
}
