//! `Auto`: choosing the aggregation method by evidence, and the cross-validation that calibration
//! shares.
//!
//! No method wins everywhere (agreement-weighted voting beats Dawid-Skene on some crowds, the
//! Bayesian variants win on sparse pools), so `Auto` measures, on the data at hand:
//! - **with enough gold** (at least `MIN_GOLD` gold items that have answers): k-fold
//!   cross-validated accuracy on gold. Each fold's gold items are hidden (not clamped) while every
//!   candidate is fitted with the rest of the gold clamped, then scored on the hidden ones; ties in
//!   accuracy go to the candidate listed first in [`Method::CANDIDATES`] (a few hundred gold items
//!   cannot tell apart what they score alike). The out-of-fold posteriors of the winner then
//!   calibrate its confidences.
//! - **otherwise**: the held-out likelihood of the raters' own answers. The answers are split into
//!   k folds by a hash of (item, rater); each candidate is fitted without one fold and predicts
//!   every held-out answer as `Σ_c P(true = c | the item's other answers) · P(rater answers l |
//!   c)`. The method whose model best predicts answers it has not seen explains the crowd best.
//!   Majority vote and Wawa have no rater model of their own; they are scored as the one-coin model
//!   they imply (one shared accuracy for majority vote, each rater's smoothed agreement for Wawa).
//!
//! Large inputs are selected on a deterministic sample of items (all gold items kept) of about
//! `SAMPLE_LABELS` answers; the chosen method is then fitted on everything.

use super::calibrate::{Calibration, MIN_GOLD, top_and_credit};
use super::engine::{Prepared, Vote, finish, fit_method};
use super::{Fit, Method, Options, Outcome, RaterModel, parallel};

/// Folds of the cross-validation (fewer when there are fewer gold items).
const FOLDS: usize = 5;
/// Folds of the held-out answers (each fold refits every candidate once).
const LIKELIHOOD_FOLDS: usize = 3;
/// Above this many answers, methods are compared on a sample of items of about this size.
const SAMPLE_LABELS: usize = 150_000;
/// A held-out answer's predicted probability is floored here (a single confidently wrong
/// prediction must not outweigh thousands of good ones).
const FLOOR: f64 = 1e-6;

/// What `Auto` measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Criterion {
    /// Cross-validated accuracy on gold items.
    GoldAccuracy,
    /// Mean log-likelihood of held-out answers.
    HeldOutLikelihood,
}

/// Which method `Auto` chose, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// The chosen method.
    pub method: Method,
    /// What was measured.
    pub criterion: Criterion,
    /// Every candidate's score, in [`Method::CANDIDATES`] order (higher is better): accuracy, or
    /// mean log-likelihood per held-out answer.
    pub scores: Vec<(Method, f64)>,
    /// Cross-validation folds.
    pub folds: usize,
    /// Gold items scored, or answers held out.
    pub evidence: usize,
    /// Answers the comparison ran on (fewer than the input when it was sampled).
    pub sampled_answers: usize,
}

impl Choice {
    /// One sentence for people: what won, by what evidence, against what.
    pub fn reason(&self) -> String {
        let what = match self.criterion {
            Criterion::GoldAccuracy => format!(
                "best cross-validated accuracy on {} gold items ({} folds)",
                self.evidence, self.folds
            ),
            Criterion::HeldOutLikelihood => format!(
                "best log-likelihood of {} held-out raters' answers ({} folds; not enough gold \
                 to score accuracy)",
                self.evidence, self.folds
            ),
        };
        let scores: Vec<String> = self
            .scores
            .iter()
            .map(|(m, s)| match self.criterion {
                Criterion::GoldAccuracy => format!("{} {s:.4}", m.as_str()),
                Criterion::HeldOutLikelihood => format!("{} {s:.4}", m.as_str()),
            })
            .collect();
        let sample = if self.sampled_answers > 0 {
            format!(" on a sample of {} answers", self.sampled_answers)
        } else {
            String::new()
        };
        format!(
            "{}: {what}{sample}; {}",
            self.method.as_str(),
            scores.join(", ")
        )
    }
}

/// Runs `Auto`: compares the candidates, fits the winner on everything, calibrates it on gold.
pub(super) fn auto(prep: &Prepared, opts: &Options) -> Outcome {
    let (sample, sampled) = sample(prep);
    let base = sample.as_ref().unwrap_or(prep);
    let sampled_answers = if sampled { base.votes.len() } else { 0 };
    let gold_voted = gold_with_votes(base);
    let (choice, oof) = if gold_voted.len() >= MIN_GOLD {
        let cv = cross_validate(base, &Method::CANDIDATES, &gold_voted, opts);
        let best = (0..cv.len())
            .max_by(|&a, &b| {
                // Earlier candidates win exact ties: max_by keeps the last maximum.
                cv[a].accuracy.total_cmp(&cv[b].accuracy).then(b.cmp(&a))
            })
            .unwrap_or(0);
        let choice = Choice {
            method: Method::CANDIDATES[best],
            criterion: Criterion::GoldAccuracy,
            scores: Method::CANDIDATES
                .iter()
                .zip(&cv)
                .map(|(m, r)| (*m, r.accuracy))
                .collect(),
            folds: FOLDS.min(gold_voted.len()),
            evidence: gold_voted.len(),
            sampled_answers,
        };
        let rows = cv.into_iter().nth(best).map(|r| r.rows).unwrap_or_default();
        (choice, rows)
    } else {
        let scores = held_out_likelihood(base, opts);
        let best = (0..scores.len())
            .max_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(b.cmp(&a)))
            .unwrap_or(0);
        let choice = Choice {
            method: Method::CANDIDATES[best],
            criterion: Criterion::HeldOutLikelihood,
            scores: Method::CANDIDATES.iter().copied().zip(scores).collect(),
            folds: LIKELIHOOD_FOLDS,
            evidence: base.votes.len(),
            sampled_answers,
        };
        (choice, Vec::new())
    };
    let method = choice.method;
    let calibration = if !opts.calibrate {
        None
    } else if sampled || oof.is_empty() {
        // The comparison ran on a sample (or without gold): calibrate on all the gold, if any.
        calibration_for(prep, method, opts)
    } else {
        Calibration::fit(&oof)
    };
    let fit = fit_method(prep, method, opts);
    finish(prep, method, fit, calibration, Some(choice))
}

/// Calibration of one explicitly chosen method: its out-of-fold gold posteriors, when there is
/// enough gold.
pub(super) fn calibration_for(
    prep: &Prepared,
    method: Method,
    opts: &Options,
) -> Option<Calibration> {
    // The sample keeps every gold item: without enough gold, skip building it.
    if gold_with_votes(prep).len() < MIN_GOLD {
        return None;
    }
    let (sample, _) = sample(prep);
    let base = sample.as_ref().unwrap_or(prep);
    let gold_voted = gold_with_votes(base);
    if gold_voted.len() < MIN_GOLD {
        return None;
    }
    let cv = cross_validate(base, &[method], &gold_voted, opts);
    cv.into_iter()
        .next()
        .and_then(|r| Calibration::fit(&r.rows))
}

/// Gold items that have at least one answer (the others predict nothing), in item order.
fn gold_with_votes(prep: &Prepared) -> Vec<(usize, u32)> {
    (0..prep.n_items)
        .filter_map(|i| prep.gold[i].map(|g| (i, g)))
        .filter(|&(i, _)| !prep.votes_of(i).is_empty())
        .collect()
}

/// A 64-bit mix (SplitMix64's finaliser): deterministic fold and sample assignment.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The input restricted to a deterministic sample of items (gold items always kept) when it has
/// more than `SAMPLE_LABELS` answers; `(None, false)` when it is small enough as it is.
fn sample(prep: &Prepared) -> (Option<Prepared>, bool) {
    if prep.votes.len() <= SAMPLE_LABELS {
        return (None, false);
    }
    let keep_one_in = prep.votes.len().div_ceil(SAMPLE_LABELS) as u64;
    let sampled = prep.without(prep.gold.clone(), |i, _| {
        prep.gold[i].is_none() && !mix(i as u64).is_multiple_of(keep_one_in)
    });
    // Only the sampled items take part: renumbered, so every comparison fit walks the sample's
    // items and not all of the input's (the choice, not the item ids, is what comes out).
    (Some(compact(&sampled)), true)
}

/// The input without its items that have no answer, items renumbered in order.
fn compact(prep: &Prepared) -> Prepared {
    let mut start = Vec::with_capacity(prep.n_items + 1);
    let mut votes = Vec::with_capacity(prep.votes.len());
    let mut gold = Vec::new();
    start.push(0);
    for i in 0..prep.n_items {
        let v = prep.votes_of(i);
        if v.is_empty() {
            continue;
        }
        votes.extend_from_slice(v);
        start.push(votes.len());
        gold.push(prep.gold[i]);
    }
    Prepared {
        n_items: gold.len(),
        n_workers: prep.n_workers,
        n_classes: prep.n_classes,
        start,
        votes,
        gold,
        duplicates: 0,
    }
}

/// One candidate's cross-validated result on gold.
struct CvResult {
    accuracy: f64,
    /// Out-of-fold posterior row and gold class of every gold item scored.
    rows: Vec<(Vec<f64>, u32)>,
}

/// k-fold cross-validation over the gold items: for each fold, its gold is hidden and every
/// method fitted with the rest of the gold clamped, then scored on the hidden items.
fn cross_validate(
    prep: &Prepared,
    methods: &[Method],
    gold_voted: &[(usize, u32)],
    opts: &Options,
) -> Vec<CvResult> {
    let k = prep.n_classes;
    let folds = FOLDS.min(gold_voted.len()).max(1);
    // Balanced folds in a hashed order, so a fold is not "the first fifth of the items".
    let mut order: Vec<(u64, usize, u32)> = gold_voted
        .iter()
        .map(|&(i, g)| (mix(i as u64 ^ 0x5EED), i, g))
        .collect();
    order.sort_unstable();
    let mut results: Vec<CvResult> = methods
        .iter()
        .map(|_| CvResult {
            accuracy: 0.0,
            rows: Vec::with_capacity(gold_voted.len()),
        })
        .collect();
    let trains: Vec<(Vec<(usize, u32)>, Prepared)> = (0..folds)
        .map(|f| {
            let held: Vec<(usize, u32)> = order
                .iter()
                .enumerate()
                .filter(|(n, _)| n % folds == f)
                .map(|(_, &(_, i, g))| (i, g))
                .collect();
            let mut gold = prep.gold.clone();
            for &(i, _) in &held {
                gold[i] = None;
            }
            let train = prep.without(gold, |_, _| false);
            (held, train)
        })
        .collect();
    // Every (fold, method) fit is independent: in parallel, merged below in the serial order.
    let rows = parallel::map(folds * methods.len(), |j| {
        let (f, m) = (j / methods.len(), j % methods.len());
        let (held, train) = &trains[f];
        let fit = fit_method(train, methods[m], opts);
        held.iter()
            .map(|&(i, g)| (fit.posterior[i * k..(i + 1) * k].to_vec(), g))
            .collect::<Vec<_>>()
    });
    for (j, job_rows) in rows.into_iter().enumerate() {
        let result = &mut results[j % methods.len()];
        for (row, g) in job_rows {
            let (_, credit) = top_and_credit(&row, g);
            result.accuracy += credit;
            result.rows.push((row, g));
        }
    }
    let n = gold_voted.len().max(1) as f64;
    for r in &mut results {
        r.accuracy /= n;
    }
    results
}

/// Mean log-likelihood per held-out answer of every candidate, in [`Method::CANDIDATES`] order.
///
/// The folds × candidates fits are independent: they run in parallel ([`parallel::map`]), and
/// each returns its held-out terms, added up afterwards in the serial order (fold by fold, answer
/// by answer), so the scores are bit-identical on any number of cores.
fn held_out_likelihood(prep: &Prepared, opts: &Options) -> Vec<f64> {
    let fold_of = |i: usize, v: &Vote| {
        (mix(((i as u64) << 32) ^ u64::from(v.worker)) % LIKELIHOOD_FOLDS as u64) as usize
    };
    let trains: Vec<Prepared> = (0..LIKELIHOOD_FOLDS)
        .map(|f| prep.without(prep.gold.clone(), |i, v| fold_of(i, v) == f))
        .collect();
    let methods = Method::CANDIDATES.len();
    // Slowest candidates first (GLAD, then the Dawid-Skene variants) so no thread is left with a
    // long fit at the end.
    let jobs: Vec<(usize, usize)> = (0..methods)
        .rev()
        .flat_map(|m| (0..LIKELIHOOD_FOLDS).map(move |f| (f, m)))
        .collect();
    let terms = parallel::map(jobs.len(), |j| {
        let (f, m) = jobs[j];
        let (train, method) = (&trains[f], Method::CANDIDATES[m]);
        let fit = fit_method(train, method, opts);
        let model = Predictor::new(train, method, &fit);
        let mut terms = Vec::new();
        for i in 0..prep.n_items {
            for v in prep.votes_of(i) {
                if fold_of(i, v) == f {
                    terms.push(model.probability(&fit, i, v).max(FLOOR).ln());
                }
            }
        }
        terms
    });
    let mut total = vec![0.0; methods];
    for f in 0..LIKELIHOOD_FOLDS {
        for (m, sum) in total.iter_mut().enumerate() {
            let j = (methods - 1 - m) * LIKELIHOOD_FOLDS + f;
            for t in &terms[j] {
                *sum += t;
            }
        }
    }
    let n = prep.votes.len().max(1) as f64;
    total.iter().map(|t| t / n).collect()
}

/// How a fitted candidate predicts a held-out answer.
struct Predictor {
    k: usize,
    /// One-coin accuracy per worker, for majority vote (all equal) and Wawa.
    accuracy: Vec<f64>,
}

impl Predictor {
    fn new(train: &Prepared, method: Method, fit: &Fit) -> Predictor {
        let k = train.n_classes;
        let accuracy = match (&fit.rater_model, method) {
            (RaterModel::None, Method::Majority | Method::Wawa) => {
                // Soft agreement of each worker's training answers with the consensus.
                let mut agree = vec![0.0; train.n_workers];
                let mut count = vec![0.0; train.n_workers];
                for i in 0..train.n_items {
                    let row = &fit.posterior[i * k..(i + 1) * k];
                    for v in train.votes_of(i) {
                        agree[v.worker as usize] += row[v.class as usize];
                        count[v.worker as usize] += 1.0;
                    }
                }
                if method == Method::Majority {
                    let a = (agree.iter().sum::<f64>() + 1.0) / (count.iter().sum::<f64>() + 2.0);
                    vec![a; train.n_workers]
                } else {
                    agree
                        .iter()
                        .zip(&count)
                        .map(|(a, n)| (a + 1.0) / (n + 2.0))
                        .collect()
                }
            }
            _ => Vec::new(),
        };
        Predictor { k, accuracy }
    }

    /// `P(answer = v.class | the fit)` for a vote on item `i`.
    fn probability(&self, fit: &Fit, i: usize, v: &Vote) -> f64 {
        let k = self.k;
        let row = &fit.posterior[i * k..(i + 1) * k];
        let (w, l) = (v.worker as usize, v.class as usize);
        let others = (k.max(2) - 1) as f64;
        match &fit.rater_model {
            RaterModel::Confusion(pi) => {
                let base = (w * k + l) * k;
                row.iter()
                    .zip(&pi[base..base + k])
                    .map(|(p, q)| p * q)
                    .sum()
            }
            RaterModel::Glad { alpha, b } => {
                let x = alpha[w] * b[i].exp();
                let right = if x >= 0.0 {
                    1.0 / (1.0 + (-x).exp())
                } else {
                    x.exp() / (1.0 + x.exp())
                };
                row[l] * right + (1.0 - row[l]) * (1.0 - right) / others
            }
            RaterModel::None => {
                let a = self.accuracy.get(w).copied().unwrap_or(0.5);
                row[l] * a + (1.0 - row[l]) * (1.0 - a) / others
            }
        }
    }
}
