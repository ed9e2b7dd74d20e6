//! Label aggregation: turns several raters' answers for the same items into one resolved label per
//! item, a posterior over the classes, a confidence, and an accuracy estimate for every rater.
//!
//! This module owns the pure, I/O-free aggregation engine. The server uses it to resolve items and
//! to estimate rater reliability; `quorum aggregate answers.csv` runs the very same code offline.
//! It knows nothing about tasks, the database or HTTP: it sees only `(item, worker, label)`
//! triples.
//!
//! Methods (see [`Method`]): majority vote, Wawa (agreement-weighted vote), Dawid-Skene (EM over
//! full per-worker confusion matrices), its Bayesian and one-coin variants (priors fitted from the
//! data, for sparse rater pools), GLAD (item difficulty × worker ability), and `Auto`, which picks
//! one of them by evidence and says why ([`Choice`]). All of them work on dense `u32` indices and
//! flat arrays so that millions of labels aggregate in seconds.
//!
//! Shared rules, identical for every method:
//! - **Ties are never broken by chance.** When two or more classes share the highest posterior
//!   (within [`TIE_EPSILON`]) the item's `class` is `None` and it belongs in the adjudication
//!   queue; its posterior and confidence are still reported. [`Outcome::labels_for_scoring`] breaks
//!   such ties by the smallest label string, which is what published accuracy figures do.
//! - **Gold items** always resolve to their gold answer with confidence 1 and a one-hot posterior.
//!   For Dawid-Skene and GLAD they are also clamped during EM, so they anchor the rater estimates;
//!   for Wawa and majority vote they replace the consensus when rater agreement is measured.
//! - **Confidence is calibrated on gold** when the task has enough gold items (see `calibrate`):
//!   a posterior of 0.9 should be right nine times in ten, so `min_confidence` means what it says.
//! - **Duplicate `(item, worker)` answers: the last one wins.** A worker who answered the same
//!   item twice counts once, with their later answer ([`Outcome::duplicates`] says how many were
//!   dropped). Counting both would double one rater's weight on that item.

mod answers;
mod calibrate;
mod csv_input;
mod dawid_skene;
mod engine;
mod glad;
mod interner;
mod majority;
mod options;
mod outcome;
mod parallel;
mod priors;
mod select;
mod wawa;

#[cfg(test)]
mod tests;

pub use answers::{Answers, CapacityError, Label};
pub use calibrate::{Calibration, expected_calibration_error};
pub use csv_input::ParseError;
pub use engine::{AggregateError, aggregate};
pub use options::{Method, Options};
pub use outcome::{Outcome, Resolved, accuracy};
pub use select::{Choice, Criterion};

// What the method modules (`majority`, `wawa`, `dawid_skene`, `glad`) share.
use engine::{Fit, Prepared, RaterModel, clamp_gold};
use outcome::row_max;

/// Two posteriors closer than this are treated as equal when choosing the top class.
///
/// Exact float equality would let rounding noise (1 ulp from a different summation order) pick a
/// winner in a genuinely symmetric case, which is the "by chance" resolution we refuse to do. Vote
/// shares differ by at least `1/n`, so this never merges two distinct majority-vote counts.
pub const TIE_EPSILON: f64 = 1e-9;
