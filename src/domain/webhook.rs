//! Webhooks, the pure part: the events and their payloads, the body every delivery sends, its
//! HMAC-SHA256 signature, the retry backoff, and which receiver URLs and addresses are allowed
//! (security.md T14: no server-side requests to private, loopback, link-local or multicast
//! addresses unless the operator allows a range).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use hmac::{Hmac, Mac};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

/// What a webhook can be told about.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum EventKind {
    /// An export snapshot was made.
    #[serde(rename = "snapshot.ready")]
    SnapshotReady,
    /// An item import committed.
    #[serde(rename = "import.finished")]
    ImportFinished,
    /// An import's data drifted past the task's thresholds.
    #[serde(rename = "drift.detected")]
    DriftDetected,
    /// Every item of the task has its final label.
    #[serde(rename = "task.completed")]
    TaskCompleted,
}

impl EventKind {
    pub const ALL: [EventKind; 4] = [
        EventKind::SnapshotReady,
        EventKind::ImportFinished,
        EventKind::DriftDetected,
        EventKind::TaskCompleted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::SnapshotReady => "snapshot.ready",
            EventKind::ImportFinished => "import.finished",
            EventKind::DriftDetected => "drift.detected",
            EventKind::TaskCompleted => "task.completed",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks a list of event names: at least one, each known; sorted, without repeats.
pub fn parse_events<S: AsRef<str>>(names: &[S]) -> Result<Vec<EventKind>, String> {
    let mut out = Vec::new();
    for n in names {
        let n = n.as_ref().trim();
        let k = EventKind::parse(n).ok_or_else(|| {
            format!(
                "events: unknown event {n:?}; use {}",
                EventKind::ALL.map(EventKind::as_str).join(", ")
            )
        })?;
        out.push(k);
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err("events: choose at least one event".into());
    }
    Ok(out)
}

/// The stored form of an event list (`a,b`), and back (unknown names are dropped).
pub fn join_events(events: &[EventKind]) -> String {
    events
        .iter()
        .map(|e| e.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub fn split_events(stored: &str) -> Vec<EventKind> {
    stored.split(',').filter_map(EventKind::parse).collect()
}

/// `snapshot.ready`: a snapshot's file is stored and recorded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SnapshotReady {
    pub export_id: i64,
    pub format: String,
    pub rows: i64,
    pub bytes: i64,
    pub sha256: String,
    /// Where to download it (relative to the server's base URL; needs a token that may export).
    pub download_path: String,
}

/// `import.finished`: an import committed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportFinished {
    pub import_id: i64,
    /// Records read.
    pub rows: u64,
    /// Items stored.
    pub imported: u64,
    /// Records whose external id the task already had.
    pub skipped_duplicates: u64,
    /// Anomalies found by data validation, counted by kind (`null` when the import was not
    /// validated).
    pub anomalies: Option<BTreeMap<String, u64>>,
}

/// One field whose distribution moved past its threshold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DriftedField {
    pub field: String,
    /// `linf` (categorical values) or `jensen_shannon` (numbers, text length).
    pub measure: String,
    pub distance: f64,
    pub threshold: f64,
}

/// `drift.detected`: an import's data drifted from the earlier imports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DriftDetected {
    pub import_id: i64,
    pub fields: Vec<DriftedField>,
}

/// `task.completed`: the last open item of the task got its final label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskCompleted {
    pub task_name: String,
}

/// An event with its payload.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    SnapshotReady(SnapshotReady),
    ImportFinished(ImportFinished),
    DriftDetected(DriftDetected),
    TaskCompleted(TaskCompleted),
}

impl Event {
    pub fn kind(&self) -> EventKind {
        match self {
            Event::SnapshotReady(_) => EventKind::SnapshotReady,
            Event::ImportFinished(_) => EventKind::ImportFinished,
            Event::DriftDetected(_) => EventKind::DriftDetected,
            Event::TaskCompleted(_) => EventKind::TaskCompleted,
        }
    }

    /// The payload as JSON (the `data` of the body).
    pub fn data(&self) -> serde_json::Value {
        let v = match self {
            Event::SnapshotReady(d) => serde_json::to_value(d),
            Event::ImportFinished(d) => serde_json::to_value(d),
            Event::DriftDetected(d) => serde_json::to_value(d),
            Event::TaskCompleted(d) => serde_json::to_value(d),
        };
        v.unwrap_or(serde_json::Value::Null)
    }
}

/// The body every delivery of an event sends, byte for byte the same on every attempt:
/// `{"id", "type", "created_at", "task_id", "data"}`.
pub fn body(event_id: &str, event: &Event, task_id: i64, created_at_rfc3339: &str) -> String {
    serde_json::json!({
        "id": event_id,
        "type": event.kind().as_str(),
        "created_at": created_at_rfc3339,
        "task_id": task_id,
        "data": event.data(),
    })
    .to_string()
}

/// `hex(HMAC-SHA256(secret, timestamp + "." + body))`: the `Quorum-Signature` header's value
/// after `sha256=`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length: this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// When to try again after `failed` attempts (1 after the first): `base · 2^(failed−1)`, at most
/// `cap`, plus up to half of it again at random (`jitter` in 0..1), so receivers that came back
/// are not hit by every sender at once.
pub fn backoff_ms(failed: i64, base_ms: i64, cap_ms: i64, jitter: f64) -> i64 {
    let exp = failed.clamp(1, 40) - 1;
    let delay = base_ms
        .max(1)
        .saturating_mul(1i64 << exp.min(40))
        .min(cap_ms.max(1));
    let jitter = jitter.clamp(0.0, 1.0);
    delay.saturating_add((delay as f64 * 0.5 * jitter) as i64)
}

/// A receiver URL, checked: `http` or `https`, a host, no user info.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    /// The host as written (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    /// `/path?query` (at least `/`).
    pub path: String,
    /// The `Host` header: the host as written, with the port unless it is the scheme's default.
    pub host_header: String,
}

impl Target {
    /// The host as an IP address, when the URL names one directly.
    pub fn literal_ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

/// Parses and checks a receiver URL; the message says what is wrong.
pub fn parse_url(url: &str) -> Result<Target, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("url: required".into());
    }
    if url.len() > 2000 {
        return Err("url: longer than 2000 characters".into());
    }
    match url.split_once("://") {
        Some((scheme, _))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") => {}
        Some((scheme, _)) => {
            return Err(format!(
                "url: the scheme must be http or https, not {scheme:?}"
            ));
        }
        None => return Err("url: must start with http:// or https://".into()),
    }
    let uri: http::Uri = url
        .parse()
        .map_err(|_| format!("url: {url:?} is not a URL"))?;
    let https = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        Some(other) => {
            return Err(format!(
                "url: the scheme must be http or https, not {other}"
            ));
        }
        None => return Err("url: must start with http:// or https://".into()),
    };
    let authority = uri
        .authority()
        .ok_or_else(|| "url: has no host".to_string())?;
    if authority.as_str().contains('@') {
        return Err("url: user names and passwords in the URL are not allowed".into());
    }
    let raw_host = authority.host();
    let host = raw_host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err("url: has no host".into());
    }
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    let path = uri
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| !p.is_empty())
        .unwrap_or("/");
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let default_port = if https { 443 } else { 80 };
    let host_header = if port == default_port {
        raw_host.to_string()
    } else {
        format!("{raw_host}:{port}")
    };
    Ok(Target {
        https,
        host: host.to_ascii_lowercase(),
        port,
        path,
        host_header,
    })
}

/// Why a webhook may not be sent to `ip` unless an allowed range holds it, or `None` when it is
/// a public address.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_v4(v4);
            }
            let s = v6.segments();
            if v6.is_unspecified() {
                Some("unspecified")
            } else if v6.is_loopback() {
                Some("loopback")
            } else if s[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if s[0] & 0xfe00 == 0xfc00 {
                Some("private (unique local)")
            } else if s[0] & 0xff00 == 0xff00 {
                Some("multicast")
            } else if s[0] == 0x64 && s[1] == 0xff9b {
                // NAT64: the IPv4 address it stands for decides.
                let v4 =
                    Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
                forbidden_v4(v4)
            } else if s[0] == 0x2001 && s[1] == 0x0db8 {
                Some("documentation")
            } else if s[0] == 0 && s[1] == 0 && s[2] == 0 && s[3] == 0 && s[4] == 0 && s[5] == 0 {
                // The deprecated IPv4-compatible form ::a.b.c.d.
                Some("reserved")
            } else {
                None
            }
        }
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if ip.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if ip.is_broadcast()
        || o[0] >= 240
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        || (o[0] == 198 && (o[1] & 0xfe) == 18)
    {
        // Broadcast, 240/4, IETF protocol assignments (192.0.0/24), benchmarking (198.18/15).
        Some("reserved")
    } else if ip.is_documentation() {
        Some("documentation")
    } else {
        None
    }
}

/// Whether a webhook may be sent to `ip`: a public address, or one inside an allowed range.
pub fn check_address(ip: IpAddr, allow: &[IpNet]) -> Result<(), String> {
    let canonical = match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    if allow
        .iter()
        .any(|net| net.contains(&ip) || net.contains(&canonical))
    {
        return Ok(());
    }
    match forbidden_reason(ip) {
        None => Ok(()),
        Some(why) => Err(format!(
            "the address {ip} is {why}: webhooks are not sent there unless the server allows the range (--webhook-allow / QUORUM_WEBHOOK_ALLOW)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_parse_sort_and_refuse_unknown_names() {
        assert_eq!(
            parse_events(&["task.completed", "snapshot.ready", "task.completed"]).unwrap(),
            vec![EventKind::SnapshotReady, EventKind::TaskCompleted]
        );
        assert!(parse_events(&["nope"]).unwrap_err().contains("\"nope\""));
        assert!(parse_events::<&str>(&[]).is_err());
        let all = EventKind::ALL.to_vec();
        assert_eq!(split_events(&join_events(&all)), all);
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231 test case 2 is HMAC("Jefe", "what do ya want for nothing?"): split it as
        // timestamp "what do ya want for nothing?" would not be a number, so check by recomputing.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec_x").unwrap();
        mac.update(b"1700000000.{\"a\":1}");
        let want = hex::encode(mac.finalize().into_bytes());
        assert_eq!(sign("whsec_x", 1_700_000_000, b"{\"a\":1}"), want);
        assert_ne!(sign("whsec_y", 1_700_000_000, b"{\"a\":1}"), want);
        assert_eq!(want.len(), 64);
    }

    #[test]
    fn backoff_doubles_is_capped_and_jitters_upwards() {
        assert_eq!(backoff_ms(1, 1000, 60_000, 0.0), 1000);
        assert_eq!(backoff_ms(2, 1000, 60_000, 0.0), 2000);
        assert_eq!(backoff_ms(4, 1000, 60_000, 0.0), 8000);
        assert_eq!(backoff_ms(30, 1000, 60_000, 0.0), 60_000);
        assert_eq!(backoff_ms(1, 1000, 60_000, 1.0), 1500);
        assert_eq!(backoff_ms(100, i64::MAX, i64::MAX, 1.0), i64::MAX);
    }

    #[test]
    fn urls_are_checked() {
        let t = parse_url("http://Example.com:8080/hook?x=1").unwrap();
        assert_eq!(
            (t.https, t.host.as_str(), t.port, t.path.as_str()),
            (false, "example.com", 8080, "/hook?x=1")
        );
        assert_eq!(t.host_header, "Example.com:8080");
        let t = parse_url("https://[2606:4700::1]/").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("2606:4700::1", 443));
        assert!(t.literal_ip().is_some());
        assert_eq!(parse_url("http://a.example").unwrap().path, "/");
        for bad in [
            "",
            "ftp://x/",
            "file:///etc/passwd",
            "gopher://x",
            "//x/y",
            "http://user:pw@x/",
            "not a url",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn private_addresses_are_refused_unless_allowed() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(check_address(ip, &[]).is_err(), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(check_address(ip, &[]).is_ok(), "{ip}");
        }
        let allow: Vec<IpNet> = vec!["127.0.0.1/32".parse().unwrap()];
        assert!(check_address("127.0.0.1".parse().unwrap(), &allow).is_ok());
        assert!(check_address("::ffff:127.0.0.1".parse().unwrap(), &allow).is_ok());
        assert!(check_address("127.0.0.2".parse().unwrap(), &allow).is_err());
        assert!(
            check_address("10.0.0.1".parse().unwrap(), &allow)
                .unwrap_err()
                .contains("private")
        );
    }

    #[test]
    fn the_body_carries_the_event_and_its_data() {
        let e = Event::ImportFinished(ImportFinished {
            import_id: 3,
            rows: 2,
            imported: 1,
            skipped_duplicates: 1,
            anomalies: None,
        });
        let b: serde_json::Value =
            serde_json::from_str(&body("ev1", &e, 7, "2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(b["type"], "import.finished");
        assert_eq!(b["id"], "ev1");
        assert_eq!(b["task_id"], 7);
        assert_eq!(b["data"]["imported"], 1);
        assert!(b["data"]["anomalies"].is_null());
    }
}
