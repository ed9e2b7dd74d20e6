//! The authorization matrix: its file's format and parser, and every route × role checked against
//! it through the session cookie and through a bearer token.

use std::collections::{BTreeMap, BTreeSet};

use quorum::app::route_list;

use super::{Cred, fill, send, world};
use crate::support::*;

const MATRIX_FILE: &str = "tests/it/authz_matrix.txt";
const MATRIX: &str = include_str!("../authz_matrix.txt");

const WHO: [&str; 4] = ["anonymous", "rater", "reviewer", "admin"];

/// What a request came to, as far as authorization goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// An HTML request without a session: 303 to `/login?next=…`.
    Login,
    /// 401 (the API without credentials).
    Unauthorized,
    /// 403: signed in, but the role may not.
    Forbidden,
    /// Let through: any other answer (2xx, 3xx, or a 4xx such as 404/422 from the handler itself).
    Ok,
    /// Let through for anonymous visitors: the route needs no sign-in (login page, invite links, …).
    Public,
}

impl Outcome {
    fn parse(s: &str) -> Option<Outcome> {
        Some(match s {
            "login" => Outcome::Login,
            "401" => Outcome::Unauthorized,
            "403" => Outcome::Forbidden,
            "ok" => Outcome::Ok,
            "public" => Outcome::Public,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Outcome::Login => "login",
            Outcome::Unauthorized => "401",
            Outcome::Forbidden => "403",
            Outcome::Ok => "ok",
            Outcome::Public => "public",
        }
    }

    /// Observed outcomes are never `Public`; `public` in the file means "let through".
    fn matches(self, observed: Outcome) -> bool {
        match self {
            Outcome::Public => observed == Outcome::Ok,
            e => e == observed,
        }
    }
}

fn classify(res: &reqwest::Response) -> Outcome {
    match res.status().as_u16() {
        401 => Outcome::Unauthorized,
        403 => Outcome::Forbidden,
        300..=399 if location(res).starts_with("/login?next=") => Outcome::Login,
        _ => Outcome::Ok,
    }
}

struct Row {
    line_no: usize,
    line: String,
    cells: [Outcome; 4],
}

/// Parses the matrix file; every malformed line is reported with its number.
fn parse_matrix(text: &str) -> (BTreeMap<(String, String), Row>, Vec<String>) {
    let mut rows = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.len() != 6 {
            problems.push(format!("{MATRIX_FILE}:{line_no}: expected `METHOD PATH anonymous=… rater=… reviewer=… admin=…`, got `{line}`"));
            continue;
        }
        let mut cells = [Outcome::Ok; 4];
        let mut ok = true;
        for (n, who) in WHO.iter().enumerate() {
            let cell = parts[2 + n];
            match cell
                .strip_prefix(who)
                .and_then(|r| r.strip_prefix('='))
                .and_then(Outcome::parse)
            {
                Some(Outcome::Ok) if n == 0 => {
                    problems.push(format!("{MATRIX_FILE}:{line_no}: write `anonymous=public` for a route open to anonymous visitors (in `{line}`)"));
                    ok = false;
                }
                Some(Outcome::Public) if n > 0 => {
                    problems.push(format!("{MATRIX_FILE}:{line_no}: `public` is for the anonymous column; write `{who}=ok` (in `{line}`)"));
                    ok = false;
                }
                Some(o) => cells[n] = o,
                None => {
                    problems.push(format!(
                        "{MATRIX_FILE}:{line_no}: column {} must be `{who}=login|401|403|ok{}`, got `{cell}`",
                        n + 3,
                        if n == 0 { "|public" } else { "" }
                    ));
                    ok = false;
                }
            }
        }
        let key = (parts[0].to_string(), parts[1].to_string());
        if !seen.insert(key.clone()) {
            problems.push(format!(
                "{MATRIX_FILE}:{line_no}: `{} {}` is listed twice",
                key.0, key.1
            ));
        } else if ok {
            rows.insert(
                key,
                Row {
                    line_no,
                    line: line.to_string(),
                    cells,
                },
            );
        }
    }
    (rows, problems)
}

#[tokio::test]
async fn every_route_matches_the_authz_matrix() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (rows, mut problems) = parse_matrix(MATRIX);
    let routes: BTreeSet<(String, String)> = route_list()
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();

    for (key, row) in &rows {
        if !routes.contains(key) {
            problems.push(format!(
                "{MATRIX_FILE}:{}: `{}` names a route the router does not have: remove the line",
                row.line_no, row.line
            ));
        }
    }
    let mut missing = Vec::new();
    for (method, path) in &routes {
        let filled = fill(path, &w, false);
        // Observe every cell, through the session and (for signed-in users) a bearer token.
        let mut observed = [Outcome::Ok; 4];
        let mut details = Vec::new();
        for (n, who) in WHO.iter().enumerate() {
            let mut seen = Vec::new();
            if n == 0 {
                let res = send(&app, method, &filled, Cred::Anonymous).await;
                seen.push(("anonymous", res.status().as_u16(), classify(&res)));
                if method == "GET" {
                    let res = send(&app, "HEAD", &filled, Cred::Anonymous).await;
                    seen.push(("anonymous HEAD", res.status().as_u16(), classify(&res)));
                }
            } else {
                let session = app.session_for(&w.users[who]).await;
                let res = send(&app, method, &filled, Cred::Session(&session)).await;
                seen.push(("session", res.status().as_u16(), classify(&res)));
                let res = send(&app, method, &filled, Cred::Bearer(&w.tokens[who])).await;
                seen.push(("bearer token", res.status().as_u16(), classify(&res)));
                if method == "GET" {
                    let session = app.session_for(&w.users[who]).await;
                    let res = send(&app, "HEAD", &filled, Cred::Session(&session)).await;
                    seen.push(("session HEAD", res.status().as_u16(), classify(&res)));
                }
            }
            observed[n] = seen[0].2;
            details.push((*who, seen));
        }
        match rows.get(&(method.clone(), path.clone())) {
            None => {
                let cells: Vec<String> = WHO
                    .iter()
                    .zip(observed)
                    .map(|(who, o)| {
                        format!(
                            "{who}={}",
                            if *who == "anonymous" && o == Outcome::Ok {
                                "public"
                            } else {
                                o.name()
                            }
                        )
                    })
                    .collect();
                missing.push(format!("    {method} {path} {}", cells.join(" ")));
            }
            Some(row) => {
                for (n, (who, seen)) in details.iter().enumerate() {
                    for (how, status, outcome) in seen {
                        if !row.cells[n].matches(*outcome) {
                            problems.push(format!(
                                "{method} {path} (as {filled}) for {who} via {how}: the matrix says {} ({MATRIX_FILE}:{}), the server answered {status} = {}",
                                row.cells[n].name(),
                                row.line_no,
                                outcome.name()
                            ));
                        }
                    }
                }
            }
        }
    }
    if !missing.is_empty() {
        problems.push(format!(
            "routes in quorum::app::route_list() but not in {MATRIX_FILE}; add these lines (the outcomes are what the server answers now: check each is what you intend):\n{}",
            missing.join("\n")
        ));
    }
    assert!(
        problems.is_empty(),
        "authorization matrix failures:\n  {}",
        problems.join("\n  ")
    );
    app.stop().await;
}

#[test]
fn the_matrix_parser_reports_bad_lines() {
    let (rows, problems) = parse_matrix(
        "# comment\nGET / anonymous=login rater=ok reviewer=ok admin=ok\nGET /x anonymous=ok rater=ok reviewer=ok admin=ok\nGET /y anonymous=public rater=maybe reviewer=ok admin=ok\nGET / anonymous=login rater=ok reviewer=ok admin=ok\nPOST /z\n",
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].contains(":3: write `anonymous=public`"));
    assert!(problems[1].contains(":4: column 4 must be `rater=login|401|403|ok`"));
    assert!(problems[2].contains(":5: `GET /` is listed twice"));
    assert!(problems[3].contains(":6: expected `METHOD PATH"));
    assert!(Outcome::Public.matches(Outcome::Ok) && !Outcome::Ok.matches(Outcome::Forbidden));
}
