//! The entry point [`aggregate`]: checks the input against the limits, hands it to the chosen
//! method, and applies the shared gold and tie rules to the method's [`Fit`]. Also owns
//! [`Prepared`], the by-item regrouping of the answers that every method reads, and
//! [`AggregateError`].

use std::collections::HashMap;
use std::fmt;

use super::calibrate::Calibration;
use super::dawid_skene::Variant;
use super::outcome::top_class;
use super::select::{self, Choice};
use super::{Answers, Method, Options, Outcome, Resolved, dawid_skene, glad, majority, wawa};

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
///
/// [`Method::Auto`] picks the method by evidence (see `select`) and reports how in
/// [`Outcome::choice`]; [`Outcome::method`] is then the method it picked. With enough gold (and
/// [`Options::calibrate`]), confidences are calibrated on gold (see `calibrate`).
pub fn aggregate(
    answers: &Answers,
    method: Method,
    gold: &HashMap<u32, u32>,
    opts: &Options,
) -> Result<Outcome, AggregateError> {
    let opts = opts.sanitized();
    let prep = Prepared::new(answers, gold)?;
    let (n, k, w) = (prep.n_items, prep.n_classes, prep.n_workers);
    // Posterior rows always; the Dawid-Skene variants add up to three W×K×K arrays. GLAD's extra
    // arrays are O(N + W).
    let cells = match method {
        Method::DawidSkene | Method::BayesianDawidSkene | Method::OneCoin | Method::Auto => n
            .saturating_mul(k)
            .saturating_add(w.saturating_mul(k).saturating_mul(k).saturating_mul(3)),
        Method::Majority | Method::Wawa | Method::Glad => n.saturating_mul(k),
    };
    if cells > opts.max_cells {
        return Err(AggregateError::TooLarge {
            cells,
            limit: opts.max_cells,
        });
    }
    if method == Method::Auto {
        return Ok(select::auto(&prep, &opts));
    }
    let fit = fit_method(&prep, method, &opts);
    let calibration = if opts.calibrate {
        select::calibration_for(&prep, method, &opts)
    } else {
        None
    };
    Ok(finish(&prep, method, fit, calibration, None))
}

/// Fits one concrete method (`Auto` is not one: it is treated as Bayesian Dawid-Skene here).
pub(super) fn fit_method(prep: &Prepared, method: Method, opts: &Options) -> Fit {
    match method {
        Method::Majority => majority::fit(prep),
        Method::Wawa => wawa::fit(prep),
        Method::DawidSkene => dawid_skene::fit(prep, opts, Variant::Classic),
        Method::BayesianDawidSkene | Method::Auto => dawid_skene::fit(prep, opts, Variant::Bayes),
        Method::OneCoin => dawid_skene::fit(prep, opts, Variant::OneCoin),
        Method::Glad => glad::fit(prep, opts),
    }
}

/// Turns a fitted posterior into per-item resolutions, applying the shared gold and tie rules, and
/// the calibration (which changes confidences, never the resolved class).
pub(super) fn finish(
    prep: &Prepared,
    method: Method,
    fit: Fit,
    calibration: Option<Calibration>,
    choice: Option<Choice>,
) -> Outcome {
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
        let (class, mut confidence) = top_class(row);
        if let Some(cal) = &calibration {
            cal.apply(row);
            confidence = match class {
                Some(c) => row[c as usize],
                None => super::row_max(row).unwrap_or(0.0),
            };
        }
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
        choice,
        calibration,
        duplicates: prep.duplicates,
    }
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
pub(super) struct Vote {
    pub(super) worker: u32,
    pub(super) class: u32,
}

/// Answers regrouped by item (CSR layout) with gold as a flat per-item array: the form every
/// method's inner loop wants. Built once per run in O(labels) with a counting sort.
pub(super) struct Prepared {
    pub(super) n_items: usize,
    pub(super) n_workers: usize,
    pub(super) n_classes: usize,
    /// `votes[start[i]..start[i + 1]]` are item `i`'s votes, in push order.
    pub(super) start: Vec<usize>,
    pub(super) votes: Vec<Vote>,
    pub(super) gold: Vec<Option<u32>>,
    /// Answers dropped because the same worker answered the same item again later.
    pub(super) duplicates: usize,
}

impl Prepared {
    pub(super) fn new(
        answers: &Answers,
        gold: &HashMap<u32, u32>,
    ) -> Result<Prepared, AggregateError> {
        let n_items = answers.n_items();
        let n_classes = answers.n_classes();
        // Counting sort by item. `start[i]` first counts item i - 1's votes, then becomes a prefix
        // sum, then serves as item i - 1's fill cursor; after filling, `start[i]` holds item i's
        // end, so shifting right by one yields the offsets without a second cursor array.
        let mut start = vec![0usize; n_items + 1];
        for l in answers.labels() {
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
            answers.labels().len()
        ];
        for l in answers.labels() {
            let cursor = &mut start[l.item as usize];
            votes[*cursor] = Vote {
                worker: l.worker,
                class: l.class,
            };
            *cursor += 1;
        }
        start.rotate_right(1);
        start[0] = 0;
        let duplicates = keep_last_answer(&mut start, &mut votes, answers.n_workers());
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
            duplicates,
        })
    }

    /// The same answers without the votes `drop(item, vote)` names, and with `gold` instead: the
    /// training set of one cross-validation fold. Item and worker numbering stay the same.
    pub(super) fn without(
        &self,
        gold: Vec<Option<u32>>,
        mut drop: impl FnMut(usize, &Vote) -> bool,
    ) -> Prepared {
        let mut start = Vec::with_capacity(self.n_items + 1);
        let mut votes = Vec::with_capacity(self.votes.len());
        start.push(0);
        for i in 0..self.n_items {
            votes.extend(self.votes_of(i).iter().filter(|v| !drop(i, v)).copied());
            start.push(votes.len());
        }
        Prepared {
            n_items: self.n_items,
            n_workers: self.n_workers,
            n_classes: self.n_classes,
            start,
            votes,
            gold,
            duplicates: 0,
        }
    }

    /// Item `i`'s votes.
    pub(super) fn votes_of(&self, i: usize) -> &[Vote] {
        &self.votes[self.start[i]..self.start[i + 1]]
    }
}

/// Keeps only the last answer of each worker on each item (in push order), compacting the CSR
/// arrays in place; returns how many answers were dropped.
///
/// Why last-one-wins rather than counting repeats: every model here assumes a rater's answers
/// are independent given the truth, and two answers of one rater to one item are not; counting
/// both would double that rater's weight on that item. On the platform a rater has one label per
/// item anyway (and a changed answer replaces the old one); files such as public crowd data sets
/// can repeat rows, and the later row is taken as the rater's final word.
fn keep_last_answer(start: &mut [usize], votes: &mut Vec<Vote>, n_workers: usize) -> usize {
    let mut seen = vec![usize::MAX; n_workers];
    let mut write = 0;
    let mut group = Vec::new();
    for i in 0..start.len().saturating_sub(1) {
        let (from, to) = (start[i], start[i + 1]);
        start[i] = write;
        group.clear();
        // Newest first, so the first vote met of each worker is their last.
        for j in (from..to).rev() {
            let v = votes[j];
            if let Some(s) = seen.get_mut(v.worker as usize) {
                if *s == i {
                    continue;
                }
                *s = i;
            }
            group.push(v);
        }
        for v in group.iter().rev() {
            votes[write] = *v;
            write += 1;
        }
    }
    if let Some(last) = start.last_mut() {
        *last = write;
    }
    let dropped = votes.len() - write;
    votes.truncate(write);
    dropped
}

/// How a fitted method says a rater answers, for the held-out likelihood of `select`.
pub(super) enum RaterModel {
    /// Majority vote and Wawa have none of their own (`select` derives one from agreement).
    None,
    /// `P(observed | true)` per worker, `[worker][observed][true]`.
    Confusion(Vec<f64>),
    /// GLAD's abilities and log inverse difficulties.
    Glad { alpha: Vec<f64>, b: Vec<f64> },
}

/// What each method hands back to [`finish`].
pub(super) struct Fit {
    /// Row-major `n_items × n_classes`; rows sum to 1.
    pub(super) posterior: Vec<f64>,
    pub(super) worker_accuracy: Vec<f64>,
    /// Empty to let [`finish`] use the mean posterior.
    pub(super) class_prior: Vec<f64>,
    pub(super) iterations: usize,
    pub(super) converged: bool,
    pub(super) rater_model: RaterModel,
}

/// Overwrites gold items' rows with one-hot gold answers (used inside EM loops).
pub(super) fn clamp_gold(prep: &Prepared, posterior: &mut [f64]) {
    let k = prep.n_classes;
    for (i, g) in prep.gold.iter().enumerate() {
        if let Some(g) = *g {
            let row = &mut posterior[i * k..(i + 1) * k];
            row.fill(0.0);
            row[g as usize] = 1.0;
        }
    }
}
