//! `Range` and `If-None-Match` headers: a partial range always lies inside the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quorum::export::range::{RangeAnswer, matches_etag, parse_range};

fuzz_target!(|input: (&str, u32)| {
    let (value, len) = input;
    let len = u64::from(len);
    if let RangeAnswer::Partial(start, end) = parse_range(value, len) {
        assert!(start <= end && end < len);
    }
    let _ = matches_etag(value, "\"abc\"");
});
