//! List cursors and limits: refused with a 400 and a message, or read back; every cursor the
//! server gives out reads back to its key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quorum::http::page::{PageQuery, encode};

fuzz_target!(|input: (&str, Option<i64>, i64)| {
    let (cursor, limit, key) = input;
    let q = PageQuery {
        limit,
        cursor: Some(cursor.to_string()),
    };
    if let Err(e) = q.parse() {
        assert_eq!(e.status().as_u16(), 400);
        assert!(!e.to_string().is_empty());
    }
    let q = PageQuery {
        limit: None,
        cursor: Some(encode(key)),
    };
    assert_eq!(q.parse().map(|p| p.after).ok(), Some(Some(key)));
});
