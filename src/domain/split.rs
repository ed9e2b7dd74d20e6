//! Deterministic train/validation/test splits.
//!
//! An item's split depends only on its *split key* and the seed, never on the other items, the
//! row order or the time: the same item lands in the same split in every snapshot made with the
//! same settings, and adding items never moves old ones. The key is the item's external id or,
//! with `group_by`, the value of one data field, so rows that share it (all the sentences of one
//! document, all the photos of one user) land in the same split and cannot leak across it.
//!
//! The rule, reproducible in any language: `h` = the first 8 bytes, big-endian, of
//! `SHA-256(seed as 8 bytes big-endian ‖ key)`, read as a fraction `u = h / 2^64`; the row is
//! `train` if `u < train`, `validation` if `u < train + validation`, otherwise `test`.
//! The key is `"x:" + external_id`, or with `group_by` `"g:" + value`, where the value is the
//! field's string, or its compact JSON text when it is not a string. An item without the field
//! falls back to its external id (the prefixes keep the two kinds of key apart).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The split a row is put in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Validation,
    Test,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::Validation, Split::Test];

    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validation => "validation",
            Split::Test => "test",
        }
    }
}

/// The longest accepted `group_by` field name.
pub const MAX_GROUP_BY: usize = 200;

/// Checked split settings: fractions in `[0, 1]` that add up to 1, a seed, an optional field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitSpec {
    pub train: f64,
    pub validation: f64,
    pub test: f64,
    pub seed: u64,
    pub group_by: Option<String>,
}

impl SplitSpec {
    /// Checks the fractions and the field name; every message names what is wrong.
    pub fn new(
        train: f64,
        validation: f64,
        test: f64,
        seed: u64,
        group_by: Option<String>,
    ) -> Result<SplitSpec, String> {
        for (name, v) in [("train", train), ("validation", validation), ("test", test)] {
            if !v.is_finite() || !(0.0..=1.0).contains(&v) {
                return Err(format!("splits.{name}: a fraction between 0 and 1"));
            }
        }
        let sum = train + validation + test;
        if (sum - 1.0).abs() > 1e-9 {
            return Err(format!(
                "splits: train + validation + test must add up to 1 (they add up to {sum})"
            ));
        }
        let group_by = match group_by {
            Some(g) if g.is_empty() => None,
            Some(g) if g.chars().count() > MAX_GROUP_BY || g.chars().any(char::is_control) => {
                return Err(format!(
                    "splits.group_by: a data field name of at most {MAX_GROUP_BY} characters"
                ));
            }
            other => other,
        };
        Ok(SplitSpec {
            train,
            validation,
            test,
            seed,
            group_by,
        })
    }

    /// The split of the row whose key is `key` (see [`key_for`]).
    pub fn assign(&self, key: &[u8]) -> Split {
        let mut h = Sha256::new();
        h.update(self.seed.to_be_bytes());
        h.update(key);
        let digest = h.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let x = u128::from(u64::from_be_bytes(first));
        // Thresholds on the 2^64 scale, in u128 so a fraction of exactly 1 is representable.
        let scale = |f: f64| (f * 18_446_744_073_709_551_616.0) as u128;
        if x < scale(self.train) {
            Split::Train
        } else if x < scale(self.train + self.validation) {
            Split::Validation
        } else {
            Split::Test
        }
    }
}

/// The split key of an item: its external id, or the `group_by` field of its data.
///
/// `data` is the item's data object; only the named field is looked at.
pub fn key_for(
    external_id: &str,
    group_by: Option<&str>,
    data: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Vec<u8> {
    let field = group_by.and_then(|g| data.and_then(|d| d.get(g)));
    match field {
        Some(serde_json::Value::String(s)) => [b"g:".as_slice(), s.as_bytes()].concat(),
        Some(v) if !v.is_null() => [b"g:".as_slice(), v.to_string().as_bytes()].concat(),
        _ => [b"x:".as_slice(), external_id.as_bytes()].concat(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(train: f64, validation: f64, test: f64, seed: u64) -> SplitSpec {
        SplitSpec::new(train, validation, test, seed, None).unwrap()
    }

    #[test]
    fn fractions_are_checked() {
        assert!(SplitSpec::new(0.8, 0.1, 0.1, 1, None).is_ok());
        assert!(SplitSpec::new(0.7, 0.2, 0.1, 1, None).is_ok());
        let e = SplitSpec::new(0.8, 0.1, 0.2, 1, None).unwrap_err();
        assert!(e.contains("add up to 1"), "{e}");
        assert!(SplitSpec::new(-0.1, 0.6, 0.5, 1, None).is_err());
        assert!(SplitSpec::new(f64::NAN, 0.5, 0.5, 1, None).is_err());
        assert!(SplitSpec::new(1.5, -0.5, 0.0, 1, None).is_err());
        assert!(SplitSpec::new(0.5, 0.5, 0.0, 1, Some("a\nb".into())).is_err());
        assert_eq!(
            SplitSpec::new(1.0, 0.0, 0.0, 1, Some(String::new()))
                .unwrap()
                .group_by,
            None
        );
    }

    #[test]
    fn same_key_same_split_and_seed_matters() {
        let s = spec(0.5, 0.25, 0.25, 42);
        for i in 0..200 {
            let k = key_for(&format!("e{i}"), None, None);
            assert_eq!(s.assign(&k), s.assign(&k));
            assert_eq!(s.assign(&k), spec(0.5, 0.25, 0.25, 42).assign(&k));
        }
        let other = spec(0.5, 0.25, 0.25, 43);
        let moved = (0..200)
            .filter(|i| {
                let k = key_for(&format!("e{i}"), None, None);
                s.assign(&k) != other.assign(&k)
            })
            .count();
        assert!(moved > 50, "another seed reshuffles: {moved} of 200 moved");
    }

    #[test]
    fn fractions_are_respected_and_extremes_are_exact() {
        let s = spec(0.8, 0.1, 0.1, 7);
        let mut counts = [0usize; 3];
        for i in 0..20_000 {
            let split = s.assign(&key_for(&format!("item-{i}"), None, None));
            counts[split as usize] += 1;
        }
        // 20,000 draws: the standard deviation of the train count is ~57; allow 5 sigma.
        assert!((counts[0] as i64 - 16_000).abs() < 300, "{counts:?}");
        assert!((counts[1] as i64 - 2_000).abs() < 250, "{counts:?}");
        assert!((counts[2] as i64 - 2_000).abs() < 250, "{counts:?}");
        for i in 0..500 {
            let k = key_for(&format!("{i}"), None, None);
            assert_eq!(spec(1.0, 0.0, 0.0, 3).assign(&k), Split::Train);
            assert_eq!(spec(0.0, 1.0, 0.0, 3).assign(&k), Split::Validation);
            assert_eq!(spec(0.0, 0.0, 1.0, 3).assign(&k), Split::Test);
        }
    }

    #[test]
    fn known_value_pins_the_rule() {
        // The rule of the module docs, computed independently of `assign`.
        let s = spec(0.8, 0.1, 0.1, 42);
        let k = key_for("e1", None, None);
        assert_eq!(k, b"x:e1");
        let mut h = Sha256::new();
        h.update(42u64.to_be_bytes());
        h.update(b"x:e1");
        let d = h.finalize();
        let u = u64::from_be_bytes(d[..8].try_into().unwrap()) as f64 / 2f64.powi(64);
        let want = if u < 0.8 {
            Split::Train
        } else if u < 0.9 {
            Split::Validation
        } else {
            Split::Test
        };
        assert_eq!(s.assign(&k), want);
    }

    #[test]
    fn grouping_keeps_a_group_together() {
        let s = SplitSpec::new(0.34, 0.33, 0.33, 9, Some("doc".into())).unwrap();
        let data = |doc: serde_json::Value| json!({"doc": doc, "text": "x"});
        for doc in 0..50 {
            let first = {
                let d = data(json!(format!("d{doc}")));
                s.assign(&key_for("a", Some("doc"), d.as_object()))
            };
            for ext in 0..10 {
                let d = data(json!(format!("d{doc}")));
                let k = key_for(&format!("{doc}-{ext}"), Some("doc"), d.as_object());
                assert_eq!(s.assign(&k), first, "doc {doc} item {ext}");
            }
        }
        // A number and the string of the same digits are one group (documented above).
        let n = json!({"doc": 5});
        assert_eq!(key_for("a", Some("doc"), n.as_object()), b"g:5");
        let st = json!({"doc": "5"});
        assert_eq!(key_for("a", Some("doc"), st.as_object()), b"g:5");
        // A missing or null field falls back to the external id.
        let none = json!({"text": "x"});
        assert_eq!(key_for("e9", Some("doc"), none.as_object()), b"x:e9");
        let null = json!({"doc": null});
        assert_eq!(key_for("e9", Some("doc"), null.as_object()), b"x:e9");
        // An external id that looks like a group value is still its own key.
        assert_ne!(
            key_for("5", None, None),
            key_for("a", Some("doc"), n.as_object())
        );
    }
}
