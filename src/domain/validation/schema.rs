//! A task's item schema: the fields its items' `data` has, inferred from the first import and
//! editable by an admin (then checked here).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::stats::ImportStats;

/// The most values a categorical domain may hold (inferred or edited).
pub const DOMAIN_MAX: usize = 20;
/// Share of items that must have a field for inference to call it required (TFDV's "almost
/// all": a stray missing value in the first import does not make it optional).
pub const REQUIRED_SHARE: f64 = 0.99;
/// The most fields a schema may list.
pub const MAX_SCHEMA_FIELDS: usize = 500;
const MAX_NAME: usize = 200;
const MAX_DOMAIN_EDITED: usize = 1000;

/// The type of a field's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    String = 0,
    Number = 1,
    Bool = 2,
    /// A string that is an http(s) URL.
    Url = 3,
    Object = 4,
    Array = 5,
}

impl FieldType {
    pub const ALL: [FieldType; 6] = [
        FieldType::String,
        FieldType::Number,
        FieldType::Bool,
        FieldType::Url,
        FieldType::Object,
        FieldType::Array,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Number => "number",
            FieldType::Bool => "bool",
            FieldType::Url => "url",
            FieldType::Object => "object",
            FieldType::Array => "array",
        }
    }

    pub fn parse(s: &str) -> Option<FieldType> {
        FieldType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Whether a value of type `seen` fits a field of this type (a URL is also a string).
    pub fn accepts(self, seen: FieldType) -> bool {
        self == seen || (self == FieldType::String && seen == FieldType::Url)
    }

    fn is_text(self) -> bool {
        matches!(self, FieldType::String | FieldType::Url)
    }
}

/// One field of the item schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldSchema {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Every item must have it.
    #[serde(default)]
    pub required: bool,
    /// The values a categorical string field may take (any, when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<Vec<String>>,
    /// Smallest and largest allowed number (numbers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Shortest and longest allowed text, in characters (strings and URLs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
}

/// The item schema of a task.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemSchema {
    /// By name.
    pub fields: Vec<FieldSchema>,
}

impl ItemSchema {
    pub fn field(&self, name: &str) -> Option<&FieldSchema> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Reads an edited schema, naming the first problem by its path (`fields[2].min`).
    pub fn parse(v: &Value) -> Result<ItemSchema, String> {
        let mut s: ItemSchema =
            serde_json::from_value(v.clone()).map_err(|e| format!("item schema: {e}"))?;
        if s.fields.len() > MAX_SCHEMA_FIELDS {
            return Err(format!("fields: at most {MAX_SCHEMA_FIELDS} fields"));
        }
        for (i, f) in s.fields.iter_mut().enumerate() {
            let at = |m: &str| format!("fields[{i}]{m}");
            let name = f.name.trim();
            if name.is_empty()
                || name.chars().count() > MAX_NAME
                || name.chars().any(char::is_control)
            {
                return Err(at(&format!(".name: 1 to {MAX_NAME} printable characters")));
            }
            f.name = name.to_string();
            if (f.min.is_some() || f.max.is_some()) && f.kind != FieldType::Number {
                return Err(at(".min/.max: only a number field has a range"));
            }
            if f.min.into_iter().chain(f.max).any(|x| !x.is_finite()) {
                return Err(at(".min/.max: must be finite numbers"));
            }
            if let (Some(lo), Some(hi)) = (f.min, f.max)
                && lo > hi
            {
                return Err(at(&format!(".min: {lo} is above max {hi}")));
            }
            if (f.min_length.is_some() || f.max_length.is_some()) && !f.kind.is_text() {
                return Err(at(
                    ".min_length/.max_length: only string and url fields have a length",
                ));
            }
            if let (Some(lo), Some(hi)) = (f.min_length, f.max_length)
                && lo > hi
            {
                return Err(at(&format!(".min_length: {lo} is above max_length {hi}")));
            }
            if let Some(d) = &mut f.domain {
                if !f.kind.is_text() {
                    return Err(at(".domain: only string and url fields have a domain"));
                }
                if d.len() > MAX_DOMAIN_EDITED {
                    return Err(at(&format!(".domain: at most {MAX_DOMAIN_EDITED} values")));
                }
                d.sort();
                d.dedup();
            }
        }
        s.fields.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(w) = s.fields.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(format!("fields: {:?} is listed twice", w[0].name));
        }
        Ok(s)
    }

    /// The schema the statistics of a first import suggest: each field with its main type;
    /// required when present in at least [`REQUIRED_SHARE`] of the items; a domain for strings
    /// with few, repeated values; numbers within the range seen; text at least one character
    /// long when no empty text was seen, and at most twice the longest seen.
    pub fn infer(stats: &ImportStats) -> ItemSchema {
        let fields = stats
            .fields
            .iter()
            .filter_map(|f| {
                let kind = f.main_type()?;
                let required =
                    stats.items > 0 && f.present as f64 >= REQUIRED_SHARE * stats.items as f64;
                let domain = (kind.is_text() && f.is_categorical())
                    .then(|| f.values.as_ref().map(|v| v.keys().cloned().collect()))
                    .flatten();
                let (min, max) = match (&f.numbers, kind) {
                    (Some(n), FieldType::Number) => (Some(n.min), Some(n.max)),
                    _ => (None, None),
                };
                let (min_length, max_length) = match (&f.lengths, kind.is_text()) {
                    (Some(l), true) => (
                        Some(u64::from(f.empty == 0 && l.min >= 1.0)),
                        Some((l.max as u64).saturating_mul(2).max(1)),
                    ),
                    _ => (None, None),
                };
                Some(FieldSchema {
                    name: f.name.clone(),
                    kind,
                    required,
                    domain,
                    min,
                    max,
                    min_length,
                    max_length,
                })
            })
            .collect();
        ItemSchema { fields }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::validation::StatsBuilder;

    fn infer(items: &[Value]) -> ItemSchema {
        let mut b = StatsBuilder::new(false);
        for i in items {
            b.observe(i.as_object().unwrap());
        }
        ItemSchema::infer(&b.finish())
    }

    #[test]
    fn infers_types_required_domains_ranges_and_lengths() {
        let mut items: Vec<Value> = (0..200)
            .map(|i| {
                let lang = ["en", "de"][i % 2];
                json!({"text": format!("item number {i}"), "lang": lang,
                    "score": i as f64 / 10.0, "img": "https://x.test/a.png", "flag": i % 3 == 0})
            })
            .collect();
        items.push(json!({"text": "no score", "lang": "en", "img": "https://x", "flag": true}));
        items.push(
            json!({"text": "x", "lang": "en", "img": "https://x", "flag": true, "note": "rare"}),
        );
        let s = infer(&items);
        let f = |n: &str| s.field(n).unwrap().clone();
        assert_eq!(f("text").kind, FieldType::String);
        assert!(f("text").required);
        assert_eq!(f("text").domain, None, "many distinct values: free text");
        assert_eq!(f("text").min_length, Some(1));
        assert_eq!(f("text").max_length, Some(30), "twice the longest, 15");
        assert_eq!(f("lang").domain, Some(vec!["de".into(), "en".into()]));
        assert_eq!(f("score").kind, FieldType::Number);
        assert!(f("score").required, "200 of 202 is at least 99%");
        assert_eq!((f("score").min, f("score").max), (Some(0.0), Some(19.9)));
        assert_eq!(f("img").kind, FieldType::Url);
        assert_eq!(f("flag").kind, FieldType::Bool);
        assert!(!f("note").required);
    }

    #[test]
    fn edited_schemas_are_checked_with_the_path_of_the_problem() {
        let ok = ItemSchema::parse(&json!({"fields": [
            {"name": "b", "type": "number", "required": true, "min": 0, "max": 1},
            {"name": "a", "type": "string", "domain": ["y", "x", "x"], "min_length": 1}]}))
        .unwrap();
        assert_eq!(ok.fields[0].name, "a", "sorted by name");
        assert_eq!(ok.fields[0].domain, Some(vec!["x".into(), "y".into()]));
        let bad = [
            (
                json!({"fields": [{"name": "a", "type": "number", "min": 2, "max": 1}]}),
                "fields[0].min",
            ),
            (
                json!({"fields": [{"name": "a", "type": "bool", "domain": ["x"]}]}),
                "fields[0].domain",
            ),
            (
                json!({"fields": [{"name": "a", "type": "string", "min": 1}]}),
                "fields[0].min/.max",
            ),
            (
                json!({"fields": [{"name": "a", "type": "number", "max_length": 1}]}),
                "max_length",
            ),
            (
                json!({"fields": [{"name": " ", "type": "string"}]}),
                "fields[0].name",
            ),
            (
                json!({"fields": [{"name": "a", "type": "string"}, {"name": "a", "type": "url"}]}),
                "twice",
            ),
            (
                json!({"fields": [{"name": "a", "type": "text"}]}),
                "unknown variant",
            ),
            (
                json!({"fields": [{"name": "a", "type": "string", "extra": 1}]}),
                "unknown field",
            ),
            (json!([]), "item schema"),
        ];
        for (v, needle) in bad {
            let e = ItemSchema::parse(&v).unwrap_err();
            assert!(e.contains(needle), "{v}: {e}");
        }
    }
}
