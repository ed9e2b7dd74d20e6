//! Data validation of item imports, in the spirit of TensorFlow Data Validation (issue 12).
//!
//! Four pure pieces, each fed one pass over an import's records (no I/O here):
//!
//! - [`stats`]: per-import statistics in bounded memory — item count, and per top-level data
//!   field how often it is missing, the types seen, string value frequencies (while the field
//!   has few distinct values), numbers and text lengths (count, min, max, mean and a fixed-size
//!   deterministic reservoir sample from which histograms are drawn).
//! - [`schema`]: the task's item schema — fields with a type (`string`, `number`, `bool`, `url`,
//!   `object`, `array`), whether each is required, a categorical domain, a numeric range and a
//!   text length range — inferred from the statistics of the task's first import, and checked
//!   when an admin edits it.
//! - [`check`]: a batch against a schema — missing required field, type change, unseen
//!   category, out-of-range number, text length out of range, empty text, a field the schema
//!   does not know, duplicate content — each anomaly with its count and its first lines.
//! - [`drift`]: how far one import's statistics are from the previous import's.
//!
//! # Drift measures
//!
//! **Categorical values: L∞ distance.** With `p` and `q` the two imports' relative value
//! frequencies over the union of values, `L∞(p, q) = max_v |p(v) − q(v)|` (in [0, 1]).
//! Worked example: `p = {a: 0.5, b: 0.5}`, `q = {a: 0.25, b: 0.5, c: 0.25}` gives
//! `max(|0.5−0.25|, |0.5−0.5|, |0−0.25|) = 0.25`.
//!
//! **Numbers and text lengths: Jensen–Shannon divergence**, base 2 (so in [0, 1]), over
//! [`drift::BINS`] equal-width bins spanning both samples' range:
//! `JS(P, Q) = ½ KL(P ‖ M) + ½ KL(Q ‖ M)` with `M = ½ (P + Q)` and
//! `KL(P ‖ M) = Σ_i P_i log2(P_i / M_i)` (terms with `P_i = 0` are 0).
//! Worked example with two bins: `P = (0.5, 0.5)`, `Q = (1, 0)`, so `M = (0.75, 0.25)`;
//! `KL(P‖M) = 0.5·log2(0.5/0.75) + 0.5·log2(0.5/0.25) = 0.5·(−0.58496) + 0.5·1 = 0.20752`;
//! `KL(Q‖M) = 1·log2(1/0.75) = 0.41504`; `JS = ½(0.20752 + 0.41504) = 0.31128`.
//!
//! An import drifts when any field's figure exceeds the task's threshold for its measure
//! ([`drift::Thresholds`]).

pub mod check;
pub mod drift;
pub mod schema;
pub mod stats;

pub use check::{Anomaly, AnomalyKind, Checker};
pub use drift::{Drift, FieldDrift, Thresholds};
pub use schema::{FieldSchema, FieldType, ItemSchema};
pub use stats::{FieldStats, ImportStats, StatsBuilder};

/// One import's validation as its records stream past: statistics always, anomalies when the
/// task has a schema (the first import has none: its statistics make it).
#[derive(Debug)]
pub struct Batch {
    stats: StatsBuilder,
    checker: Option<Checker>,
}

/// What [`Batch`] found.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchReport {
    pub stats: ImportStats,
    pub anomalies: Vec<Anomaly>,
    /// Items with at least one anomaly.
    pub anomalous: u64,
}

impl Batch {
    /// `csv`: the values are CSV cells (number-like text is a number, an empty cell no value).
    pub fn new(schema: Option<ItemSchema>, csv: bool) -> Self {
        Batch {
            stats: StatsBuilder::new(csv),
            checker: schema.map(|s| Checker::new(s, csv)),
        }
    }

    /// Observes one item (`content`: its data serialised); returns its anomalies as `kind` or
    /// `kind:field` (empty: none, or no schema yet).
    pub fn observe(
        &mut self,
        line: u64,
        data: &serde_json::Map<String, serde_json::Value>,
        content: &str,
    ) -> Vec<String> {
        self.stats.observe(data);
        match self.checker.as_mut() {
            Some(c) => c.check(line, data, content),
            None => Vec::new(),
        }
    }

    pub fn finish(self) -> BatchReport {
        let (anomalies, anomalous) = match self.checker {
            Some(c) => {
                let n = c.anomalous;
                (c.finish(), n)
            }
            None => (Vec::new(), 0),
        };
        BatchReport {
            stats: self.stats.finish(),
            anomalies,
            anomalous,
        }
    }
}
