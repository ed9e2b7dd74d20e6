//! Markdown instructions, `Range` headers and list cursors.

use proptest::prelude::*;
use quorum::domain::markdown::render;
use quorum::export::range::{RangeAnswer, matches_etag, parse_range};
use quorum::http::page::{PageQuery, encode};

use super::config;

proptest! {
    #![proptest_config(config())]

    /// Any Markdown renders, and never with a script or an event handler.
    #[test]
    fn markdown_renders_safely(md in "(?s).{0,400}", tag in prop_oneof![
        Just("<script>alert(1)</script>"), Just("<img src=x onerror=alert(1)>"),
        Just("[x](javascript:alert(1))"), Just("<a href='javascript:1'>y</a>"), Just("")]) {
        let html = render(&format!("{md}\n{tag}\n{md}"));
        // Escaped text may mention anything; no element may be a script or carry a handler or a
        // javascript: link.
        let doc = scraper::Html::parse_fragment(&html);
        for node in doc.tree.nodes() {
            if let Some(el) = node.value().as_element() {
                prop_assert!(el.name() != "script", "{}", html);
                for (name, value) in el.attrs() {
                    prop_assert!(!name.to_lowercase().starts_with("on"), "{}", html);
                    prop_assert!(!value.trim().to_lowercase().starts_with("javascript:"), "{}", html);
                }
            }
        }
    }

    #[test]
    fn markdown_of_markup_characters(md in "[#*_`>\\[\\]()!<|~\\-\n 0-9a-z]{0,300}") {
        let _ = render(&md);
    }

    /// A partial range always lies inside the file.
    #[test]
    fn range_headers(value in "(?s).{0,40}", len in 0u64..10_000) {
        check_range(&value, len)?;
    }

    #[test]
    fn range_headers_near_valid(a in "[0-9]{0,21}", b in "[0-9]{0,21}", unit in prop_oneof![Just("bytes"), Just("BYTES"), Just("items")], len in 0u64..10_000) {
        check_range(&format!("{unit}={a}-{b}"), len)?;
        check_range(&format!("{unit}={a}-{b},{b}-{a}"), len)?;
        let _ = matches_etag(&format!("W/\"{a}\", \"{b}\""), &format!("\"{a}\""));
    }

    /// Every cursor the server gives out reads back; anything else is a 400 with a message.
    #[test]
    fn cursors(cursor in "(?s).{0,40}", limit in prop::option::of(any::<i64>()), key in any::<i64>()) {
        let q = PageQuery { limit, cursor: Some(cursor) };
        if let Err(e) = q.parse() {
            prop_assert!(!e.to_string().trim().is_empty());
            prop_assert_eq!(e.status().as_u16(), 400);
        }
        let q = PageQuery { limit: None, cursor: Some(encode(key)) };
        prop_assert_eq!(q.parse().map(|p| p.after).ok(), Some(Some(key)));
    }
}

fn check_range(value: &str, len: u64) -> Result<(), TestCaseError> {
    match parse_range(value, len) {
        RangeAnswer::Partial(start, end) => {
            prop_assert!(
                start <= end && end < len,
                "{value:?} of {len}: {start}-{end}"
            );
        }
        RangeAnswer::Unsatisfiable | RangeAnswer::Full => {}
    }
    Ok(())
}
