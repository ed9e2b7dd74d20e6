//! The choice of [`Method`] and its tuning [`Options`].

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
    /// Bayesian Dawid-Skene: every rater's confusion matrix shrunk towards the pool's by a prior
    /// whose strength is fitted from the data (for pools where many raters give few labels).
    BayesianDawidSkene,
    /// One-coin Dawid-Skene: one accuracy per rater, shrunk towards the pool's (very sparse pools).
    OneCoin,
    /// Chooses among [`Method::CANDIDATES`] by evidence: cross-validated accuracy on gold when
    /// there is enough gold, otherwise the held-out likelihood of the raters' answers.
    Auto,
}

impl Method {
    /// What `Auto` chooses from, in the order ties between them are broken: the votes first (the
    /// simplest), then classic Dawid-Skene (the long-standing default), its Bayesian variant,
    /// one-coin (too coarse for class-specific confusion, so it must win outright), GLAD.
    pub const CANDIDATES: [Method; 6] = [
        Method::Majority,
        Method::Wawa,
        Method::DawidSkene,
        Method::BayesianDawidSkene,
        Method::OneCoin,
        Method::Glad,
    ];

    /// The name stored and shown (`resolutions.method`, the API, `quorum aggregate`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Majority => "majority",
            Method::Wawa => "wawa",
            Method::DawidSkene => "dawid_skene",
            Method::Glad => "glad",
            Method::BayesianDawidSkene => "bayesian_dawid_skene",
            Method::OneCoin => "one_coin",
            Method::Auto => "auto",
        }
    }
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
    /// Calibrate confidences on gold when there is enough of it (temperature scaling fitted on
    /// cross-validated gold posteriors; see `calibrate`). Resolved classes never change.
    pub calibrate: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options::DEFAULT
    }
}

impl Options {
    /// The defaults, as a constant (usable in `..Options::DEFAULT` of a `const`).
    pub const DEFAULT: Options = Options {
        max_iterations: 100,
        tolerance: 1e-7,
        smoothing: 0.01,
        m_step_iterations: 5,
        max_cells: 1 << 26,
        calibrate: true,
    };

    /// Replaces nonsensical values (NaN, negative) by the defaults and caps iteration counts,
    /// rather than failing or looping for ever.
    pub(super) fn sanitized(&self) -> Options {
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
            calibrate: self.calibrate,
        }
    }
}
