//! Label aggregation: turns several raters' answers for the same items into one resolved label per
//! item, a posterior over the classes, a confidence, and an accuracy estimate for every rater.
//!
//! This module owns the pure, I/O-free aggregation engine. The server uses it to resolve items and
//! to estimate rater reliability; `quorum aggregate answers.csv` runs the very same code offline.
//! It knows nothing about tasks, the database or HTTP: it sees only `(item, worker, label)`
//! triples.
//!
//! Methods (see [`Method`]): majority vote, Wawa (agreement-weighted vote), Dawid-Skene (EM over
//! full per-worker confusion matrices) and GLAD (item difficulty × worker ability). All of them
//! work on dense `u32` indices and flat arrays so that millions of labels aggregate in seconds.
//!
//! Shared rules, identical for every method:
//! - **Ties are never broken by chance.** When two or more classes share the highest posterior
//!   (within [`TIE_EPSILON`]) the item's `class` is `None` and it belongs in the adjudication
//!   queue; its posterior and confidence are still reported. [`Outcome::labels_for_scoring`] breaks
//!   such ties by the smallest label string, which is what published accuracy figures do.
//! - **Gold items** always resolve to their gold answer with confidence 1 and a one-hot posterior.
//!   For Dawid-Skene and GLAD they are also clamped during EM, so they anchor the rater estimates;
//!   for Wawa and majority vote they replace the consensus when rater agreement is measured.
//! - A worker who answered the same item twice simply contributes two votes: uniqueness of
//!   `(item, worker)` is the store's invariant, not this engine's.

mod dawid_skene;
mod glad;
mod majority;
mod wawa;

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::io::BufRead;

/// Two posteriors closer than this are treated as equal when choosing the top class.
///
/// Exact float equality would let rounding noise (1 ulp from a different summation order) pick a
/// winner in a genuinely symmetric case, which is the "by chance" resolution we refuse to do. Vote
/// shares differ by at least `1/n`, so this never merges two distinct majority-vote counts.
pub const TIE_EPSILON: f64 = 1e-9;

/// One answer: `worker` said `class` for `item`, all as dense indices into an [`Answers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    /// Item index (see [`Answers::item_name`]).
    pub item: u32,
    /// Worker index (see [`Answers::worker_name`]).
    pub worker: u32,
    /// Class index (see [`Answers::class_name`]).
    pub class: u32,
}

/// A set of answers with every name interned to a dense `u32` index (first seen = 0).
///
/// Indices are stable for the lifetime of the value, so callers can key gold answers and look up
/// results by index. Items and workers are only created by [`Answers::push`], so each has at least
/// one label; classes may also be registered without votes via [`Answers::add_class`].
#[derive(Clone, Debug, Default)]
pub struct Answers {
    items: Names,
    workers: Names,
    classes: Names,
    labels: Vec<Label>,
}

/// An interner that stores every name once, in one arena string.
///
/// A million item names as `Vec<String>` plus `HashMap<String, u32>` cost two heap strings and a
/// map entry each (~100 bytes per name, more while the map doubles). Here a name costs its bytes,
/// one offset and, in a hash table of plain `u32` slots kept at most half full, 4–8 bytes: for 1M
/// names about 30 MB instead of 100+. The table hashes names with a randomly seeded SipHash
/// (`RandomState`), so crafted names cannot force collisions; ids are assigned in first-seen order
/// regardless.
#[derive(Clone, Debug, Default)]
struct Names {
    text: String,
    /// Name `i` is `text[ends[i - 1]..ends[i]]` (with `ends[-1]` = 0).
    ends: Vec<usize>,
    /// Open addressing with linear probing: `id + 1`, or 0 for an empty slot. Power-of-two length.
    slots: Vec<u32>,
    seed: RandomState,
}

impl Names {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, id: u32) -> Option<&str> {
        let i = id as usize;
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start..end)
    }

    /// The slot holding `name`, or the empty slot where it would go. Requires a non-empty table
    /// with at least one empty slot (guaranteed by the half-full rule), so the probe always ends.
    fn probe(&self, name: &str) -> usize {
        let mask = self.slots.len() - 1;
        let mut pos = self.seed.hash_one(name) as usize & mask;
        loop {
            let slot = self.slots[pos];
            if slot == 0 || self.get(slot - 1) == Some(name) {
                return pos;
            }
            pos = (pos + 1) & mask;
        }
    }

    fn index(&self, name: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        self.slots[self.probe(name)].checked_sub(1)
    }

    fn intern(&mut self, name: &str) -> Result<u32, CapacityError> {
        if let Some(id) = self.index(name) {
            return Ok(id);
        }
        // `id + 1` must fit a slot, hence `u32::MAX - 1` names at most.
        let id = u32::try_from(self.ends.len())
            .ok()
            .filter(|&id| id < u32::MAX)
            .ok_or(CapacityError)?;
        if (self.ends.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        self.text.push_str(name);
        self.ends.push(self.text.len());
        let pos = self.probe(name);
        self.slots[pos] = id + 1;
        Ok(id)
    }

    /// Doubles the table and re-inserts every name (hashes are recomputed from the arena rather
    /// than stored, which would cost 8 more bytes per name).
    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(16);
        self.slots = vec![0; size];
        for id in 0..self.ends.len() as u32 {
            if let Some(name) = self.get(id) {
                let pos = self.probe(name);
                self.slots[pos] = id + 1;
            }
        }
    }

    fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.ends.len()).map(|i| {
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            &self.text[start..self.ends[i]]
        })
    }
}

/// More than `u32::MAX` distinct items, workers or classes were pushed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapacityError;

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("too many distinct items, workers or labels (the limit is 4294967295 of each)")
    }
}

impl std::error::Error for CapacityError {}

/// A CSV input could not be read. `line` is 1-based and counts physical lines, header included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The 1-based line where the problem was found.
    pub line: usize,
    /// What is wrong, in words meant for the person who supplied the file.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

impl Answers {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one answer, interning the three names.
    pub fn push(&mut self, item: &str, worker: &str, label: &str) -> Result<(), CapacityError> {
        // On overflow an already interned class or item may be left without answers; every method
        // handles that (a class nobody chose; an item with a uniform, unresolved posterior).
        let class = self.classes.intern(label)?;
        let item = self.items.intern(item)?;
        let worker = self.workers.intern(worker)?;
        self.labels.push(Label {
            item,
            worker,
            class,
        });
        Ok(())
    }

    /// Reserves room for `additional` more answers (avoids regrowing a multi-million label vector).
    pub fn reserve(&mut self, additional: usize) {
        self.labels.reserve(additional);
    }

    /// Registers a class that may have no votes (e.g. every option of the task's schema), so that
    /// models know it exists. Returns its index; an existing class keeps its index.
    pub fn add_class(&mut self, label: &str) -> Result<u32, CapacityError> {
        self.classes.intern(label)
    }

    /// Reads `item,worker,label` CSV (header required, columns in any order, extra columns
    /// ignored).
    ///
    /// Quoting follows RFC 4180 within one line (`"a,b"`, `"say ""hi"""`); a quoted field spanning
    /// lines is rejected. Unquoted fields are trimmed, blank lines skipped, a UTF-8 BOM and CRLF
    /// line ends accepted. Every error names its line.
    pub fn from_csv_reader<R: BufRead>(r: R) -> Result<Self, ParseError> {
        let mut answers = Answers::new();
        read_csv(r, &["item", "worker", "label"], |line, f| {
            answers.push(f[0], f[1], f[2]).map_err(|e| ParseError {
                line,
                message: e.to_string(),
            })
        })?;
        Ok(answers)
    }

    /// Reads gold / truth answers as `item,label` CSV (same dialect as
    /// [`Answers::from_csv_reader`]).
    ///
    /// Rows for items without answers are skipped: there is nothing to resolve for them. A gold
    /// label nobody chose is registered as a class. An item listed twice with different labels is
    /// an error.
    pub fn read_gold_csv<R: BufRead>(&mut self, r: R) -> Result<HashMap<u32, u32>, ParseError> {
        let mut gold = HashMap::new();
        read_csv(r, &["item", "label"], |line, f| {
            let Some(item) = self.item_index(f[0]) else {
                return Ok(());
            };
            let class = self.add_class(f[1]).map_err(|e| ParseError {
                line,
                message: e.to_string(),
            })?;
            match gold.insert(item, class) {
                Some(previous) if previous != class => Err(ParseError {
                    line,
                    message: format!("item {:?} already has a different gold label", f[0]),
                }),
                _ => Ok(()),
            }
        })?;
        Ok(gold)
    }

    /// Number of distinct items.
    pub fn n_items(&self) -> usize {
        self.items.len()
    }

    /// Number of distinct workers.
    pub fn n_workers(&self) -> usize {
        self.workers.len()
    }

    /// Number of classes (label values), including ones registered with [`Answers::add_class`].
    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }

    /// Name of item `i`.
    pub fn item_name(&self, i: u32) -> Option<&str> {
        self.items.get(i)
    }

    /// Name of worker `w`.
    pub fn worker_name(&self, w: u32) -> Option<&str> {
        self.workers.get(w)
    }

    /// Name (label value) of class `c`.
    pub fn class_name(&self, c: u32) -> Option<&str> {
        self.classes.get(c)
    }

    /// Item names in index order.
    pub fn item_names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.items.iter()
    }

    /// Worker names in index order.
    pub fn worker_names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.workers.iter()
    }

    /// Class names in index order.
    pub fn class_names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.classes.iter()
    }

    /// All answers, in the order they were pushed.
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// The answers as `(item, rater, class)` triples, the input of the agreement metrics
    /// (`domain::agreement`).
    pub fn triples(&self) -> impl Iterator<Item = (u32, u32, u32)> + '_ {
        self.labels.iter().map(|l| (l.item, l.worker, l.class))
    }

    /// Index of an item name, if it has answers.
    pub fn item_index(&self, name: &str) -> Option<u32> {
        self.items.index(name)
    }

    /// Index of a worker name.
    pub fn worker_index(&self, name: &str) -> Option<u32> {
        self.workers.index(name)
    }

    /// Index of a class name.
    pub fn class_index(&self, name: &str) -> Option<u32> {
        self.classes.index(name)
    }

    /// Number of answers.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no answers.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Splits one CSV line into fields (RFC 4180 quoting, single line). Fields are written unescaped
/// into `buf` and addressed by `ends` (end offsets), so a million-line file allocates nothing per
/// line.
fn split_record(line: &str, buf: &mut String, ends: &mut Vec<usize>) -> Result<(), &'static str> {
    buf.clear();
    ends.clear();
    let mut chars = line.chars().peekable();
    loop {
        // Skip leading blanks; an unquoted field is trimmed anyway and a quoted one may be
        // indented.
        while matches!(chars.peek(), Some(' ' | '\t')) {
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        buf.push('"');
                    }
                    Some('"') => break,
                    Some(c) => buf.push(c),
                    None => {
                        return Err(
                            "unterminated quoted field (fields spanning lines are not supported)",
                        );
                    }
                }
            }
            while matches!(chars.peek(), Some(' ' | '\t')) {
                chars.next();
            }
            ends.push(buf.len());
            match chars.next() {
                None => return Ok(()),
                Some(',') => continue,
                Some(_) => return Err("unexpected character after a closing quote"),
            }
        }
        let start = buf.len();
        let mut at_end = true;
        for c in chars.by_ref() {
            if c == ',' {
                at_end = false;
                break;
            }
            buf.push(c);
        }
        let trimmed_len = buf[start..].trim_end_matches([' ', '\t']).len();
        buf.truncate(start + trimmed_len);
        ends.push(buf.len());
        if at_end {
            return Ok(());
        }
    }
}

/// Reads a headed CSV whose header must contain `required` columns (case-insensitive, any order)
/// and calls `row` with those columns' values, in `required` order, for every data line.
fn read_csv<R: BufRead>(
    mut r: R,
    required: &[&str],
    mut row: impl FnMut(usize, &[&str]) -> Result<(), ParseError>,
) -> Result<(), ParseError> {
    let mut line = String::new();
    let mut buf = String::new();
    let mut ends = Vec::new();
    // Once the header is read: (position of each required column, number of fields per line).
    let mut columns: Option<(Vec<usize>, usize)> = None;
    let mut line_no = 0usize;
    loop {
        line.clear();
        line_no += 1;
        let read = r.read_line(&mut line).map_err(|e| ParseError {
            line: line_no,
            message: if e.kind() == std::io::ErrorKind::InvalidData {
                "the file is not valid UTF-8".to_owned()
            } else {
                format!("read error: {e}")
            },
        })?;
        if read == 0 {
            break;
        }
        let mut text = line.trim_end_matches(['\n', '\r']);
        if line_no == 1 {
            text = text.strip_prefix('\u{feff}').unwrap_or(text);
        }
        if text.trim().is_empty() {
            continue;
        }
        split_record(text, &mut buf, &mut ends).map_err(|m| ParseError {
            line: line_no,
            message: m.to_owned(),
        })?;
        let field = |i: usize| -> &str {
            let start = if i == 0 { 0 } else { ends[i - 1] };
            &buf[start..ends[i]]
        };
        match &columns {
            None => {
                let names: Vec<String> = (0..ends.len())
                    .map(|i| field(i).to_ascii_lowercase())
                    .collect();
                let mut positions = Vec::with_capacity(required.len());
                for want in required {
                    let mut found = names
                        .iter()
                        .enumerate()
                        .filter(|(_, n)| n.as_str() == *want);
                    match (found.next(), found.next()) {
                        (Some((pos, _)), None) => positions.push(pos),
                        (Some(_), Some(_)) => {
                            return Err(ParseError {
                                line: line_no,
                                message: format!("header has column {want:?} twice"),
                            });
                        }
                        (None, _) => {
                            return Err(ParseError {
                                line: line_no,
                                message: format!(
                                    "header must name the columns {}; column {want:?} is missing",
                                    required.join(",")
                                ),
                            });
                        }
                    }
                }
                columns = Some((positions, ends.len()));
            }
            Some((positions, count)) => {
                if ends.len() != *count {
                    return Err(ParseError {
                        line: line_no,
                        message: format!(
                            "expected {count} fields as in the header, found {}",
                            ends.len()
                        ),
                    });
                }
                let mut values: Vec<&str> = Vec::with_capacity(required.len());
                for (want, &pos) in required.iter().zip(positions) {
                    let v = field(pos);
                    if v.is_empty() {
                        return Err(ParseError {
                            line: line_no,
                            message: format!("empty {want}"),
                        });
                    }
                    values.push(v);
                }
                row(line_no, &values)?;
            }
        }
    }
    if columns.is_none() {
        return Err(ParseError {
            line: line_no.max(1),
            message: format!("empty input: expected a header {}", required.join(",")),
        });
    }
    Ok(())
}

/// How labels are aggregated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// Each vote counts once; posterior = vote shares.
    Majority,
    /// Worker Agreement With Aggregate: a worker's weight is the share of their answers that agree
    /// with the majority vote; the answer is the weighted vote (crowd-kit's `Wawa`).
    Wawa,
    /// Dawid & Skene (1979): EM over a full confusion matrix per worker and a class prior.
    DawidSkene,
    /// Whitehill et al. (2009) GLAD: per-worker ability × per-item inverse difficulty, multi-class.
    Glad,
}

/// Tuning knobs. [`Options::default`] is what the platform and the accuracy tests use.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    /// Upper bound on EM iterations (Dawid-Skene, GLAD); values above 10,000 are treated as 10,000
    /// so that a mistyped setting cannot hang a request.
    pub max_iterations: usize,
    /// EM stops when the log-likelihood (plus log-prior) per label changes by less than this.
    pub tolerance: f64,
    /// Dawid-Skene: pseudo-count added to every confusion-matrix cell and class-prior entry (a
    /// symmetric Dirichlet prior), so that a worker with three labels does not get probabilities
    /// of exactly 0 or 1. Values below `1e-10` are raised to `1e-10` so logs stay finite.
    pub smoothing: f64,
    /// GLAD: gradient-ascent steps per M-step (each a line-searched, diagonally preconditioned
    /// step); at most 1,000. Accuracy on the shared data is the same for 1 to 25; 5 converges in
    /// the least time.
    pub m_step_iterations: usize,
    /// Refuse inputs whose dense model would need more than this many `f64` cells (posterior rows,
    /// confusion matrices). Protects the process from, say, aggregating a free-text column with
    /// millions of distinct "classes". The default, 2^26 cells, is 512 MiB.
    pub max_cells: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_iterations: 100,
            tolerance: 1e-7,
            smoothing: 0.01,
            m_step_iterations: 5,
            max_cells: 1 << 26,
        }
    }
}

impl Options {
    /// Replaces nonsensical values (NaN, negative) by the defaults and caps iteration counts,
    /// rather than failing or looping for ever.
    fn sanitized(&self) -> Options {
        let d = Options::default();
        Options {
            max_iterations: self.max_iterations.min(10_000),
            tolerance: if self.tolerance.is_finite() && self.tolerance >= 0.0 {
                self.tolerance
            } else {
                d.tolerance
            },
            smoothing: if self.smoothing.is_finite() && self.smoothing >= 0.0 {
                self.smoothing.max(1e-10)
            } else {
                d.smoothing
            },
            m_step_iterations: self.m_step_iterations.min(1_000),
            max_cells: self.max_cells,
        }
    }
}

/// The resolution of one item.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Resolved {
    /// Item index.
    pub item: u32,
    /// The resolved class, or `None` when the top classes tie (send to adjudication).
    pub class: Option<u32>,
    /// Posterior probability of `class`; for a tie, the tied (highest) posterior.
    pub confidence: f64,
}

/// Everything one aggregation run produces.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The method that produced this outcome.
    pub method: Method,
    /// Number of classes, i.e. the width of each posterior row.
    pub classes: usize,
    /// One entry per item, indexed by item index.
    pub items: Vec<Resolved>,
    /// Row-major `items.len() × classes` posterior; use [`Outcome::posterior`]. Flat to keep a
    /// million items to one allocation.
    pub posterior: Vec<f64>,
    /// Estimated probability that each worker answers correctly, by worker index. Majority and
    /// Wawa: share of the worker's answers agreeing with the consensus (a tied item credits `1/t`
    /// for each of its `t` top classes). Dawid-Skene: `Σ_k prior_k · π_w[k][k]`. GLAD: mean of
    /// `σ(α_w β_i)` over the worker's items.
    pub worker_accuracy: Vec<f64>,
    /// Estimated class frequencies (mean posterior; Dawid-Skene's fitted prior).
    pub class_prior: Vec<f64>,
    /// EM iterations run (0 for majority vote and Wawa).
    pub iterations: usize,
    /// Whether EM met the tolerance before the iteration cap (always true for non-iterative
    /// methods).
    pub converged: bool,
}

impl Outcome {
    /// The posterior row of `item` (empty for an unknown index).
    pub fn posterior(&self, item: u32) -> &[f64] {
        let start = (item as usize).saturating_mul(self.classes);
        self.posterior
            .get(start..start.saturating_add(self.classes))
            .unwrap_or(&[])
    }

    /// One label per item for scoring against a truth set: the resolved class, or for a tie the
    /// tied class whose name sorts first (the convention of published accuracy tables). Never use
    /// this to resolve items on the platform; ties there go to adjudication.
    pub fn labels_for_scoring(&self, answers: &Answers) -> Vec<Option<u32>> {
        let name = |c: usize| {
            u32::try_from(c)
                .ok()
                .and_then(|c| answers.class_name(c))
                .unwrap_or("")
        };
        self.items
            .iter()
            .map(|r| {
                if r.class.is_some() {
                    return r.class;
                }
                let row = self.posterior(r.item);
                let max = row_max(row)?;
                (0..row.len())
                    .filter(|&c| row[c] >= max - TIE_EPSILON)
                    .min_by(|&a, &b| name(a).cmp(name(b)).then(a.cmp(&b)))
                    .and_then(|c| u32::try_from(c).ok())
            })
            .collect()
    }
}

/// Share of truth items whose predicted label equals the truth (items beyond `predicted` or without
/// a prediction count as wrong). `None` when `truth` is empty.
pub fn accuracy(predicted: &[Option<u32>], truth: &HashMap<u32, u32>) -> Option<f64> {
    if truth.is_empty() {
        return None;
    }
    let correct = truth
        .iter()
        .filter(|&(&item, &class)| predicted.get(item as usize).copied().flatten() == Some(class))
        .count();
    Some(correct as f64 / truth.len() as f64)
}

/// Why [`aggregate`] refused to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AggregateError {
    /// The dense model would exceed [`Options::max_cells`].
    TooLarge {
        /// Cells the model would need.
        cells: usize,
        /// The configured limit.
        limit: usize,
    },
    /// A gold entry names an item index that this [`Answers`] does not have.
    GoldItemOutOfRange {
        /// The offending item index.
        item: u32,
    },
    /// A gold entry names a class index that this [`Answers`] does not have.
    GoldClassOutOfRange {
        /// The gold item.
        item: u32,
        /// The offending class index.
        class: u32,
    },
}

impl fmt::Display for AggregateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AggregateError::TooLarge { cells, limit } => write!(
                f,
                "too many items × classes to aggregate: \
                 the model needs {cells} cells, the limit is {limit}"
            ),
            AggregateError::GoldItemOutOfRange { item } => {
                write!(f, "gold answer for unknown item index {item}")
            }
            AggregateError::GoldClassOutOfRange { item, class } => {
                write!(
                    f,
                    "gold answer for item {item} uses unknown class index {class}"
                )
            }
        }
    }
}

impl std::error::Error for AggregateError {}

/// Aggregates `answers` with `method`. `gold` maps item index → class index of known answers (may
/// be empty). Deterministic: the same input gives bit-identical output.
pub fn aggregate(
    answers: &Answers,
    method: Method,
    gold: &HashMap<u32, u32>,
    opts: &Options,
) -> Result<Outcome, AggregateError> {
    let opts = opts.sanitized();
    let prep = Prepared::new(answers, gold)?;
    let (n, k, w) = (prep.n_items, prep.n_classes, prep.n_workers);
    // Posterior rows always; Dawid-Skene adds two W×K×K arrays. GLAD's extra arrays are O(N + W).
    let cells = match method {
        Method::DawidSkene => n
            .saturating_mul(k)
            .saturating_add(w.saturating_mul(k).saturating_mul(k).saturating_mul(2)),
        _ => n.saturating_mul(k),
    };
    if cells > opts.max_cells {
        return Err(AggregateError::TooLarge {
            cells,
            limit: opts.max_cells,
        });
    }
    let fit = match method {
        Method::Majority => majority::fit(&prep),
        Method::Wawa => wawa::fit(&prep),
        Method::DawidSkene => dawid_skene::fit(&prep, &opts),
        Method::Glad => glad::fit(&prep, &opts),
    };
    Ok(finish(&prep, method, fit))
}

/// Turns a fitted posterior into per-item resolutions, applying the shared gold and tie rules.
fn finish(prep: &Prepared, method: Method, fit: Fit) -> Outcome {
    let k = prep.n_classes;
    let mut posterior = fit.posterior;
    let mut items = Vec::with_capacity(prep.n_items);
    for i in 0..prep.n_items {
        let row = &mut posterior[i * k..(i + 1) * k];
        let item = i as u32; // Lossless: the interner hands out fewer than u32::MAX ids.
        if let Some(g) = prep.gold[i] {
            row.fill(0.0);
            row[g as usize] = 1.0;
            items.push(Resolved {
                item,
                class: Some(g),
                confidence: 1.0,
            });
            continue;
        }
        let (class, confidence) = top_class(row);
        items.push(Resolved {
            item,
            class,
            confidence,
        });
    }
    let class_prior = if fit.class_prior.len() == k {
        fit.class_prior
    } else {
        mean_rows(&posterior, k)
    };
    Outcome {
        method,
        classes: k,
        items,
        posterior,
        worker_accuracy: fit.worker_accuracy,
        class_prior,
        iterations: fit.iterations,
        converged: fit.converged,
    }
}

/// Largest finite-or-infinite value of a row, ignoring NaN; `None` for an empty or all-NaN row.
fn row_max(row: &[f64]) -> Option<f64> {
    row.iter().copied().filter(|x| !x.is_nan()).reduce(f64::max)
}

/// The single top class of a posterior row, or `None` when several share the top (within
/// [`TIE_EPSILON`]); the second value is the top posterior.
fn top_class(row: &[f64]) -> (Option<u32>, f64) {
    let Some(max) = row_max(row) else {
        return (None, 0.0);
    };
    let mut top = None;
    for (c, &p) in row.iter().enumerate() {
        if p >= max - TIE_EPSILON {
            if top.is_some() {
                return (None, max);
            }
            top = Some(c as u32);
        }
    }
    (top, max)
}

/// Column means of a row-major matrix with `k` columns.
fn mean_rows(m: &[f64], k: usize) -> Vec<f64> {
    let mut mean = vec![0.0; k];
    if k == 0 {
        return mean;
    }
    let rows = m.len() / k;
    for row in m.chunks_exact(k) {
        for (acc, &p) in mean.iter_mut().zip(row) {
            *acc += p;
        }
    }
    if rows > 0 {
        mean.iter_mut().for_each(|x| *x /= rows as f64);
    }
    mean
}

/// One vote inside an item's group: who said what.
#[derive(Clone, Copy, Debug)]
struct Vote {
    worker: u32,
    class: u32,
}

/// Answers regrouped by item (CSR layout) with gold as a flat per-item array: the form every
/// method's inner loop wants. Built once per run in O(labels) with a counting sort.
struct Prepared {
    n_items: usize,
    n_workers: usize,
    n_classes: usize,
    /// `votes[start[i]..start[i + 1]]` are item `i`'s votes, in push order.
    start: Vec<usize>,
    votes: Vec<Vote>,
    gold: Vec<Option<u32>>,
}

impl Prepared {
    fn new(answers: &Answers, gold: &HashMap<u32, u32>) -> Result<Prepared, AggregateError> {
        let n_items = answers.n_items();
        let n_classes = answers.n_classes();
        // Counting sort by item. `start[i]` first counts item i - 1's votes, then becomes a prefix
        // sum, then serves as item i - 1's fill cursor; after filling, `start[i]` holds item i's
        // end, so shifting right by one yields the offsets without a second cursor array.
        let mut start = vec![0usize; n_items + 1];
        for l in &answers.labels {
            start[l.item as usize + 1] += 1;
        }
        for i in 0..n_items {
            start[i + 1] += start[i];
        }
        let mut votes = vec![
            Vote {
                worker: 0,
                class: 0
            };
            answers.labels.len()
        ];
        for l in &answers.labels {
            let cursor = &mut start[l.item as usize];
            votes[*cursor] = Vote {
                worker: l.worker,
                class: l.class,
            };
            *cursor += 1;
        }
        start.rotate_right(1);
        start[0] = 0;
        let mut gold_by_item = vec![None; n_items];
        // Sorted so that the reported error (if several entries are bad) does not depend on hash
        // order.
        let mut entries: Vec<(u32, u32)> = gold.iter().map(|(&i, &c)| (i, c)).collect();
        entries.sort_unstable();
        for (item, class) in entries {
            if item as usize >= n_items {
                return Err(AggregateError::GoldItemOutOfRange { item });
            }
            if class as usize >= n_classes {
                return Err(AggregateError::GoldClassOutOfRange { item, class });
            }
            gold_by_item[item as usize] = Some(class);
        }
        Ok(Prepared {
            n_items,
            n_workers: answers.n_workers(),
            n_classes,
            start,
            votes,
            gold: gold_by_item,
        })
    }

    /// Item `i`'s votes.
    fn votes_of(&self, i: usize) -> &[Vote] {
        &self.votes[self.start[i]..self.start[i + 1]]
    }
}

/// What each method hands back to [`finish`].
struct Fit {
    /// Row-major `n_items × n_classes`; rows sum to 1.
    posterior: Vec<f64>,
    worker_accuracy: Vec<f64>,
    /// Empty to let [`finish`] use the mean posterior.
    class_prior: Vec<f64>,
    iterations: usize,
    converged: bool,
}

/// Overwrites gold items' rows with one-hot gold answers (used inside EM loops).
fn clamp_gold(prep: &Prepared, posterior: &mut [f64]) {
    let k = prep.n_classes;
    for (i, g) in prep.gold.iter().enumerate() {
        if let Some(g) = *g {
            let row = &mut posterior[i * k..(i + 1) * k];
            row.fill(0.0);
            row[g as usize] = 1.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::io::{BufReader, Cursor};
    use std::path::PathBuf;

    /// The shared crowd data sets (see their README). Missing data must fail the tests, not skip
    /// them.
    const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/crowd");

    fn load(name: &str) -> (Answers, HashMap<u32, u32>) {
        let dir = PathBuf::from(DATA).join(name);
        let open = |f: &str| {
            let path = dir.join(f);
            BufReader::new(
                File::open(&path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display())),
            )
        };
        let mut answers =
            Answers::from_csv_reader(open("answers.csv")).expect("answers.csv parses");
        let truth = answers
            .read_gold_csv(open("truth.csv"))
            .expect("truth.csv parses");
        (answers, truth)
    }

    fn score(answers: &Answers, truth: &HashMap<u32, u32>, method: Method) -> (f64, Outcome) {
        let out =
            aggregate(answers, method, &HashMap::new(), &Options::default()).expect("aggregates");
        let acc = accuracy(&out.labels_for_scoring(answers), truth).expect("truth not empty");
        (acc, out)
    }

    /// (data set, items, MV, Wawa, DS, GLAD) from the data README (crowd-kit 1.4.2 figures).
    const README: [(&str, usize, f64, f64, f64, f64); 4] = [
        ("d_product", 8315, 0.8966, 0.8966, 0.9397, 0.9282),
        ("d_possent", 1000, 0.9320, 0.9510, 0.9600, 0.9480),
        ("dog", 807, 0.8178, 0.8290, 0.8426, 0.8340),
        ("rte", 800, 0.9187, 0.9213, 0.9275, 0.9250),
    ];

    #[test]
    fn accuracy_on_shared_crowd_data() {
        assert!(
            PathBuf::from(DATA).is_dir(),
            "shared crowd data missing at {DATA}"
        );
        let mut failures = Vec::new();
        for (name, n_items, mv, wawa, ds, glad) in README {
            let (answers, truth) = load(name);
            assert_eq!(answers.n_items(), n_items, "{name}: item count");
            assert_eq!(truth.len(), n_items, "{name}: truth count");
            let t = std::time::Instant::now();
            let got: Vec<(Method, f64, f64, usize, std::time::Duration)> = [
                (Method::Majority, mv),
                (Method::Wawa, wawa),
                (Method::DawidSkene, ds),
                (Method::Glad, glad),
            ]
            .into_iter()
            .map(|(m, want)| {
                let t = std::time::Instant::now();
                let (acc, out) = score(&answers, &truth, m);
                (m, acc, want, out.iterations, t.elapsed())
            })
            .collect();
            let line: Vec<String> = got
                .iter()
                .map(|(m, acc, want, it, el)| {
                    format!("{m:?} {acc:.4} (README {want:.4}, {it} it, {el:.1?})")
                })
                .collect();
            eprintln!("{name:10} {} [{:?}]", line.join(" | "), t.elapsed());
            let mv_acc = got[0].1;
            if format!("{mv_acc:.4}") != format!("{mv:.4}") {
                failures.push(format!("{name}: majority vote {mv_acc:.4}, README {mv:.4}"));
            }
            let ds_acc = got[2].1;
            if ds_acc < ds - 0.003 {
                failures.push(format!(
                    "{name}: Dawid-Skene {ds_acc:.4} < README {ds:.4} - 0.003"
                ));
            }
            // Wawa and GLAD are reported against the README; guard against gross regressions only.
            let wawa_acc = got[1].1;
            if wawa_acc < wawa - 0.005 {
                failures.push(format!(
                    "{name}: Wawa {wawa_acc:.4} far below README {wawa:.4}"
                ));
            }
            let glad_acc = got[3].1;
            if glad_acc < glad - 0.01 {
                failures.push(format!(
                    "{name}: GLAD {glad_acc:.4} far below README {glad:.4}"
                ));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn dawid_skene_gold_clamping_on_shared_data_does_not_hurt() {
        // Give DS the truth of every 10th item as gold: accuracy on the other items must not drop.
        let (answers, truth) = load("dog");
        let mut gold = HashMap::new();
        let mut rest = HashMap::new();
        for (&i, &c) in &truth {
            if i % 10 == 0 {
                gold.insert(i, c)
            } else {
                rest.insert(i, c)
            };
        }
        let plain = aggregate(
            &answers,
            Method::DawidSkene,
            &HashMap::new(),
            &Options::default(),
        )
        .unwrap();
        let with_gold =
            aggregate(&answers, Method::DawidSkene, &gold, &Options::default()).unwrap();
        let a = accuracy(&plain.labels_for_scoring(&answers), &rest).unwrap();
        let b = accuracy(&with_gold.labels_for_scoring(&answers), &rest).unwrap();
        assert!(b >= a - 0.005, "gold made it worse: {a} -> {b}");
        for (&i, &c) in &gold {
            assert_eq!(with_gold.items[i as usize].class, Some(c));
            assert_eq!(with_gold.items[i as usize].confidence, 1.0);
        }
    }

    fn answers(rows: &[(&str, &str, &str)]) -> Answers {
        let mut a = Answers::new();
        for (i, w, l) in rows {
            a.push(i, w, l).unwrap();
        }
        a
    }

    const ALL: [Method; 4] = [
        Method::Majority,
        Method::Wawa,
        Method::DawidSkene,
        Method::Glad,
    ];

    fn check_invariants(a: &Answers, out: &Outcome) {
        assert_eq!(out.items.len(), a.n_items());
        assert_eq!(out.posterior.len(), a.n_items() * a.n_classes());
        assert_eq!(out.worker_accuracy.len(), a.n_workers());
        assert_eq!(out.class_prior.len(), a.n_classes());
        for r in &out.items {
            let row = out.posterior(r.item);
            let sum: f64 = row.iter().sum();
            assert!((sum - 1.0).abs() < 1e-9, "{:?} row {row:?}", out.method);
            assert!(row.iter().all(|p| p.is_finite() && *p >= 0.0));
            assert!(r.confidence.is_finite() && (0.0..=1.0 + 1e-12).contains(&r.confidence));
        }
        assert!(
            out.worker_accuracy
                .iter()
                .all(|x| x.is_finite() && (0.0..=1.0).contains(x)),
            "{:?}",
            out.worker_accuracy
        );
        assert!(out.class_prior.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let cases: Vec<Answers> = vec![
            Answers::new(),
            answers(&[("i", "w", "a")]),
            answers(&[("i", "w", "a"), ("j", "w", "a"), ("k", "v", "a")]), // one class
            answers(&[("i", "w", "a"), ("i", "v", "b")]),                  // a tie, two raters
            answers(&[("i", "w", "a"), ("j", "w", "b"), ("k", "w", "c")]), // one rater
            answers(&[("i", "w", "a"), ("i", "w", "a"), ("i", "w", "b")]), // duplicate votes
        ];
        for a in &cases {
            for m in ALL {
                let out = aggregate(a, m, &HashMap::new(), &Options::default()).unwrap();
                check_invariants(a, &out);
            }
        }
        // Class registered but never chosen.
        let mut a = answers(&[("i", "w", "a"), ("j", "v", "a")]);
        a.add_class("zzz").unwrap();
        for m in ALL {
            let out = aggregate(&a, m, &HashMap::new(), &Options::default()).unwrap();
            check_invariants(&a, &out);
            assert_eq!(out.items[0].class, Some(0), "{m:?}");
        }
    }

    #[test]
    fn silly_options_are_survived() {
        let a = answers(&[
            ("i", "w", "a"),
            ("i", "v", "b"),
            ("j", "w", "a"),
            ("j", "v", "a"),
        ]);
        let weird = [
            Options {
                max_iterations: 0,
                ..Options::default()
            },
            Options {
                tolerance: f64::NAN,
                smoothing: f64::NAN,
                ..Options::default()
            },
            Options {
                tolerance: -1.0,
                smoothing: -3.0,
                m_step_iterations: 0,
                ..Options::default()
            },
            Options {
                smoothing: 0.0,
                tolerance: 0.0,
                max_iterations: 1000,
                ..Options::default()
            },
            Options {
                smoothing: 1e300,
                ..Options::default()
            },
        ];
        for o in weird {
            for m in ALL {
                let out = aggregate(&a, m, &HashMap::new(), &o).unwrap();
                check_invariants(&a, &out);
            }
        }
    }

    #[test]
    fn majority_tie_is_unresolved_but_scored_by_smallest_label() {
        let a = answers(&[
            ("i", "w1", "pos"),
            ("i", "w2", "neg"),
            ("j", "w1", "pos"),
            ("j", "w2", "pos"),
            ("j", "w3", "neg"),
        ]);
        let out = aggregate(&a, Method::Majority, &HashMap::new(), &Options::default()).unwrap();
        assert_eq!(out.items[0].class, None);
        assert_eq!(out.items[0].confidence, 0.5);
        assert_eq!(out.posterior(0), &[0.5, 0.5]);
        assert_eq!(out.items[1].class, a.class_index("pos"));
        assert!((out.items[1].confidence - 2.0 / 3.0).abs() < 1e-12);
        let scored = out.labels_for_scoring(&a);
        assert_eq!(scored[0], a.class_index("neg")); // "neg" < "pos"
        assert_eq!(scored[1], a.class_index("pos"));
        // w1 agrees on j and half-agrees on the tie; w3 disagrees on j.
        assert!((out.worker_accuracy[0] - 0.75).abs() < 1e-12);
        assert_eq!(
            out.worker_accuracy[a.worker_index("w3").unwrap() as usize],
            0.0
        );
    }

    #[test]
    fn gold_overrides_every_method() {
        let a = answers(&[
            ("i", "w1", "a"),
            ("i", "w2", "a"),
            ("i", "w3", "b"),
            ("j", "w1", "b"),
        ]);
        let gold = HashMap::from([(0, 1)]);
        for m in ALL {
            let out = aggregate(&a, m, &gold, &Options::default()).unwrap();
            assert_eq!(out.items[0].class, Some(1), "{m:?}");
            assert_eq!(out.posterior(0), &[0.0, 1.0]);
        }
        assert_eq!(
            aggregate(
                &a,
                Method::Majority,
                &HashMap::from([(7, 0)]),
                &Options::default()
            ),
            Err(AggregateError::GoldItemOutOfRange { item: 7 })
        );
        assert_eq!(
            aggregate(
                &a,
                Method::Majority,
                &HashMap::from([(0, 9)]),
                &Options::default()
            ),
            Err(AggregateError::GoldClassOutOfRange { item: 0, class: 9 })
        );
    }

    #[test]
    fn too_large_is_refused() {
        let a = answers(&[("i", "w", "a"), ("j", "w", "b"), ("k", "w", "c")]);
        let o = Options {
            max_cells: 5,
            ..Options::default()
        };
        assert!(matches!(
            aggregate(&a, Method::Majority, &HashMap::new(), &o),
            Err(AggregateError::TooLarge { .. })
        ));
    }

    /// A tiny deterministic generator (SplitMix64) so the synthetic tests need no crates.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Workers with known accuracies: DS and GLAD must recover them and beat majority vote.
    #[test]
    fn synthetic_workers_are_recovered() {
        let mut rng = Rng(7);
        let skill = [0.95, 0.9, 0.85, 0.6, 0.55, 0.5, 0.45];
        let k = 3u64;
        let mut a = Answers::new();
        let mut truth = HashMap::new();
        for i in 0..3000 {
            let t = rng.next() % k;
            for (w, s) in skill.iter().enumerate() {
                let l = if rng.unit() < *s {
                    t
                } else {
                    (t + 1 + rng.next() % (k - 1)) % k
                };
                a.push(&format!("i{i}"), &format!("w{w}"), &format!("c{l}"))
                    .unwrap();
            }
            truth.insert(
                a.item_index(&format!("i{i}")).unwrap(),
                a.class_index(&format!("c{t}")).unwrap_or(0),
            );
        }
        let mv = score(&a, &truth, Method::Majority).0;
        for m in [Method::DawidSkene, Method::Glad, Method::Wawa] {
            let (acc, out) = score(&a, &truth, m);
            check_invariants(&a, &out);
            assert!(acc > mv, "{m:?} {acc} vs MV {mv}");
            if m == Method::DawidSkene {
                assert!(out.converged);
                for (w, s) in skill.iter().enumerate() {
                    let est =
                        out.worker_accuracy[a.worker_index(&format!("w{w}")).unwrap() as usize];
                    assert!((est - s).abs() < 0.03, "worker {w}: {est} vs {s}");
                }
            }
        }
    }

    /// Random small inputs (1–4 classes, single raters, duplicates, gold) through every method.
    #[test]
    fn random_inputs_keep_invariants() {
        let mut rng = Rng(99);
        for case in 0..300 {
            let (items, workers, classes) =
                (1 + rng.next() % 6, 1 + rng.next() % 4, 1 + rng.next() % 4);
            let mut a = Answers::new();
            for _ in 0..1 + rng.next() % 15 {
                let (i, w, c) = (
                    rng.next() % items,
                    rng.next() % workers,
                    rng.next() % classes,
                );
                a.push(&format!("i{i}"), &format!("w{w}"), &format!("c{c}"))
                    .unwrap();
            }
            let mut gold = HashMap::new();
            if case % 3 == 0 {
                gold.insert(0, (rng.next() % a.n_classes() as u64) as u32);
            }
            for m in ALL {
                let out = aggregate(&a, m, &gold, &Options::default()).unwrap();
                check_invariants(&a, &out);
                assert_eq!(out.labels_for_scoring(&a).len(), a.n_items());
            }
            agreement_smoke(&a);
        }
    }

    /// The agreement metrics (sibling module `agreement`) on the same random data must not panic
    /// and stay in range when defined.
    fn agreement_smoke(a: &Answers) {
        use super::super::agreement as agr;
        let in_range = |x: Option<f64>| x.is_none_or(|x| x.is_finite() && x <= 1.0 + 1e-12);
        assert!(in_range(agr::fleiss_kappa(a.triples())));
        assert!(in_range(agr::krippendorff_alpha_nominal(a.triples())));
        let p = agr::pairwise_cohen_kappa(a.triples(), 1);
        assert!(in_range(p.mean) && in_range(p.weighted_mean));
    }

    #[test]
    fn csv_garbage_never_panics() {
        let mut rng = Rng(5);
        let alphabet = b"ab,\"\r\n \t\xef\xbb\xbf\xff1";
        for _ in 0..2000 {
            let mut bytes = b"item,worker,label\n".to_vec();
            for _ in 0..rng.next() % 40 {
                bytes.push(alphabet[(rng.next() % alphabet.len() as u64) as usize]);
            }
            if let Ok(a) = Answers::from_csv_reader(Cursor::new(&bytes)) {
                for m in ALL {
                    let out = aggregate(&a, m, &HashMap::new(), &Options::default()).unwrap();
                    check_invariants(&a, &out);
                }
            }
            let mut a = Answers::new();
            let _ = a.read_gold_csv(Cursor::new(&bytes[5..]));
        }
    }

    #[test]
    fn deterministic() {
        let (a, _) = load("rte");
        for m in ALL {
            let x = aggregate(&a, m, &HashMap::new(), &Options::default()).unwrap();
            let y = aggregate(&a, m, &HashMap::new(), &Options::default()).unwrap();
            assert_eq!(x, y);
        }
    }

    #[test]
    fn csv_dialect() {
        let text = concat!(
            "\u{feff}Label, item ,worker,extra\r\n",
            "\"a,b\",\"x \"\"1\"\"\",w1,zz\r\n",
            "\r\n",
            "  b , y,w2,\n"
        );
        let a = Answers::from_csv_reader(Cursor::new(text)).unwrap();
        assert_eq!(a.class_names().collect::<Vec<_>>(), ["a,b", "b"]);
        assert_eq!(a.item_names().collect::<Vec<_>>(), ["x \"1\"", "y"]);
        assert_eq!(a.worker_names().collect::<Vec<_>>(), ["w1", "w2"]);
        assert_eq!(a.item_name(1), Some("y"));
        assert_eq!(a.item_name(2), None);
        assert_eq!(a.len(), 2);
    }

    #[test]
    fn csv_errors_name_the_line() {
        let cases = [
            ("", 1, "empty input"),
            ("item,worker\n", 1, "\"label\" is missing"),
            ("item,worker,label,item\n", 1, "twice"),
            ("item,worker,label\na,b,c\na,b\n", 3, "expected 3 fields"),
            ("item,worker,label\na,b,c\n\n\"a,b,c\n", 4, "unterminated"),
            (
                "item,worker,label\n\"a\"x,b,c\n",
                2,
                "after a closing quote",
            ),
            ("item,worker,label\na,,c\n", 2, "empty worker"),
        ];
        for (text, line, needle) in cases {
            let e = Answers::from_csv_reader(Cursor::new(text)).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
        let bad_utf8: &[u8] = b"item,worker,label\na,b,\xff\n";
        let e = Answers::from_csv_reader(Cursor::new(bad_utf8)).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("UTF-8"));
    }

    #[test]
    fn interner() {
        let mut names = Names::default();
        assert_eq!(names.index("x"), None);
        for i in 0..10_000u32 {
            assert_eq!(names.intern(&format!("n{i}")), Ok(i));
        }
        assert_eq!(names.intern("n42"), Ok(42));
        assert_eq!(names.intern(""), Ok(10_000));
        assert_eq!(
            (names.index("n9999"), names.index(""), names.index("nope")),
            (Some(9999), Some(10_000), None)
        );
        assert_eq!(names.get(7), Some("n7"));
        assert_eq!(names.get(10_001), None);
        assert_eq!(names.iter().len(), 10_001);
        assert!(names.slots.iter().filter(|&&s| s != 0).count() * 2 <= names.slots.len());
    }

    #[test]
    fn gold_csv() {
        let mut a = answers(&[("i", "w", "a"), ("j", "w", "b")]);
        let gold = a
            .read_gold_csv(Cursor::new(
                "item,label\ni,b\nnot-answered,a\nj,new\nj,new\n",
            ))
            .unwrap();
        assert_eq!(gold.len(), 2);
        assert_eq!(gold[&0], 1);
        assert_eq!(a.n_classes(), 3);
        let e = a
            .read_gold_csv(Cursor::new("item,label\ni,a\ni,b\n"))
            .unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(accuracy(&[Some(1), None], &gold), Some(0.5));
        assert_eq!(accuracy(&[], &HashMap::new()), None);
    }
}
