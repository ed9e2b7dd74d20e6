//! The generated data: deterministic review texts to import, and the answers a simulated rater
//! gives (right 80% of the time).

use serde_json::json;

/// splitmix64: a small, good, deterministic mixer for generated texts and answers.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

const WORDS: &[&str] = &[
    "the",
    "service",
    "was",
    "quick",
    "and",
    "friendly",
    "but",
    "delivery",
    "took",
    "forever",
    "great",
    "value",
    "for",
    "money",
    "would",
    "not",
    "buy",
    "again",
    "support",
    "answered",
    "within",
    "minutes",
    "packaging",
    "arrived",
    "damaged",
    "works",
    "as",
    "described",
    "battery",
    "life",
    "is",
    "poor",
    "screen",
    "bright",
    "sharp",
    "returned",
    "it",
    "after",
    "week",
    "excellent",
    "quality",
    "cheap",
    "plastic",
    "feels",
    "solid",
    "recommend",
    "to",
    "everyone",
    "disappointed",
    "with",
    "update",
    "app",
    "crashes",
    "often",
    "love",
    "design",
    "noisy",
    "fan",
    "fast",
    "shipping",
    "refund",
    "denied",
];

/// One JSONL line of about 200 bytes of text.
pub(crate) fn item_line(i: u64, out: &mut Vec<u8>) {
    let mut text = format!("Review {i}:");
    let mut h = mix(i);
    while text.len() < 200 {
        h = mix(h);
        text.push(' ');
        text.push_str(WORDS[(h % WORDS.len() as u64) as usize]);
    }
    text.push('.');
    let line = json!({"external_id": format!("bench-{i}"), "data": {"text": text}});
    // Serialising a json! value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &line);
    out.push(b'\n');
}

/// The answer a simulated rater gives: right 80% of the time.
pub(crate) fn answer(item: i64, rater: u32) -> &'static str {
    let truth = mix(item as u64) & 1;
    let right = mix((item as u64).wrapping_mul(1_000_003) ^ u64::from(rater)) % 100 < 80;
    match (truth, right) {
        (0, true) | (1, false) => "pos",
        _ => "neg",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn generated_items_are_about_200_bytes_of_valid_jsonl() {
        let mut buf = Vec::new();
        for i in 0..100 {
            item_line(i, &mut buf);
        }
        let lines: Vec<&[u8]> = buf
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len(), 100);
        for l in lines {
            let v: Value = serde_json::from_slice(l).unwrap();
            let text = v["data"]["text"].as_str().unwrap();
            assert!((200..260).contains(&text.len()), "{text}");
            assert!(v["external_id"].as_str().unwrap().starts_with("bench-"));
        }
    }

    #[test]
    fn simulated_raters_are_mostly_right_and_deterministic() {
        let mut right = 0;
        for item in 0..2000i64 {
            let truth = if mix(item as u64) & 1 == 0 {
                "pos"
            } else {
                "neg"
            };
            for rater in 0..5 {
                assert_eq!(answer(item, rater), answer(item, rater));
                right += usize::from(answer(item, rater) == truth);
            }
        }
        let share = right as f64 / 10_000.0;
        assert!((0.75..0.85).contains(&share), "{share}");
    }
}
