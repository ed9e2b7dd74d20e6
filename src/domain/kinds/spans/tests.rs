//! The spans kind on hand-worked cases (the same as docs/label-kinds.md).

use serde_json::json;

use super::*;

fn spec(allow_overlap: bool) -> SpansSpec {
    let s: SpansSpec = serde_json::from_value(json!({"labels": [
        {"value": "PER", "label": "Person", "hotkey": "p", "color": "#e4572e"},
        {"value": "LOC", "label": "Place", "hotkey": "l"}], "allow_overlap": allow_overlap}))
    .unwrap();
    s.check().unwrap();
    s
}

fn sp(start: usize, end: usize, label: &str) -> Span {
    Span {
        start,
        end,
        label: label.into(),
    }
}

const TEXT: &str = "Ada Lovelace met Charles Babbage in London.";

#[test]
fn values_are_checked_against_the_schema_and_the_text() {
    let s = spec(false);
    let data = json!({"text": TEXT});
    let v = s
        .check_value(&json!([{"start": 17, "end": 32, "label": "PER"}, {"start": 0, "end": 12, "label": "PER"}]))
        .unwrap();
    assert_eq!(v[0]["start"], 0, "sorted");
    s.check_text(&v, &data).unwrap();
    assert_eq!(s.check_value(&json!([])).unwrap(), json!([]));
    for (bad, why) in [
        (json!({"start": 0}), "a list"),
        (
            json!([{"start": 5, "end": 5, "label": "PER"}]),
            "before end",
        ),
        (
            json!([{"start": 6, "end": 2, "label": "PER"}]),
            "before end",
        ),
        (
            json!([{"start": -1, "end": 2, "label": "PER"}]),
            "start must be",
        ),
        (
            json!([{"start": 0, "end": 2.5, "label": "PER"}]),
            "end must be",
        ),
        (
            json!([{"start": 0, "end": 2, "label": "ORG"}]),
            "not one of",
        ),
        (json!([{"start": 0, "end": 2}]), "label must be"),
        (
            json!([{"start": 0, "end": 2, "label": "PER", "score": 1}]),
            "unknown field",
        ),
        (
            json!([{"start": 0, "end": 3, "label": "PER"}, {"start": 0, "end": 3, "label": "PER"}]),
            "twice",
        ),
        (
            json!([{"start": 0, "end": 12, "label": "PER"}, {"start": 4, "end": 20, "label": "LOC"}]),
            "overlap",
        ),
    ] {
        let e = s.check_value(&bad).unwrap_err();
        assert!(e.contains(why), "{bad}: {e}");
    }
    // 43 characters: a span ending at 44 is past the end.
    let e = s
        .check_text(&json!([{"start": 36, "end": 44, "label": "LOC"}]), &data)
        .unwrap_err();
    assert!(
        e.contains("past the end of the text (43 characters)"),
        "{e}"
    );
    // Offsets count scalar values: "😀 Zoë" is 5 of them (7 UTF-16 units, 10 bytes).
    let d = json!({"text": "😀 Zoë"});
    s.check_text(&json!([{"start": 2, "end": 5, "label": "PER"}]), &d)
        .unwrap();
    assert!(
        s.check_text(&json!([{"start": 2, "end": 6, "label": "PER"}]), &d)
            .is_err()
    );
    assert!(s.check_text(&json!([]), &json!({"body": "x"})).is_err());
    // Overlap allowed: nested spans are fine.
    spec(true)
        .check_value(&json!([{"start": 0, "end": 12, "label": "PER"}, {"start": 4, "end": 12, "label": "LOC"}]))
        .unwrap();
}

#[test]
fn bad_schemas_name_the_field() {
    for (bad, why) in [
        (json!({"labels": []}), "labels"),
        (
            json!({"labels": [{"value": "A B", "label": "x"}]}),
            "no spaces",
        ),
        (
            json!({"labels": [{"value": "A", "label": "x", "hotkey": "1"}]}),
            "hotkey",
        ),
        (
            json!({"labels": [{"value": "A", "label": "x", "hotkey": "["}]}),
            "hotkey",
        ),
        (
            json!({"labels": [{"value": "A", "label": "x", "hotkey": "a"}, {"value": "B", "label": "y", "hotkey": "A"}]}),
            "twice",
        ),
        (
            json!({"labels": [{"value": "A", "label": "x", "color": "red"}]}),
            "colour",
        ),
        (
            json!({"field": "", "labels": [{"value": "A", "label": "x"}]}),
            "field",
        ),
    ] {
        let s: SpansSpec = serde_json::from_value(bad.clone()).unwrap();
        let e = s.check().unwrap_err();
        assert!(e.contains(why), "{bad}: {e}");
    }
}

#[test]
fn the_tokenizer_and_bio_tags() {
    let toks = |t: &str| -> Vec<String> {
        let chars: Vec<char> = t.chars().collect();
        tokenize(t)
            .iter()
            .map(|k| chars[k.start..k.end].iter().collect())
            .collect()
    };
    assert_eq!(
        toks("Dr. O'Neil, 42"),
        ["Dr", ".", "O", "'", "Neil", ",", "42"]
    );
    assert_eq!(toks("é😀ab  c"), ["é", "😀", "ab", "c"]);
    assert_eq!(tokenize("é😀ab")[2], Token { start: 2, end: 4 });
    let t = tokenize(TEXT);
    let tags = bio(
        &t,
        &[sp(0, 12, "PER"), sp(17, 32, "PER"), sp(36, 42, "LOC")],
    );
    assert_eq!(
        tags,
        ["B-PER", "I-PER", "O", "B-PER", "I-PER", "O", "B-LOC", "O"]
    );
    // Nested: the span starting first (then the longest) wins.
    let tags = bio(&t, &[sp(4, 12, "LOC"), sp(0, 12, "PER")]);
    assert_eq!(&tags[..3], ["B-PER", "I-PER", "O"]);
    assert_eq!(
        non_overlapping(&[sp(4, 12, "LOC"), sp(0, 12, "PER"), sp(13, 16, "LOC")]),
        vec![sp(0, 12, "PER"), sp(13, 16, "LOC")]
    );
}

/// docs/label-kinds.md, "spans": three raters; Person 0–12 is marked by all three (one with
/// 0–3), Place 17–24 by one. Person is kept with the boundaries two raters gave; Place (1/3,
/// below 1 − 0.5) is dropped; confidence min(1, max(1/3, 2/3)) = 2/3.
#[test]
fn resolution_keeps_spans_most_raters_marked() {
    let s = spec(false);
    let r1 =
        json!([{"start": 0, "end": 12, "label": "PER"}, {"start": 17, "end": 24, "label": "LOC"}]);
    let r2 = json!([{"start": 0, "end": 3, "label": "PER"}]);
    let r3 = json!([{"start": 0, "end": 12, "label": "PER"}]);
    match decide(&s, &[r1.clone(), r2.clone(), r3.clone()], 0.5, 3, 5) {
        Decision::Resolved {
            value,
            method,
            confidence,
            ..
        } => {
            assert_eq!(value, json!([{"start": 0, "end": 12, "label": "PER"}]));
            assert_eq!(method, "majority");
            assert!((confidence - 2.0 / 3.0).abs() < 1e-12);
        }
        other => panic!("{other:?}"),
    }
    // Two raters, one marks Place and the other does not: at threshold 0.5 half is enough to
    // keep it; at 0.6 half is neither kept (< 0.6) nor dropped (≥ 0.4): a conflict.
    match decide(&s, &[r1.clone(), r3.clone()], 0.5, 2, 3) {
        Decision::Resolved { value, .. } => assert_eq!(value, r1),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        decide(&s, &[r1.clone(), r3.clone()], 0.6, 2, 3),
        Decision::MoreLabels { .. }
    ));
    assert!(matches!(
        decide(&s, &[r1, r3], 0.6, 3, 3),
        Decision::Adjudicate { .. }
    ));
    // Everyone says "no entities": resolved, unanimous, confidence 1.
    match decide(&s, &[json!([]), json!([])], 0.5, 2, 2) {
        Decision::Resolved {
            value,
            method,
            confidence,
            ..
        } => {
            assert_eq!((value, method, confidence), (json!([]), "unanimous", 1.0));
        }
        other => panic!("{other:?}"),
    }
    // The same label marked twice by one rater never counts as two raters.
    let twice =
        json!([{"start": 0, "end": 3, "label": "PER"}, {"start": 4, "end": 12, "label": "PER"}]);
    match decide(&s, &[twice, r2, json!([])], 0.5, 3, 3) {
        Decision::Resolved { value, .. } => {
            assert_eq!(value, json!([{"start": 0, "end": 3, "label": "PER"}]));
        }
        other => panic!("{other:?}"),
    }
}

/// docs/label-kinds.md: A = Person 0–12, Place 17–24; B = Person 0–3, Place 17–24. Exact:
/// 1 match, F1 = 2·1/(2+2) = 0.5. Overlap: 2 matches, F1 = 1.
#[test]
fn span_f1_exact_and_overlap() {
    let a = vec![sp(0, 12, "PER"), sp(17, 24, "LOC")];
    let b = vec![sp(0, 3, "PER"), sp(17, 24, "LOC")];
    assert_eq!(matches(&a, &b, true), (1, 2, 2));
    assert_eq!(matches(&a, &b, false), (2, 2, 2));
    let items = [vec![a.clone(), b.clone()]];
    assert_eq!(
        pairwise_f1(items.iter().map(Vec::as_slice), true),
        Some(0.5)
    );
    assert_eq!(
        pairwise_f1(items.iter().map(Vec::as_slice), false),
        Some(1.0)
    );
    // Overlap matching is one to one: two spans of B cannot both match one of A.
    let c = vec![sp(0, 3, "PER"), sp(4, 12, "PER")];
    assert_eq!(matches(&a, &c, false), (1, 2, 2));
    // Nobody marked anything: undefined.
    let empty = [vec![Vec::new(), Vec::new()]];
    assert_eq!(pairwise_f1(empty.iter().map(Vec::as_slice), false), None);
}
