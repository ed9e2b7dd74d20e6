//! One exported row, format-neutral, and how it is built from the database rows.
//!
//! Every encoder writes the same [`Row`]; the [`Shape`] says which columns a snapshot has (they
//! depend on the label schema and the options, never on the rows, so every row of a file has the
//! same columns).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::db::exports::{ItemRow, LabelRow};
use crate::domain::outcome::LabelSource;
use crate::domain::schema::{ChoiceOption, LabelSchema};
use crate::domain::split::{self, Split, SplitSpec};

/// The kind of label a task collects, as far as the columns go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelKind {
    /// One option: `label` is a string, `label_index` an integer.
    Single,
    /// A set of options: `label` is a list of strings, `label_index` a list of integers.
    Multi,
    /// Free text: `label` is a string and there is no index.
    Free,
}

/// The columns of a snapshot.
#[derive(Clone, Debug)]
pub struct Shape {
    pub kind: LabelKind,
    pub options: Vec<ChoiceOption>,
    pub include_votes: bool,
    pub has_split: bool,
    /// The task's label schema (formats made for one kind read their fields from it).
    pub schema: Option<LabelSchema>,
}

impl Shape {
    pub fn new(schema: &LabelSchema, include_votes: bool, has_split: bool) -> Shape {
        let kind = match schema {
            LabelSchema::SingleChoice { .. } => LabelKind::Single,
            LabelSchema::MultiChoice { .. } => LabelKind::Multi,
            // Ratings, preferences and spans: `label` is the stored JSON value, with no index.
            _ => LabelKind::Free,
        };
        Shape {
            kind,
            options: schema.options().to_vec(),
            include_votes,
            has_split,
            schema: Some(schema.clone()),
        }
    }

    /// Whether the label has an index into the schema's options.
    pub fn has_index(&self) -> bool {
        self.kind != LabelKind::Free
    }
}

/// A label value in every form an encoder needs, made once per distinct value.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelInfo {
    /// Canonical JSON text, as stored (`"pos"`, `["a","b"]`).
    pub json: String,
    /// Plain text: the string itself, or the JSON text of anything else.
    pub text: String,
    /// The chosen option values (one for single choice and free text, several for multi choice).
    pub parts: Vec<String>,
    /// The index of each part in the schema's options (empty for free text).
    pub indices: Vec<i64>,
}

impl LabelInfo {
    fn of(json: &str, options: &[ChoiceOption]) -> LabelInfo {
        let index = |s: &str| options.iter().position(|o| o.value == s).map(|i| i as i64);
        match serde_json::from_str::<Value>(json) {
            Ok(Value::String(s)) => LabelInfo {
                json: json.to_string(),
                indices: index(&s).into_iter().collect(),
                parts: vec![s.clone()],
                text: s,
            },
            Ok(Value::Array(items)) => {
                let parts: Vec<String> = items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect();
                LabelInfo {
                    json: json.to_string(),
                    text: json.to_string(),
                    indices: parts.iter().filter_map(|p| index(p)).collect(),
                    parts,
                }
            }
            _ => LabelInfo {
                json: json.to_string(),
                text: json.to_string(),
                parts: vec![json.to_string()],
                indices: Vec::new(),
            },
        }
    }

    /// A 64-bit fingerprint of the value (FNV-1a of the JSON text), for snapshot diffs.
    pub fn fingerprint(&self) -> u64 {
        fingerprint(self.json.as_bytes())
    }
}

/// FNV-1a, 64 bits; never 0 (0 marks "no label" in the row index).
pub fn fingerprint(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h.max(1)
}

/// One rater's vote on a row.
#[derive(Clone, Debug)]
pub struct RaterVote {
    pub rater: Arc<str>,
    pub value: Arc<LabelInfo>,
    pub instruction_version: i64,
}

/// One exported row.
#[derive(Clone, Debug)]
pub struct Row {
    pub item_id: i64,
    pub external_id: String,
    /// The item's data: a JSON object, as stored.
    pub data_json: String,
    pub is_gold: bool,
    pub label: Option<Arc<LabelInfo>>,
    pub confidence: Option<f64>,
    pub method: Option<String>,
    /// Where the final label came from (`None` without one).
    pub label_source: Option<LabelSource>,
    /// Votes per answer, in the order of their JSON text.
    pub votes: Vec<(Arc<LabelInfo>, u32)>,
    pub vote_count: u32,
    pub split: Option<Split>,
    /// Filled only when the snapshot includes votes.
    pub rater_votes: Vec<RaterVote>,
}

/// Distinct label values kept, at most (free text is never kept: it rarely repeats).
const CACHE_LIMIT: usize = 10_000;

/// Builds rows from database rows: label values parsed once, rater pseudonyms made once.
pub struct RowBuilder {
    shape: Arc<Shape>,
    splits: Option<SplitSpec>,
    cache: HashMap<String, Arc<LabelInfo>>,
    mac: Hmac<Sha256>,
    pseudonyms: HashMap<i64, Arc<str>>,
}

impl RowBuilder {
    /// `salt` is the task's secret pseudonym key.
    pub fn new(shape: Arc<Shape>, splits: Option<SplitSpec>, salt: &str) -> RowBuilder {
        // HMAC takes keys of any length, so this cannot fail; the fallback keeps it panic-free.
        let mac = Hmac::<Sha256>::new_from_slice(salt.as_bytes())
            .unwrap_or_else(|_| Hmac::<Sha256>::new(&Default::default()));
        RowBuilder {
            shape,
            splits,
            cache: HashMap::new(),
            mac,
            pseudonyms: HashMap::new(),
        }
    }

    /// The label value for its canonical JSON text.
    pub fn label(&mut self, json: &str) -> Arc<LabelInfo> {
        if let Some(l) = self.cache.get(json) {
            return l.clone();
        }
        let info = Arc::new(LabelInfo::of(json, &self.shape.options));
        if self.shape.kind != LabelKind::Free && self.cache.len() < CACHE_LIMIT {
            self.cache.insert(json.to_string(), info.clone());
        }
        info
    }

    /// The pseudonymous id of a rater: `r_` and the first 16 hex digits of
    /// HMAC-SHA256(task salt, user id). Stable within a task, unlinkable across tasks.
    pub fn pseudonym(&mut self, user_id: i64) -> Arc<str> {
        if let Some(p) = self.pseudonyms.get(&user_id) {
            return p.clone();
        }
        let mut mac = self.mac.clone();
        mac.update(user_id.to_string().as_bytes());
        let digest = mac.finalize().into_bytes();
        let p: Arc<str> = format!("r_{}", hex::encode(&digest[..8])).into();
        self.pseudonyms.insert(user_id, p.clone());
        p
    }

    /// One row from its item and that item's labels (`labels` may be empty when the snapshot
    /// needs neither per-rater votes nor votes of unresolved items).
    pub fn build(&mut self, item: ItemRow, labels: &[LabelRow]) -> Row {
        let label = item.value_json.as_deref().map(|j| self.label(j));
        let counted: BTreeMap<String, u32> = match item.votes_json.as_deref() {
            Some(v) => serde_json::from_str(v).unwrap_or_default(),
            None => {
                let mut m = BTreeMap::new();
                for l in labels {
                    *m.entry(l.value_json.clone()).or_insert(0) += 1;
                }
                m
            }
        };
        let votes: Vec<(Arc<LabelInfo>, u32)> =
            counted.iter().map(|(k, n)| (self.label(k), *n)).collect();
        let vote_count = votes.iter().map(|v| v.1).sum();
        let split = self.splits.as_ref().map(|s| {
            let key = match &s.group_by {
                Some(field) => {
                    let data: Option<serde_json::Map<String, Value>> =
                        serde_json::from_str(&item.data_json).ok();
                    split::key_for(&item.external_id, Some(field), data.as_ref())
                }
                None => split::key_for(&item.external_id, None, None),
            };
            s.assign(&key)
        });
        let rater_votes = if self.shape.include_votes {
            labels
                .iter()
                .map(|l| RaterVote {
                    rater: self.pseudonym(l.user_id.0),
                    value: self.label(&l.value_json),
                    instruction_version: l.instruction_version,
                })
                .collect()
        } else {
            Vec::new()
        };
        Row {
            item_id: item.id.0,
            external_id: item.external_id,
            data_json: item.data_json,
            is_gold: item.is_gold != 0,
            label,
            confidence: item.confidence,
            label_source: item
                .value_json
                .as_ref()
                .map(|_| LabelSource::of_method(item.method.as_deref().unwrap_or_default())),
            method: item.method,
            votes,
            vote_count,
            split,
            rater_votes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Vec<ChoiceOption> {
        ["pos", "neg", "neu"]
            .iter()
            .map(|v| ChoiceOption {
                value: v.to_string(),
                label: v.to_uppercase(),
                hotkey: None,
                color: None,
                retired: false,
            })
            .collect()
    }

    #[test]
    fn label_forms() {
        let l = LabelInfo::of("\"neg\"", &options());
        assert_eq!((l.text.as_str(), l.indices.as_slice()), ("neg", &[1][..]));
        let l = LabelInfo::of("[\"pos\",\"neu\"]", &options());
        assert_eq!(l.parts, vec!["pos", "neu"]);
        assert_eq!(l.indices, vec![0, 2]);
        assert_eq!(l.text, "[\"pos\",\"neu\"]");
        let l = LabelInfo::of("\"free words\"", &[]);
        assert_eq!(l.text, "free words");
        assert!(l.indices.is_empty());
        assert_ne!(fingerprint(b"\"a\""), fingerprint(b"\"b\""));
    }

    #[test]
    fn pseudonyms_are_stable_per_salt_and_hide_the_id() {
        let shape = Arc::new(Shape {
            kind: LabelKind::Single,
            options: options(),
            include_votes: true,
            has_split: false,
            schema: None,
        });
        let mut a = RowBuilder::new(shape.clone(), None, "salt-one");
        let mut b = RowBuilder::new(shape, None, "salt-two");
        let p = a.pseudonym(7);
        assert_eq!(p, a.pseudonym(7));
        assert_ne!(p, a.pseudonym(8));
        assert_ne!(p, b.pseudonym(7));
        assert!(p.starts_with("r_") && p.len() == 18, "{p}");
        assert!(p[2..].chars().all(|c| c.is_ascii_hexdigit()), "{p}");
    }
}
