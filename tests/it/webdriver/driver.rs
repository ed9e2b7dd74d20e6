//! The one chromedriver of the test binary: started on first use on a free port under a watchdog
//! that ends it when this process exits, and a tiny synchronous HTTP client to talk to it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::{CHROMEDRIVER, CHROMIUM};

/// The shared chromedriver of this test binary.
pub(super) struct Driver {
    pub(super) url: String,
}

static DRIVER: OnceLock<Result<Driver, String>> = OnceLock::new();

pub(super) fn driver() -> &'static Driver {
    match DRIVER.get_or_init(start_driver) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    }
}

fn start_driver() -> Result<Driver, String> {
    for bin in [CHROMIUM, CHROMEDRIVER] {
        if !Path::new(bin).exists() {
            return Err(format!(
                "{bin} is missing: browser tests need Chromium and its driver. Install them with \
                 `apt-get install chromium chromium-driver` (.ci/run does this on CI)."
            ));
        }
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port for chromedriver: {e}"))?
        .port();
    let log = std::env::temp_dir().join(format!("quorum-chromedriver-{}.log", std::process::id()));
    // The watchdog: runs the driver as the leader of a process group of its own (the browsers it
    // starts join that group), and ends the whole group when this test process is gone (even
    // after a SIGKILL) or when the driver dies. All output goes to the log file, never to our pipes.
    let script = r#"
        if command -v setsid >/dev/null 2>&1; then
            setsid "$1" --port="$2" --log-path="$3" >/dev/null 2>&1 &
        else
            "$1" --port="$2" --log-path="$3" >/dev/null 2>&1 &
        fi
        child=$!
        stop() {
            kill -TERM -$child 2>/dev/null || kill -TERM $child 2>/dev/null
            sleep 1
            kill -KILL -$child 2>/dev/null
        }
        trap 'stop; exit 0' TERM INT
        while kill -0 "$4" 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 0.5; done
        stop
        wait $child 2>/dev/null
    "#;
    let child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("quorum-chromedriver-watchdog")
        .arg(CHROMEDRIVER)
        .arg(port.to_string())
        .arg(&log)
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {CHROMEDRIVER}: {e}"))?;
    // The watchdog is reaped by init once this process exits; keep no handle that could wait on it.
    drop(child);
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(body) = raw_http(port, "GET", "/status")
            && (body.contains("\"ready\":true") || body.contains("\"ready\": true"))
        {
            return Ok(Driver { url });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    let tail: String = log_text
        .lines()
        .rev()
        .take(20)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    Err(format!(
        "{CHROMEDRIVER} did not become ready on port {port} within 20 s; its log ({}):\n{tail}",
        log.display()
    ))
}

/// A tiny synchronous HTTP/1.1 exchange with the driver (used before any runtime work and in
/// `Drop`). Reads the headers, then `Content-Length` bytes: the driver may keep the connection open.
pub(super) fn raw_http(port: u16, method: &str, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok());
            if length.is_some_and(|l| buf.len() >= end + 4 + l) {
                break;
            }
        }
        if buf.len() > 1 << 20 {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}
