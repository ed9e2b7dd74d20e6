//! Unit tests of the aggregation engine, by topic, and the helpers they share: the crowd data
//! sets in `tests/data/crowd`, tiny hand-made answer sets, the invariants every outcome keeps, and a
//! deterministic random generator.

mod auto;
mod crowd_data;
mod csv_input;
mod estimators;
mod methods;
mod sparse;

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use super::{Answers, Method, Options, Outcome, accuracy, aggregate};

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
    let mut answers = Answers::from_csv_reader(open("answers.csv")).expect("answers.csv parses");
    let truth = answers
        .read_gold_csv(open("truth.csv"))
        .expect("truth.csv parses");
    (answers, truth)
}

fn score(answers: &Answers, truth: &HashMap<u32, u32>, method: Method) -> (f64, Outcome) {
    let out = aggregate(answers, method, &HashMap::new(), &Options::default()).expect("aggregates");
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

fn answers(rows: &[(&str, &str, &str)]) -> Answers {
    let mut a = Answers::new();
    for (i, w, l) in rows {
        a.push(i, w, l).unwrap();
    }
    a
}

const ALL: [Method; 7] = [
    Method::Majority,
    Method::Wawa,
    Method::DawidSkene,
    Method::Glad,
    Method::BayesianDawidSkene,
    Method::OneCoin,
    Method::Auto,
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

/// A sparse rater pool built from a shared set: each answer is kept with probability `keep`, and
/// each rater's kept answers are dealt out to fresh pseudo-raters of 1 to `max_size` answers
/// each (fixed seed). Returns the new answers and the truth re-indexed for them.
fn sparse_pool(
    a: &Answers,
    truth: &HashMap<u32, u32>,
    seed: u64,
    max_size: u64,
    keep: f64,
) -> (Answers, HashMap<u32, u32>) {
    let mut rng = Rng(seed);
    let mut out = Answers::new();
    for c in a.class_names() {
        out.add_class(c).unwrap();
    }
    // rater -> (current pseudo-rater id, answers left for it)
    let mut current: HashMap<u32, (u64, u64)> = HashMap::new();
    let mut pseudo = 0u64;
    for l in a.labels() {
        if rng.unit() >= keep {
            continue;
        }
        let e = current.entry(l.worker).or_insert((0, 0));
        if e.1 == 0 {
            pseudo += 1;
            *e = (pseudo, 1 + rng.next() % max_size);
        }
        e.1 -= 1;
        out.push(
            a.item_name(l.item).unwrap(),
            &format!("p{}", e.0),
            a.class_name(l.class).unwrap(),
        )
        .unwrap();
    }
    let truth = truth
        .iter()
        .filter_map(|(&i, &c)| {
            let item = out.item_index(a.item_name(i)?)?;
            Some((item, out.class_index(a.class_name(c)?)?))
        })
        .collect();
    (out, truth)
}
