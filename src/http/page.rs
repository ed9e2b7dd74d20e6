//! Cursor pagination, the same on every list of the API: `?limit=N&cursor=C` in, the page's rows
//! and `"next_cursor"` (null on the last page) out.
//!
//! Lists page by keyset on a stable, unique key (the row id), never by offset: a row inserted or
//! deleted while a client walks the list neither repeats nor skips another row. The cursor is
//! opaque to clients (base64url of `v1:<last key>`); a cursor that does not decode is a 400.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, Result};

/// The default page size when a request gives no `limit`.
pub const DEFAULT_LIMIT: i64 = 100;
/// The largest page a client may ask for.
pub const MAX_LIMIT: i64 = 1000;

/// `?limit=&cursor=` of a list request.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A parsed page request: how many rows, and the key to continue after (exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<i64>,
}

impl PageQuery {
    /// Checks the limit (1..=MAX_LIMIT) and decodes the cursor.
    pub fn parse(&self) -> Result<PageRequest> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::bad_request(
                "invalid_limit",
                format!("limit: a number from 1 to {MAX_LIMIT}"),
            ));
        }
        let after = match self.cursor.as_deref() {
            None | Some("") => None,
            Some(c) => Some(decode(c).ok_or_else(|| {
                AppError::bad_request(
                    "invalid_cursor",
                    "cursor: not a cursor this server gave out (pass next_cursor back unchanged)",
                )
            })?),
        };
        Ok(PageRequest { limit, after })
    }
}

/// The opaque cursor that continues after `key`.
pub fn encode(key: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{key}"))
}

fn decode(cursor: &str) -> Option<i64> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = std::str::from_utf8(&raw).ok()?;
    text.strip_prefix("v1:")?.parse().ok()
}

/// Cuts a page from `rows`, which the query fetched with `limit + 1` rows so the extra one tells
/// whether another page follows; `key` gives a row's keyset key.
pub fn cut<T>(
    mut rows: Vec<T>,
    req: PageRequest,
    key: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<String>) {
    let more = rows.len() as i64 > req.limit;
    rows.truncate(req.limit.max(0) as usize);
    let next = if more {
        rows.last().map(|r| encode(key(r)))
    } else {
        None
    };
    (rows, next)
}

/// The `next_cursor` field every list answer carries.
#[derive(Clone, Debug, Serialize)]
pub struct NextCursor {
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_ones_are_refused() {
        let q = PageQuery {
            limit: Some(5),
            cursor: Some(encode(42)),
        };
        assert_eq!(
            q.parse().unwrap(),
            PageRequest {
                limit: 5,
                after: Some(42)
            }
        );
        for bad in ["x", "djE6", "djE6YWJj", "%%%"] {
            let q = PageQuery {
                limit: None,
                cursor: Some(bad.into()),
            };
            assert!(q.parse().is_err(), "{bad}");
        }
        for limit in [0, -1, MAX_LIMIT + 1] {
            let q = PageQuery {
                limit: Some(limit),
                cursor: None,
            };
            assert!(q.parse().is_err(), "{limit}");
        }
    }

    #[test]
    fn a_page_knows_whether_another_follows() {
        let req = PageRequest {
            limit: 2,
            after: None,
        };
        let (rows, next) = cut(vec![1, 2, 3], req, |r| *r);
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(next, Some(encode(2)));
        let (rows, next) = cut(vec![1, 2], req, |r| *r);
        assert_eq!(rows, vec![1, 2]);
        assert_eq!(next, None);
    }
}
