//! Per-import statistics, gathered in one pass and bounded memory whatever the import's size.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::schema::FieldType;

/// Distinct string values counted per field; past this the field is not categorical and its
/// value frequencies are dropped.
pub const MAX_TRACKED_VALUES: usize = 100;
/// Fields tracked per import (item data is open-ended; a hostile file could name millions).
pub const MAX_FIELDS: usize = 256;
/// Values kept per numeric or length sample.
pub const SAMPLE: usize = 1000;
/// Bins of the histograms shown per field.
pub const HISTOGRAM_BINS: usize = 10;

/// The statistics of one import.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportStats {
    /// Items observed.
    pub items: u64,
    /// Per field, by name.
    pub fields: Vec<FieldStats>,
    /// Items that had fields beyond the [`MAX_FIELDS`] tracked.
    #[serde(default)]
    pub untracked_fields: u64,
}

/// One field's statistics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldStats {
    pub name: String,
    /// Items where the field has a value (not absent, not null, not an empty CSV cell).
    pub present: u64,
    /// Items without it.
    pub missing: u64,
    /// How many values of each type (`string`, `number`, …).
    pub types: BTreeMap<String, u64>,
    /// Strings that are empty or blank.
    pub empty: u64,
    /// Frequency of each string value, while the field has at most [`MAX_TRACKED_VALUES`]
    /// distinct values (absent beyond).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<BTreeMap<String, u64>>,
    /// Numeric values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numbers: Option<Numeric>,
    /// Lengths of string values, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lengths: Option<Numeric>,
}

impl FieldStats {
    /// The type most of its values have.
    pub fn main_type(&self) -> Option<FieldType> {
        self.types
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .and_then(|(t, _)| FieldType::parse(t))
    }

    /// Few distinct string values, each seen more than once on average: a categorical field.
    pub fn is_categorical(&self) -> bool {
        let strings: u64 = ["string", "url"]
            .iter()
            .filter_map(|t| self.types.get(*t))
            .sum();
        self.values.as_ref().is_some_and(|v| {
            !v.is_empty() && v.len() <= super::schema::DOMAIN_MAX && (v.len() as u64) * 2 <= strings
        })
    }
}

/// A numeric summary with a uniform sample of the values.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Numeric {
    pub count: u64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// Up to [`SAMPLE`] values, a uniform sample (all of them when there are fewer).
    pub sample: Vec<f64>,
}

impl Numeric {
    /// A histogram of the sample over `HISTOGRAM_BINS` bins from `min` to `max`, scaled to
    /// `count`: `(bin start, bin end, items)`.
    pub fn histogram(&self) -> Vec<(f64, f64, u64)> {
        let counts = super::drift::bin(&self.sample, self.min, self.max, HISTOGRAM_BINS);
        let n = self.sample.len().max(1) as f64;
        let width = (self.max - self.min) / HISTOGRAM_BINS as f64;
        counts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let lo = self.min + width * i as f64;
                let items = (*c as f64 / n * self.count as f64).round() as u64;
                (lo, lo + width, items)
            })
            .collect()
    }
}

/// The type of one value (`None`: no value). CSV cells are text: there a number-like cell is a
/// number, `true`/`false` a boolean, and an empty cell no value.
pub fn type_of(v: &Value, csv: bool) -> Option<FieldType> {
    match v {
        Value::Null => None,
        Value::Bool(_) => Some(FieldType::Bool),
        Value::Number(_) => Some(FieldType::Number),
        Value::Array(_) => Some(FieldType::Array),
        Value::Object(_) => Some(FieldType::Object),
        Value::String(s) => {
            if csv {
                let t = s.trim();
                if t.is_empty() {
                    return None;
                }
                if t == "true" || t == "false" {
                    return Some(FieldType::Bool);
                }
                if csv_number(t).is_some() {
                    return Some(FieldType::Number);
                }
            }
            Some(if is_url(s) {
                FieldType::Url
            } else {
                FieldType::String
            })
        }
    }
}

fn csv_number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// The number a value holds (a number, or a number-like CSV cell).
pub fn number_of(v: &Value, csv: bool) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if csv => csv_number(s.trim()),
        _ => None,
    }
}

fn is_url(s: &str) -> bool {
    let l = s.trim_start();
    let head = l.get(..8).unwrap_or(l).to_ascii_lowercase();
    head.starts_with("http://") || head.starts_with("https://")
}

/// Reservoir sampling (algorithm R) with a fixed-seed generator: the same import, the same sample.
#[derive(Clone, Debug)]
struct Reservoir {
    count: u64,
    min: f64,
    max: f64,
    sum: f64,
    sample: Vec<f64>,
    rng: u64,
}

impl Reservoir {
    fn new() -> Self {
        Reservoir {
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: 0.0,
            sample: Vec::new(),
            rng: 0x9E37_79B9_7F4A_7C15,
        }
    }

    fn next(&mut self) -> u64 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn add(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        self.count += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        self.sum += x;
        if self.sample.len() < SAMPLE {
            self.sample.push(x);
        } else {
            let j = self.next() % self.count;
            if (j as usize) < SAMPLE {
                self.sample[j as usize] = x;
            }
        }
    }

    fn finish(self) -> Option<Numeric> {
        (self.count > 0).then(|| Numeric {
            count: self.count,
            min: self.min,
            max: self.max,
            mean: self.sum / self.count as f64,
            sample: self.sample,
        })
    }
}

#[derive(Clone, Debug)]
struct Acc {
    present: u64,
    types: [u64; 6],
    empty: u64,
    values: Option<HashMap<String, u64>>,
    numbers: Reservoir,
    lengths: Reservoir,
}

impl Acc {
    fn new() -> Self {
        Acc {
            present: 0,
            types: [0; 6],
            empty: 0,
            values: Some(HashMap::new()),
            numbers: Reservoir::new(),
            lengths: Reservoir::new(),
        }
    }
}

/// Gathers [`ImportStats`] one item at a time.
#[derive(Debug)]
pub struct StatsBuilder {
    csv: bool,
    items: u64,
    untracked: u64,
    fields: HashMap<String, Acc>,
}

impl StatsBuilder {
    /// `csv`: the values are CSV cells (see [`type_of`]).
    pub fn new(csv: bool) -> Self {
        StatsBuilder {
            csv,
            items: 0,
            untracked: 0,
            fields: HashMap::new(),
        }
    }

    /// Counts one item's data.
    pub fn observe(&mut self, data: &Map<String, Value>) {
        self.items += 1;
        let mut untracked = false;
        for (name, v) in data {
            let Some(t) = type_of(v, self.csv) else {
                continue;
            };
            if !self.fields.contains_key(name.as_str()) {
                if self.fields.len() >= MAX_FIELDS {
                    untracked = true;
                    continue;
                }
                self.fields.insert(name.clone(), Acc::new());
            }
            let Some(acc) = self.fields.get_mut(name.as_str()) else {
                continue;
            };
            acc.present += 1;
            acc.types[t as usize] += 1;
            match (t, v) {
                (FieldType::Number, _) => {
                    if let Some(x) = number_of(v, self.csv) {
                        acc.numbers.add(x);
                    }
                }
                (FieldType::String | FieldType::Url, Value::String(s)) => {
                    if s.trim().is_empty() {
                        acc.empty += 1;
                    }
                    acc.lengths.add(s.chars().count() as f64);
                    if let Some(values) = acc.values.as_mut() {
                        if let Some(n) = values.get_mut(s.as_str()) {
                            *n += 1;
                        } else if values.len() < MAX_TRACKED_VALUES {
                            values.insert(s.clone(), 1);
                        } else {
                            acc.values = None;
                        }
                    }
                }
                _ => {}
            }
        }
        if untracked {
            self.untracked += 1;
        }
    }

    pub fn finish(self) -> ImportStats {
        let items = self.items;
        let mut fields: Vec<FieldStats> = self
            .fields
            .into_iter()
            .map(|(name, a)| FieldStats {
                name,
                present: a.present,
                missing: items.saturating_sub(a.present),
                types: FieldType::ALL
                    .iter()
                    .filter(|t| a.types[**t as usize] > 0)
                    .map(|t| (t.as_str().to_string(), a.types[*t as usize]))
                    .collect(),
                empty: a.empty,
                values: a
                    .values
                    .filter(|v| !v.is_empty())
                    .map(|v| v.into_iter().collect()),
                numbers: a.numbers.finish(),
                lengths: a.lengths.finish(),
            })
            .collect();
        fields.sort_by(|a, b| a.name.cmp(&b.name));
        ImportStats {
            items,
            fields,
            untracked_fields: self.untracked,
        }
    }
}

impl ImportStats {
    pub fn field(&self, name: &str) -> Option<&FieldStats> {
        self.fields.iter().find(|f| f.name == name)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stats(items: &[Value], csv: bool) -> ImportStats {
        let mut b = StatsBuilder::new(csv);
        for i in items {
            b.observe(i.as_object().unwrap());
        }
        b.finish()
    }

    #[test]
    fn counts_missing_types_values_numbers_and_lengths() {
        let s = stats(
            &[
                json!({"text": "abc", "lang": "en", "score": 1}),
                json!({"text": "", "lang": "en", "score": 3}),
                json!({"text": "hello", "lang": "de", "score": null}),
                json!({"text": "x", "lang": 5}),
            ],
            false,
        );
        assert_eq!(s.items, 4);
        let text = s.field("text").unwrap();
        assert_eq!((text.present, text.missing, text.empty), (4, 0, 1));
        let l = text.lengths.as_ref().unwrap();
        assert_eq!((l.count, l.min, l.max), (4, 0.0, 5.0));
        assert!((l.mean - 2.25).abs() < 1e-12);
        let lang = s.field("lang").unwrap();
        assert_eq!(lang.types["string"], 3);
        assert_eq!(lang.types["number"], 1);
        assert_eq!(lang.main_type(), Some(FieldType::String));
        assert_eq!(lang.values.as_ref().unwrap()["en"], 2);
        assert!(
            !lang.is_categorical(),
            "2 distinct values over 3 strings (the number does not count)"
        );
        assert!(
            !text.is_categorical(),
            "4 values over 4 items: none repeats"
        );
        let score = s.field("score").unwrap();
        assert_eq!((score.present, score.missing), (2, 2));
        let n = score.numbers.as_ref().unwrap();
        assert_eq!((n.min, n.max, n.mean), (1.0, 3.0, 2.0));
    }

    #[test]
    fn csv_cells_are_typed_and_empty_cells_are_missing() {
        let s = stats(
            &[
                json!({"text": "a", "n": "2.5", "ok": "true", "u": "https://x"}),
                json!({"text": "b", "n": "", "ok": "false", "u": "http://y"}),
            ],
            true,
        );
        assert_eq!(s.field("n").unwrap().main_type(), Some(FieldType::Number));
        assert_eq!(s.field("n").unwrap().missing, 1);
        assert_eq!(s.field("ok").unwrap().main_type(), Some(FieldType::Bool));
        assert_eq!(s.field("u").unwrap().main_type(), Some(FieldType::Url));
        // Without the CSV rule, a number-like string stays a string.
        let s = stats(&[json!({"n": "2.5"})], false);
        assert_eq!(s.field("n").unwrap().main_type(), Some(FieldType::String));
    }

    #[test]
    fn memory_stays_bounded() {
        let mut b = StatsBuilder::new(false);
        for i in 0..20_000 {
            let mut m = Map::new();
            m.insert("text".into(), Value::String(format!("item {i}")));
            m.insert(format!("f{i}"), json!(i));
            b.observe(&m);
        }
        let s = b.finish();
        assert_eq!(s.fields.len(), MAX_FIELDS);
        let text = s.field("text").unwrap();
        assert!(text.values.is_none(), "too many distinct values to track");
        assert_eq!(text.lengths.as_ref().unwrap().sample.len(), SAMPLE);
        assert_eq!(text.lengths.as_ref().unwrap().count, 20_000);
        assert!(s.untracked_fields > 0);
    }

    #[test]
    fn the_sample_is_deterministic_and_histograms_add_up() {
        let run = || {
            let mut b = StatsBuilder::new(false);
            for i in 0..5000 {
                let mut m = Map::new();
                m.insert("x".into(), json!(i % 100));
                b.observe(&m);
            }
            b.finish()
        };
        let (a, b) = (run(), run());
        assert_eq!(a, b);
        let h = a.field("x").unwrap().numbers.as_ref().unwrap().histogram();
        assert_eq!(h.len(), HISTOGRAM_BINS);
        let total: u64 = h.iter().map(|b| b.2).sum();
        assert!((4990..=5010).contains(&total), "{total}");
    }
}
