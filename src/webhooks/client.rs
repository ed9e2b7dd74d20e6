//! The one place the server makes an outgoing HTTP request: a webhook POST, guarded against
//! server-side request forgery (security.md T14, the Label Studio CVE-2023-47116 lesson):
//!
//! - only `http` URLs (this build has no TLS library: `https` is refused with a clear message);
//! - the host is resolved once, every address it resolves to must be public (or inside a range
//!   the operator allowed), and the connection goes to that checked address: a second lookup
//!   (DNS rebinding) cannot send the request elsewhere;
//! - redirects are never followed (a 3xx is a failed attempt);
//! - the whole attempt (lookup, connect, send, answer) has one deadline.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use hyper_util::rt::TokioIo;
use ipnet::IpNet;

use crate::domain::webhook::{Target, check_address, parse_url};

/// Why https URLs are refused, said the same way everywhere.
pub const NO_HTTPS: &str = "https receivers are not supported by this build (it has no TLS library): use an http URL on a trusted network, or a local TLS-terminating proxy allowed with --webhook-allow";

/// A checked receiver: its URL parsed, refused if it is https or names a forbidden address.
pub fn check_target(url: &str, allow: &[IpNet]) -> Result<Target, String> {
    let t = parse_url(url)?;
    if t.https {
        return Err(format!("url: {NO_HTTPS}"));
    }
    if let Some(ip) = t.literal_ip() {
        check_address(ip, allow).map_err(|e| format!("url: {e}"))?;
    }
    Ok(t)
}

/// Resolves the target's host once and returns the address to connect to: every address the
/// name resolves to must pass [`check_address`] (a name that resolves to one public and one
/// private address is refused, not half-trusted).
pub async fn resolve_pinned(t: &Target, allow: &[IpNet]) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = match t.literal_ip() {
        Some(ip) => vec![SocketAddr::new(ip, t.port)],
        None => tokio::net::lookup_host((t.host.as_str(), t.port))
            .await
            .map_err(|e| format!("cannot resolve {}: {e}", t.host))?
            .collect(),
    };
    let first = *addrs
        .first()
        .ok_or_else(|| format!("{} resolves to no address", t.host))?;
    for a in &addrs {
        check_address(a.ip(), allow).map_err(|e| format!("{} → {e}", t.host))?;
    }
    Ok(first)
}

/// What a receiver answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A 2xx status.
    Delivered(u16),
    /// Another status (3xx included: redirects are not followed).
    Refused(u16),
    /// No answer: the reason (refused address, connection error, timeout).
    Failed(String),
}

/// POSTs `body` to `url` with `headers`, within `timeout`.
pub async fn post(
    url: &str,
    headers: &[(&'static str, String)],
    body: String,
    allow: &[IpNet],
    timeout: Duration,
) -> Answer {
    match tokio::time::timeout(timeout, attempt(url, headers, body, allow)).await {
        Ok(Ok(status)) if (200..300).contains(&status) => Answer::Delivered(status),
        Ok(Ok(status)) => Answer::Refused(status),
        Ok(Err(e)) => Answer::Failed(e),
        Err(_) => Answer::Failed(format!("no answer within {} ms", timeout.as_millis())),
    }
}

async fn attempt(
    url: &str,
    headers: &[(&'static str, String)],
    body: String,
    allow: &[IpNet],
) -> Result<u16, String> {
    let target = check_target(url, allow)?;
    let addr = resolve_pinned(&target, allow).await?;
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake with {addr} failed: {e}"))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut req = axum::http::Request::post(target.path.as_str())
        .header(axum::http::header::HOST, target.host_header.as_str())
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .header(axum::http::header::USER_AGENT, "Quorum-Webhooks/1")
        .header(axum::http::header::CONTENT_LENGTH, body.len());
    for (name, value) in headers {
        req = req.header(*name, value.as_str());
    }
    let req = req
        .body(Body::from(body))
        .map_err(|e| format!("cannot build the request: {e}"))?;
    let res = sender.send_request(req).await;
    driver.abort();
    let res = res.map_err(|e| format!("sending to {addr} failed: {e}"))?;
    Ok(res.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn names_resolving_to_private_addresses_are_refused_unless_allowed() {
        let t = parse_url("http://localhost:9/hook").unwrap();
        let e = resolve_pinned(&t, &[]).await.unwrap_err();
        assert!(e.contains("loopback"), "{e}");
        let allow: Vec<IpNet> = vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()];
        let a = resolve_pinned(&t, &allow).await.unwrap();
        assert!(a.ip().is_loopback());
        assert_eq!(a.port(), 9);
    }

    #[test]
    fn https_and_private_literals_are_refused_at_registration() {
        assert!(
            check_target("https://example.com/", &[])
                .unwrap_err()
                .contains("TLS")
        );
        assert!(
            check_target("http://10.0.0.1/", &[])
                .unwrap_err()
                .contains("private")
        );
        assert!(
            check_target("http://[::1]:80/", &[])
                .unwrap_err()
                .contains("loopback")
        );
        assert!(check_target("http://example.com/x", &[]).is_ok());
    }
}
