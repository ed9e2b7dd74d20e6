//! A batch of items against the item schema: which items break it, how, and on which lines.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::schema::{FieldType, ItemSchema};
use super::stats::{number_of, type_of};

/// Lines kept per anomaly (the count is exact).
pub const MAX_LINES: usize = 100;
/// Example values kept per anomaly.
pub const MAX_VALUES: usize = 10;
/// Distinct unknown field names reported one by one; more are reported together.
const MAX_NEW_FIELDS: usize = 50;

/// What is wrong.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyKind {
    /// A required field is absent or null.
    MissingField,
    /// A value of another type than the schema's.
    TypeChange,
    /// A value outside the field's categorical domain.
    UnseenCategory,
    /// A number outside the field's range.
    OutOfRange,
    /// A text shorter or longer than the field allows.
    TextLength,
    /// An empty or blank text where the field needs one.
    EmptyText,
    /// A field the schema does not list.
    NewField,
    /// The same data as an earlier item of the batch.
    DuplicateContent,
}

impl AnomalyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::MissingField => "missing_field",
            AnomalyKind::TypeChange => "type_change",
            AnomalyKind::UnseenCategory => "unseen_category",
            AnomalyKind::OutOfRange => "out_of_range",
            AnomalyKind::TextLength => "text_length",
            AnomalyKind::EmptyText => "empty_text",
            AnomalyKind::NewField => "new_field",
            AnomalyKind::DuplicateContent => "duplicate_content",
        }
    }
}

/// One kind of anomaly on one field, over the whole batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    /// The field (null for duplicate content).
    pub field: Option<String>,
    /// The first lines (at most 100) where it occurs.
    pub lines: Vec<u64>,
    /// How many items have it.
    pub count: u64,
    /// Examples: the unseen values, the types seen instead, the values out of range.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

#[derive(Debug, Default)]
struct Acc {
    lines: Vec<u64>,
    count: u64,
    values: BTreeSet<String>,
}

/// Checks items one at a time against a schema, collecting the anomalies.
#[derive(Debug)]
pub struct Checker {
    schema: ItemSchema,
    csv: bool,
    seen: HashSet<u64>,
    found: BTreeMap<(AnomalyKind, Option<String>), Acc>,
    new_fields: usize,
    /// Whether the item being checked has an anomaly yet.
    item_bad: bool,
    reasons: Vec<String>,
    /// Items with at least one anomaly.
    pub anomalous: u64,
}

impl Checker {
    /// `csv`: the values are CSV cells (see [`super::stats::type_of`]).
    pub fn new(schema: ItemSchema, csv: bool) -> Self {
        Checker {
            schema,
            csv,
            seen: HashSet::new(),
            found: BTreeMap::new(),
            new_fields: 0,
            item_bad: false,
            reasons: Vec::new(),
            anomalous: 0,
        }
    }

    fn note(&mut self, kind: AnomalyKind, field: Option<&str>, line: u64, value: Option<String>) {
        self.item_bad = true;
        self.reasons.push(match field {
            Some(f) => format!("{}:{f}", kind.as_str()),
            None => kind.as_str().to_string(),
        });
        let a = self
            .found
            .entry((kind, field.map(str::to_string)))
            .or_default();
        if a.lines.last() != Some(&line) {
            a.count += 1;
            if a.lines.len() < MAX_LINES {
                a.lines.push(line);
            }
        }
        if let Some(v) = value
            && a.values.len() < MAX_VALUES
        {
            a.values.insert(v.chars().take(100).collect());
        }
    }

    /// Checks one item: `content` is its data serialised (for duplicates). Returns the item's
    /// anomalies as `kind` or `kind:field` (empty: none).
    pub fn check(&mut self, line: u64, data: &Map<String, Value>, content: &str) -> Vec<String> {
        self.item_bad = false;
        self.reasons.clear();
        let schema = std::mem::take(&mut self.schema);
        for f in &schema.fields {
            let v = data.get(&f.name).unwrap_or(&Value::Null);
            let Some(t) = type_of(v, self.csv) else {
                if f.required {
                    self.note(AnomalyKind::MissingField, Some(&f.name), line, None);
                }
                continue;
            };
            if !f.kind.accepts(t) {
                self.note(
                    AnomalyKind::TypeChange,
                    Some(&f.name),
                    line,
                    Some(t.as_str().into()),
                );
                continue;
            }
            match f.kind {
                FieldType::Number => {
                    let x = number_of(v, self.csv).unwrap_or(0.0);
                    if f.min.is_some_and(|lo| x < lo) || f.max.is_some_and(|hi| x > hi) {
                        self.note(
                            AnomalyKind::OutOfRange,
                            Some(&f.name),
                            line,
                            Some(x.to_string()),
                        );
                    }
                }
                FieldType::String | FieldType::Url => {
                    let s = v.as_str().unwrap_or("");
                    if let Some(d) = &f.domain
                        && d.binary_search_by(|x| x.as_str().cmp(s)).is_err()
                    {
                        self.note(
                            AnomalyKind::UnseenCategory,
                            Some(&f.name),
                            line,
                            Some(s.into()),
                        );
                    }
                    let len = s.chars().count() as u64;
                    if s.trim().is_empty() {
                        if f.min_length.is_some_and(|m| m >= 1) {
                            self.note(AnomalyKind::EmptyText, Some(&f.name), line, None);
                        }
                    } else if f.min_length.is_some_and(|m| len < m)
                        || f.max_length.is_some_and(|m| len > m)
                    {
                        self.note(
                            AnomalyKind::TextLength,
                            Some(&f.name),
                            line,
                            Some(len.to_string()),
                        );
                    }
                }
                _ => {}
            }
        }
        for (k, v) in data {
            if schema.field(k).is_none() && type_of(v, self.csv).is_some() {
                let known = self
                    .found
                    .contains_key(&(AnomalyKind::NewField, Some(k.clone())));
                let name = if known || self.new_fields < MAX_NEW_FIELDS {
                    if !known {
                        self.new_fields += 1;
                    }
                    k.as_str()
                } else {
                    "(other fields)"
                };
                self.note(AnomalyKind::NewField, Some(name), line, None);
            }
        }
        let mut h = DefaultHasher::new();
        content.hash(&mut h);
        if !self.seen.insert(h.finish()) {
            self.note(AnomalyKind::DuplicateContent, None, line, None);
        }
        self.schema = schema;
        if self.item_bad {
            self.anomalous += 1;
        }
        std::mem::take(&mut self.reasons)
    }

    /// The anomalies found, by kind then field.
    pub fn finish(self) -> Vec<Anomaly> {
        self.found
            .into_iter()
            .map(|((kind, field), a)| Anomaly {
                kind,
                field,
                lines: a.lines,
                count: a.count,
                values: a.values.into_iter().collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> ItemSchema {
        ItemSchema::parse(&json!({"fields": [
            {"name": "text", "type": "string", "required": true, "min_length": 1, "max_length": 10},
            {"name": "lang", "type": "string", "required": true, "domain": ["de", "en"]},
            {"name": "score", "type": "number", "min": 0, "max": 1}]}))
        .unwrap()
    }

    fn run(items: &[Value], csv: bool) -> (Vec<Anomaly>, Vec<bool>) {
        let mut c = Checker::new(schema(), csv);
        let flags = items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                !c.check(i as u64 + 1, v.as_object().unwrap(), &v.to_string())
                    .is_empty()
            })
            .collect();
        (c.finish(), flags)
    }

    fn find<'a>(a: &'a [Anomaly], kind: AnomalyKind, field: Option<&str>) -> &'a Anomaly {
        a.iter()
            .find(|x| x.kind == kind && x.field.as_deref() == field)
            .unwrap_or_else(|| panic!("no {kind:?} on {field:?} in {a:?}"))
    }

    #[test]
    fn every_kind_with_its_lines_and_count() {
        let (a, flags) = run(
            &[
                json!({"text": "fine", "lang": "en", "score": 0.5}),
                json!({"text": "fine", "lang": "en", "score": 0.5}),
                json!({"lang": "fr", "score": "high"}),
                json!({"text": "", "lang": "fr", "score": 7}),
                json!({"text": "far too long a text", "lang": "de", "extra": 1}),
                json!({"text": "ok", "lang": "en", "score": null}),
            ],
            false,
        );
        assert_eq!(flags, [false, true, true, true, true, false]);
        assert_eq!(find(&a, AnomalyKind::DuplicateContent, None).lines, [2]);
        assert_eq!(find(&a, AnomalyKind::MissingField, Some("text")).lines, [3]);
        let t = find(&a, AnomalyKind::TypeChange, Some("score"));
        assert_eq!((t.count, t.values.clone()), (1, vec!["string".to_string()]));
        let u = find(&a, AnomalyKind::UnseenCategory, Some("lang"));
        assert_eq!(
            (u.lines.clone(), u.count, u.values.clone()),
            (vec![3, 4], 2, vec!["fr".into()])
        );
        assert_eq!(find(&a, AnomalyKind::OutOfRange, Some("score")).lines, [4]);
        assert_eq!(find(&a, AnomalyKind::EmptyText, Some("text")).lines, [4]);
        assert_eq!(find(&a, AnomalyKind::TextLength, Some("text")).lines, [5]);
        assert_eq!(find(&a, AnomalyKind::NewField, Some("extra")).lines, [5]);
        assert_eq!(a.len(), 8);
    }

    #[test]
    fn csv_cells_are_checked_as_their_types() {
        let (a, flags) = run(
            &[
                json!({"text": "a", "lang": "en", "score": "0.3"}),
                json!({"text": "b", "lang": "en", "score": ""}),
                json!({"text": "c", "lang": "en", "score": "2"}),
            ],
            true,
        );
        assert_eq!(flags, [false, false, true]);
        assert_eq!(find(&a, AnomalyKind::OutOfRange, Some("score")).lines, [3]);
    }

    #[test]
    fn lines_are_capped_but_counts_are_exact() {
        let items: Vec<Value> = (0..500)
            .map(|i| json!({"text": format!("t{i}"), "lang": "xx"}))
            .collect();
        let (a, _) = run(&items, false);
        let u = find(&a, AnomalyKind::UnseenCategory, Some("lang"));
        assert_eq!((u.count, u.lines.len()), (500, MAX_LINES));
    }
}
