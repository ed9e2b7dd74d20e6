//! The dataset card of a snapshot and its diff against the task's previous snapshot, both
//! gathered row by row while the file is written, in bounded memory: a few counters per split
//! and label, and the vote counts of at most [`AGREEMENT_SAMPLE`] items for the agreement
//! figures (all of them in smaller snapshots; above that a uniform sample by item-id hash, and
//! the card says so).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use crate::domain::agreement;
use crate::domain::split::Split;
use crate::export::row::{LabelKind, Row, Shape};
use crate::export::store::IndexReader;

/// Distinct answers beyond which agreement is not computed (it would be free text in disguise).
const MAX_CLASSES: usize = 1_000;

/// Items whose vote counts are kept for the agreement figures, at most.
pub const AGREEMENT_SAMPLE: usize = 200_000;

/// A well-mixed 64-bit hash of an item id (splitmix64's finaliser), for sampling.
fn mix(id: i64) -> u64 {
    let mut z = (id as u64).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The vote counts of a uniform sample of items: an item is kept while the low `level` bits of
/// its hash are zero, and `level` goes up (halving the sample) whenever it outgrows its bound.
#[derive(Default)]
struct VoteSample {
    level: u32,
    /// Items with two or more votes seen in all.
    seen: u64,
    /// Per kept item: its hash and the end of its cells.
    items: Vec<(u64, u32)>,
    /// `(class, votes)` of the kept items, one run per item.
    cells: Vec<(u32, u32)>,
}

impl VoteSample {
    fn keeps(&self, hash: u64) -> bool {
        hash & ((1u64 << self.level) - 1) == 0
    }

    fn add(&mut self, item_id: i64, cells: impl Iterator<Item = (u32, u32)>) {
        self.seen += 1;
        let hash = mix(item_id);
        if !self.keeps(hash) {
            return;
        }
        self.cells.extend(cells);
        self.items.push((hash, self.cells.len() as u32));
        if self.items.len() > AGREEMENT_SAMPLE {
            self.level += 1;
            let (mut items, mut cells) = (Vec::new(), Vec::new());
            let mut start = 0usize;
            for &(h, end) in &self.items {
                if self.keeps(h) {
                    cells.extend_from_slice(&self.cells[start..end as usize]);
                    items.push((h, cells.len() as u32));
                }
                start = end as usize;
            }
            (self.items, self.cells) = (items, cells);
        }
    }

    /// The `(class, votes)` runs of the kept items.
    fn runs(&self) -> impl Iterator<Item = &[(u32, u32)]> {
        let mut start = 0usize;
        self.items.iter().map(move |&(_, end)| {
            let run = &self.cells[start..end as usize];
            start = end as usize;
            run
        })
    }
}

/// Counts of one split (or of the whole snapshot when it has no splits).
#[derive(Clone, Debug, Default)]
struct SplitCounts {
    rows: u64,
    unlabeled: u64,
    /// Rows per option (multi choice: rows whose label contains the option).
    labels: BTreeMap<String, u64>,
}

/// Gathers the card's figures from the rows.
pub struct CardBuilder {
    kind: LabelKind,
    splits: BTreeMap<&'static str, SplitCounts>,
    methods: BTreeMap<String, u64>,
    gold_rows: u64,
    confidence_sum: f64,
    confidence_min: Option<f64>,
    confidence_rows: u64,
    /// Answer (canonical JSON) → class number, for the agreement figures.
    classes: HashMap<String, u32>,
    too_many_classes: bool,
    votes: VoteSample,
}

impl CardBuilder {
    pub fn new(shape: &Shape) -> CardBuilder {
        // Every split is on the card, an empty one too: a missing split is news.
        let splits = if shape.has_split {
            Split::ALL
                .iter()
                .map(|s| (s.as_str(), SplitCounts::default()))
                .collect()
        } else {
            BTreeMap::new()
        };
        CardBuilder {
            kind: shape.kind,
            splits,
            methods: BTreeMap::new(),
            gold_rows: 0,
            confidence_sum: 0.0,
            confidence_min: None,
            confidence_rows: 0,
            classes: HashMap::new(),
            too_many_classes: false,
            votes: VoteSample::default(),
        }
    }

    pub fn add(&mut self, row: &Row) {
        let split = row.split.map(Split::as_str).unwrap_or("all");
        let counts = self.splits.entry(split).or_default();
        counts.rows += 1;
        match &row.label {
            None => counts.unlabeled += 1,
            // Free text has no distribution to speak of: only the unlabeled rows are counted.
            Some(_) if self.kind == LabelKind::Free => {}
            Some(l) => {
                for p in &l.parts {
                    *counts.labels.entry(p.clone()).or_insert(0) += 1;
                }
            }
        }
        if let Some(m) = &row.method {
            *self.methods.entry(m.clone()).or_insert(0) += 1;
        }
        if row.is_gold {
            self.gold_rows += 1;
        }
        if let Some(c) = row.confidence {
            self.confidence_sum += c;
            self.confidence_rows += 1;
            self.confidence_min = Some(self.confidence_min.map_or(c, |m| m.min(c)));
        }
        if self.kind != LabelKind::Free && !self.too_many_classes && row.vote_count >= 2 {
            let mut cells = Vec::with_capacity(row.votes.len());
            for (answer, n) in &row.votes {
                let next = self.classes.len() as u32;
                let class = *self.classes.entry(answer.json.clone()).or_insert(next);
                cells.push((class, *n));
            }
            self.votes.add(row.item_id, cells.into_iter());
            if self.classes.len() > MAX_CLASSES {
                self.too_many_classes = true;
                self.votes = VoteSample::default();
            }
        }
    }

    /// The label distribution over all rows with a label: option → share of those rows.
    pub fn distribution(&self) -> Option<BTreeMap<String, f64>> {
        if self.kind == LabelKind::Free {
            return None;
        }
        let mut totals: BTreeMap<String, u64> = BTreeMap::new();
        let mut labeled = 0u64;
        for c in self.splits.values() {
            labeled += c.rows - c.unlabeled;
            for (k, n) in &c.labels {
                *totals.entry(k.clone()).or_insert(0) += n;
            }
        }
        if labeled == 0 {
            return Some(BTreeMap::new());
        }
        Some(
            totals
                .into_iter()
                .map(|(k, n)| (k, n as f64 / labeled as f64))
                .collect(),
        )
    }

    /// Fleiss' kappa and Krippendorff's alpha over the items with two or more votes.
    fn agreement(&self) -> Value {
        if self.kind == LabelKind::Free {
            return json!({"fleiss_kappa": null, "krippendorff_alpha": null, "items": 0,
                "note": "not computed for free-text labels"});
        }
        if self.too_many_classes {
            return json!({"fleiss_kappa": null, "krippendorff_alpha": null, "items": 0,
                "note": format!("not computed: more than {MAX_CLASSES} distinct answers")});
        }
        // Frequent classes first, so the rows (as long as their largest class) stay short.
        let mut freq = vec![0u64; self.classes.len()];
        for &(c, n) in &self.votes.cells {
            freq[c as usize] += u64::from(n);
        }
        let mut order: Vec<u32> = (0..freq.len() as u32).collect();
        order.sort_by_key(|&c| std::cmp::Reverse(freq[c as usize]));
        let mut rank = vec![0usize; freq.len()];
        for (r, &c) in order.iter().enumerate() {
            rank[c as usize] = r;
        }
        let mut rows: Vec<Vec<u64>> = Vec::with_capacity(self.votes.items.len());
        for item in self.votes.runs() {
            let width = item
                .iter()
                .map(|&(c, _)| rank[c as usize] + 1)
                .max()
                .unwrap_or(0);
            let mut row = vec![0u64; width];
            for &(c, n) in item {
                row[rank[c as usize]] += u64::from(n);
            }
            rows.push(row);
        }
        let mut v = json!({
            "fleiss_kappa": agreement::fleiss_kappa_from_counts(&rows),
            "krippendorff_alpha": agreement::krippendorff_alpha_nominal_from_counts(&rows),
            "items": rows.len(),
        });
        if self.votes.level > 0 {
            v["note"] = format!(
                "computed on a uniform sample of {} of the {} items with two or more votes",
                rows.len(),
                self.votes.seen
            )
            .into();
        }
        v
    }

    /// The card. `label_stats` are `(rater, instruction version, labels)` of the exported rows.
    pub fn finish(&self, rows: u64, label_stats: &[(i64, i64, i64)]) -> Value {
        let splits: BTreeMap<&str, Value> = self
            .splits
            .iter()
            .map(|(name, c)| {
                let shares: BTreeMap<&String, f64> = c
                    .labels
                    .iter()
                    .map(|(k, n)| (k, *n as f64 / (c.rows - c.unlabeled).max(1) as f64))
                    .collect();
                (
                    *name,
                    json!({"rows": c.rows, "unlabeled": c.unlabeled, "labels": c.labels, "shares": shares}),
                )
            })
            .collect();
        let raters: BTreeSet<i64> = label_stats.iter().map(|s| s.0).collect();
        let mut versions: BTreeMap<String, i64> = BTreeMap::new();
        for (_, v, n) in label_stats {
            *versions.entry(v.to_string()).or_insert(0) += n;
        }
        json!({
            "rows": rows,
            "splits": splits,
            "label_distribution": self.distribution(),
            "agreement": self.agreement(),
            "raters": raters.len(),
            "labels": label_stats.iter().map(|s| s.2).sum::<i64>(),
            "instruction_versions": versions,
            "resolution_methods": self.methods,
            "gold_rows": self.gold_rows,
            "confidence": {
                "mean": (self.confidence_rows > 0).then(|| self.confidence_sum / self.confidence_rows as f64),
                "min": self.confidence_min,
            },
        })
    }
}

/// Rows added, removed and relabeled since the previous snapshot: a merge of the two row
/// indexes, both in item id order, so it reads the previous one as a stream.
pub struct DiffCounter {
    previous: Option<IndexReader>,
    pending: Option<(i64, u64)>,
    pub added: u64,
    pub removed: u64,
    pub relabeled: u64,
    pub unchanged: u64,
}

impl DiffCounter {
    pub fn new(mut previous: Option<IndexReader>) -> DiffCounter {
        let pending = previous.as_mut().and_then(IndexReader::next_entry);
        DiffCounter {
            previous,
            pending,
            added: 0,
            removed: 0,
            relabeled: 0,
            unchanged: 0,
        }
    }

    /// Whether there is a previous snapshot to compare with.
    pub fn has_previous(&self) -> bool {
        self.previous.is_some()
    }

    fn advance(&mut self) {
        self.pending = self.previous.as_mut().and_then(IndexReader::next_entry);
    }

    /// One row of the new snapshot (ids must come in increasing order).
    pub fn push(&mut self, item_id: i64, label: u64) {
        if self.previous.is_none() {
            return;
        }
        while let Some((prev_id, _)) = self.pending {
            if prev_id >= item_id {
                break;
            }
            self.removed += 1;
            self.advance();
        }
        match self.pending {
            Some((prev_id, prev_label)) if prev_id == item_id => {
                if prev_label == label {
                    self.unchanged += 1;
                } else {
                    self.relabeled += 1;
                }
                self.advance();
            }
            _ => self.added += 1,
        }
    }

    /// Counts the previous rows that never came.
    pub fn finish(&mut self) {
        while self.pending.is_some() {
            self.removed += 1;
            self.advance();
        }
    }
}

/// The L-infinity distance between two label distributions: the largest change of any one
/// label's share (a label missing on one side has share 0 there).
pub fn linf(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> f64 {
    a.keys()
        .chain(b.keys())
        .map(|k| (a.get(k).copied().unwrap_or(0.0) - b.get(k).copied().unwrap_or(0.0)).abs())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vote_sample_is_bounded_uniform_and_exact_when_small() {
        let mut small = VoteSample::default();
        for id in 0..1_000 {
            small.add(id, [(0, 2), (1, 1)].into_iter());
        }
        assert_eq!(
            (small.level, small.items.len(), small.runs().count()),
            (0, 1_000, 1_000)
        );
        let mut big = VoteSample::default();
        let n = 3 * AGREEMENT_SAMPLE as i64;
        for id in 0..n {
            // Items alternate between two patterns; a uniform sample keeps both about equally.
            let cells = if id % 2 == 0 {
                [(0, 3), (1, 0)]
            } else {
                [(0, 1), (1, 2)]
            };
            big.add(id, cells.into_iter());
        }
        assert_eq!(big.seen, n as u64);
        assert!(big.items.len() <= AGREEMENT_SAMPLE && big.items.len() > AGREEMENT_SAMPLE / 4);
        let even = big.runs().filter(|r| r[0] == (0, 3)).count() as f64;
        let share = even / big.items.len() as f64;
        assert!((share - 0.5).abs() < 0.01, "{share}");
    }

    #[test]
    fn linf_distance() {
        let a: BTreeMap<String, f64> = [("pos".to_string(), 0.6), ("neg".to_string(), 0.4)].into();
        let b: BTreeMap<String, f64> = [("pos".to_string(), 0.45), ("neu".to_string(), 0.2)].into();
        // pos 0.15, neg 0.4, neu 0.2 → 0.4.
        assert!((linf(&a, &b) - 0.4).abs() < 1e-12);
        assert_eq!(linf(&a, &a), 0.0);
    }
}
