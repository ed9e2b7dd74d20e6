//! What an API token may do. A scope narrows a token to some routes; inside them the owner's role
//! still decides (a `metrics` token of a rater is still refused `/metrics`). Sessions have no scope.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The scope of an API token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// Everything the owner may do (the default).
    #[default]
    Full,
    /// Reads only: `GET` and `HEAD`, anywhere the owner may read.
    Read,
    /// `GET /metrics` only, for a Prometheus scraper.
    Metrics,
    /// Reading, creating and downloading export snapshots of tasks the owner may export.
    Exports,
    /// Labeling as the owner: lease shards, read them, submit and skip.
    Label,
}

/// Routes open to anyone (no credentials needed), so admitted whatever the scope.
const PUBLIC: &[&str] = &["/healthz", "/api/v1/openapi.json", "/static/{file}"];

const EXPORTS: &[(&str, &str)] = &[
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/tasks/{id}/exports"),
    ("POST", "/api/v1/tasks/{id}/exports"),
    ("GET", "/api/v1/tasks/{id}/export-settings"),
    ("GET", "/api/v1/exports/{id}"),
    ("GET", "/api/v1/exports/{id}/download"),
];

const LABEL: &[(&str, &str)] = &[
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/tasks"),
    ("GET", "/api/v1/tasks/{id}"),
    ("GET", "/api/v1/tasks/{id}/progress"),
    ("GET", "/api/v1/tasks/{id}/instructions"),
    ("POST", "/api/v1/tasks/{id}/instructions/ack"),
    ("POST", "/api/v1/tasks/{id}/shards"),
    ("GET", "/api/v1/shards/{id}"),
    ("POST", "/api/v1/shards/{id}/labels"),
    ("POST", "/api/v1/shards/{id}/skip"),
];

impl TokenScope {
    pub const ALL: [TokenScope; 5] = [
        TokenScope::Full,
        TokenScope::Read,
        TokenScope::Metrics,
        TokenScope::Exports,
        TokenScope::Label,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Full => "full",
            TokenScope::Read => "read",
            TokenScope::Metrics => "metrics",
            TokenScope::Exports => "exports",
            TokenScope::Label => "label",
        }
    }

    /// Parses a stored or submitted scope name.
    pub fn parse(s: &str) -> Option<TokenScope> {
        TokenScope::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// One line for the tokens page and `--help`.
    pub fn describe(self) -> &'static str {
        match self {
            TokenScope::Full => "everything you may do",
            TokenScope::Read => "read only (GET)",
            TokenScope::Metrics => "GET /metrics only",
            TokenScope::Exports => "read, create and download exports",
            TokenScope::Label => "label: lease, submit, skip, read own shards",
        }
    }

    /// True when a request `method path` (the raw path, no query) falls inside this scope. `HEAD`
    /// goes with `GET`. The owner's role is checked afterwards, by the route.
    pub fn admits(self, method: &str, path: &str) -> bool {
        let method = if method == "HEAD" { "GET" } else { method };
        if method == "GET" && PUBLIC.iter().any(|p| matches(p, path)) {
            return true;
        }
        let listed =
            |routes: &[(&str, &str)]| routes.iter().any(|(m, p)| *m == method && matches(p, path));
        match self {
            TokenScope::Full => true,
            TokenScope::Read => method == "GET",
            TokenScope::Metrics => method == "GET" && path == "/metrics",
            TokenScope::Exports => listed(EXPORTS),
            TokenScope::Label => listed(LABEL),
        }
    }
}

impl std::fmt::Display for TokenScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// True when `path` fits the route `pattern`, where a `{name}` segment matches any one non-empty
/// segment.
fn matches(pattern: &str, path: &str) -> bool {
    let mut p = pattern.split('/');
    let mut s = path.split('/');
    loop {
        match (p.next(), s.next()) {
            (None, None) => return true,
            (Some(want), Some(got)) => {
                let wild = want.starts_with('{') && want.ends_with('}');
                if !(wild && !got.is_empty() || want == got) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in TokenScope::ALL {
            assert_eq!(TokenScope::parse(s.as_str()), Some(s));
        }
        assert_eq!(TokenScope::parse("admin"), None);
    }

    #[test]
    fn patterns() {
        assert!(matches("/api/v1/shards/{id}", "/api/v1/shards/7"));
        assert!(!matches("/api/v1/shards/{id}", "/api/v1/shards/"));
        assert!(!matches("/api/v1/shards/{id}", "/api/v1/shards/7/labels"));
        assert!(!matches("/metrics", "/metrics/"));
    }

    #[test]
    fn each_scope() {
        use TokenScope::*;
        assert!(Full.admits("DELETE", "/api/v1/invites/3"));
        assert!(Read.admits("GET", "/api/v1/tasks"));
        assert!(Read.admits("HEAD", "/api/v1/tasks"));
        assert!(!Read.admits("POST", "/api/v1/tasks"));
        assert!(Metrics.admits("GET", "/metrics"));
        assert!(!Metrics.admits("GET", "/api/v1/me"));
        assert!(Metrics.admits("GET", "/healthz"));
        assert!(Exports.admits("POST", "/api/v1/tasks/1/exports"));
        assert!(Exports.admits("GET", "/api/v1/exports/9/download"));
        assert!(!Exports.admits("PATCH", "/api/v1/tasks/1/export-settings"));
        assert!(!Exports.admits("POST", "/api/v1/shards/1/labels"));
        assert!(Label.admits("POST", "/api/v1/shards/1/labels"));
        assert!(Label.admits("POST", "/api/v1/tasks/1/shards"));
        assert!(!Label.admits("GET", "/api/v1/tasks/1/items"));
        assert!(!Label.admits("GET", "/metrics"));
    }
}
