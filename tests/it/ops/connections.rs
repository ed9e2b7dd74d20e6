//! Idle connections are closed after the idle timeout, and at the connection cap the oldest idle
//! connections make room, so `/healthz` answers while idle sockets pile up.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestApp;

/// Reads until the server closes the connection; false if it is still open after `bound`.
async fn closed_by_server(stream: &mut TcpStream, bound: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // The server's HTTP/2 settings and GOAWAY: keep reading.
            Ok(Ok(_)) => {}
        }
    }
}

async fn short_idle() -> TestApp {
    TestApp::spawn_with(|c| c.idle_timeout = Duration::from_millis(500)).await
}

#[tokio::test]
async fn a_connection_that_never_sends_a_byte_is_closed() {
    let app = short_idle().await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    assert!(
        closed_by_server(&mut s, Duration::from_secs(20)).await,
        "a silent connection is still open 20 s after a 0.5 s idle timeout"
    );
}

#[tokio::test]
async fn an_h2c_connection_silent_after_its_preface_is_closed() {
    let app = short_idle().await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    // An empty SETTINGS frame, as a client sends right after the preface.
    s.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap();
    assert!(
        closed_by_server(&mut s, Duration::from_secs(20)).await,
        "an idle h2c connection is still open 20 s after a 0.5 s idle timeout"
    );
}

#[tokio::test]
async fn a_keep_alive_connection_serves_requests_then_closes_when_idle() {
    let app = short_idle().await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    for _ in 0..2 {
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).await.unwrap();
        let head = String::from_utf8_lossy(&buf[..n]);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    }
    assert!(closed_by_server(&mut s, Duration::from_secs(20)).await);
}

#[tokio::test]
async fn healthz_answers_while_idle_connections_exceed_the_cap() {
    let app = TestApp::spawn_with(|c| c.max_connections = Some(20)).await;
    // Three times the cap in silent connections (the default idle timeout is far longer than this
    // test), then a real client.
    let mut idle = Vec::new();
    for _ in 0..60 {
        idle.push(TcpStream::connect(app.addr).await.unwrap());
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    for _ in 0..3 {
        let res = client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }
    // The oldest silent connections were closed to make room.
    assert!(closed_by_server(&mut idle[0], Duration::from_secs(20)).await);
}
