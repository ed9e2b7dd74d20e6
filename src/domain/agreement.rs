//! Inter-rater agreement for categorical labels: Cohen's kappa (two raters, and averaged over all
//! rater pairs of a task), Fleiss' kappa and Krippendorff's alpha (nominal).
//!
//! This module owns the chance-corrected agreement figures on the quality page and in the dataset
//! card. It is pure and I/O-free.
//!
//! **Input.** Ratings are `(item, rater, class)` triples of arbitrary `u32` ids — for example
//! `Answers::triples()` from the aggregation engine. Ids need not be dense; classes are remapped
//! internally, so a huge id costs nothing. Missing data is simply an absent triple. If a rater
//! rated the same item more than once, only their **first** triple (in input order) counts:
//! agreement is between raters, and a rater agreeing with themselves would inflate it.
//!
//! **Undefined values.** Every coefficient is a ratio whose denominator vanishes when there is no
//! variation to correct for (e.g. every rating is the same class) or no pairable data at all; then
//! the functions return `None` rather than a made-up 0 or 1.

use std::collections::HashMap;

/// One rating: `(item, rater, class)`.
pub type Rating = (u32, u32, u32);

/// Denominators below this count as zero ("no expected disagreement": the coefficient is
/// undefined).
const EPS: f64 = 1e-12;

/// Sorts by `(item, rater)`, keeps each rater's first rating of an item, and remaps classes to
/// `0..k`. Returns the ratings and `k`.
fn normalise<I: IntoIterator<Item = Rating>>(ratings: I) -> (Vec<Rating>, usize) {
    let mut v: Vec<Rating> = ratings.into_iter().collect();
    // Stable sort: among equal (item, rater) keys the input order survives, so dedup keeps the
    // first.
    v.sort_by_key(|&(item, rater, _)| (item, rater));
    v.dedup_by_key(|&mut (item, rater, _)| (item, rater));
    let mut classes: Vec<u32> = v.iter().map(|r| r.2).collect();
    classes.sort_unstable();
    classes.dedup();
    for r in &mut v {
        // Present by construction; the fallback only keeps this panic-free.
        r.2 = classes.binary_search(&r.2).unwrap_or(0) as u32;
    }
    (v, classes.len())
}

/// Per-item class counts (`n_ij`) from normalised ratings, one `k`-wide row per item.
fn count_rows(v: &[Rating], k: usize) -> Vec<Vec<u64>> {
    v.chunk_by(|a, b| a.0 == b.0)
        .map(|item| {
            let mut row = vec![0u64; k];
            for r in item {
                row[r.2 as usize] += 1;
            }
            row
        })
        .collect()
}

/// Cohen's kappa for two raters from their paired answers `(class by A, class by B)`, one pair per
/// item both rated.
///
/// `κ = (p_o − p_e) / (1 − p_e)` with `p_o` the observed agreement and `p_e = Σ_c p_A(c) p_B(c)`
/// from each rater's own marginals (Cohen 1960). `None` for no pairs or when `p_e = 1` (both raters
/// always gave the same single class).
pub fn cohen_kappa<I: IntoIterator<Item = (u32, u32)>>(pairs: I) -> Option<f64> {
    let mut cells: HashMap<(u32, u32), u64> = HashMap::new();
    for p in pairs {
        *cells.entry(p).or_insert(0) += 1;
    }
    let cells: Vec<(u32, u32, u64)> = cells.into_iter().map(|((a, b), n)| (a, b, n)).collect();
    kappa_from_cells(&cells)
}

/// Kappa from a sparse contingency table `(class A, class B, count)`.
fn kappa_from_cells(cells: &[(u32, u32, u64)]) -> Option<f64> {
    let n: u64 = cells.iter().map(|c| c.2).sum();
    if n == 0 {
        return None;
    }
    let mut row: HashMap<u32, u64> = HashMap::new();
    let mut col: HashMap<u32, u64> = HashMap::new();
    let mut agree = 0u64;
    for &(a, b, c) in cells {
        *row.entry(a).or_insert(0) += c;
        *col.entry(b).or_insert(0) += c;
        if a == b {
            agree += c;
        }
    }
    let n = n as f64;
    let po = agree as f64 / n;
    let pe: f64 = row
        .iter()
        .map(|(class, &r)| r as f64 * col.get(class).copied().unwrap_or(0) as f64)
        .sum::<f64>()
        / (n * n);
    if 1.0 - pe < EPS {
        return None;
    }
    Some((po - pe) / (1.0 - pe))
}

/// Cohen's kappa averaged over every pair of raters of a task.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairwiseKappa {
    /// Unweighted mean over pairs (Light's kappa). `None` when no pair qualifies.
    pub mean: Option<f64>,
    /// Mean weighted by the number of items each pair shares: with sparse crowd overlap a pair that
    /// shares 2 items should not count as much as one sharing 500.
    pub weighted_mean: Option<f64>,
    /// Pairs that contributed (shared at least `min_shared` items and had a defined kappa).
    pub pairs: usize,
    /// Pairs that shared enough items but whose kappa is undefined (no variation), left out.
    pub undefined_pairs: usize,
}

/// Cohen's kappa for every pair of raters that rated at least `min_shared` (≥ 1) common items, then
/// averaged. Cost grows with `Σ_items raters²`, fine for overlaps of a few to a few dozen raters.
pub fn pairwise_cohen_kappa<I: IntoIterator<Item = Rating>>(
    ratings: I,
    min_shared: usize,
) -> PairwiseKappa {
    let (v, _) = normalise(ratings);
    // (rater a, rater b, class a, class b) → count, with a < b. Bounded by both the number of
    // co-ratings and pairs × k², unlike a per-pair dense k × k table.
    let mut cells: HashMap<(u32, u32, u32, u32), u64> = HashMap::new();
    for item in v.chunk_by(|a, b| a.0 == b.0) {
        // Sorted by rater within the item, so x < y gives a canonical a < b orientation.
        for (x, rx) in item.iter().enumerate() {
            for ry in &item[x + 1..] {
                *cells.entry((rx.1, ry.1, rx.2, ry.2)).or_insert(0) += 1;
            }
        }
    }
    let mut cells: Vec<((u32, u32, u32, u32), u64)> = cells.into_iter().collect();
    cells.sort_unstable_by_key(|c| c.0);
    let (mut sum, mut wsum, mut weight, mut pairs, mut undefined) = (0.0, 0.0, 0.0, 0usize, 0usize);
    let mut table = Vec::new();
    for pair in cells.chunk_by(|x, y| (x.0.0, x.0.1) == (y.0.0, y.0.1)) {
        table.clear();
        table.extend(pair.iter().map(|&((_, _, ca, cb), n)| (ca, cb, n)));
        let shared: u64 = table.iter().map(|c| c.2).sum();
        if shared < min_shared.max(1) as u64 {
            continue;
        }
        match kappa_from_cells(&table) {
            Some(k) => {
                sum += k;
                wsum += k * shared as f64;
                weight += shared as f64;
                pairs += 1;
            }
            None => undefined += 1,
        }
    }
    PairwiseKappa {
        mean: (pairs > 0).then(|| sum / pairs as f64),
        weighted_mean: (weight > 0.0).then(|| wsum / weight),
        pairs,
        undefined_pairs: undefined,
    }
}

/// Fleiss' kappa from `(item, rater, class)` ratings.
///
/// Fleiss (1971) assumes the same number of raters `n` per item. This uses the standard
/// generalisation to unequal counts, which reduces to Fleiss exactly when every item has the same
/// count: item agreement `P_i = Σ_j n_ij (n_ij − 1) / (n_i (n_i − 1))` averaged over items, chance
/// agreement `P_e = Σ_j p_j²` with `p_j` the share of all ratings in class `j`. Items with fewer
/// than two ratings carry no agreement information and are skipped.
pub fn fleiss_kappa<I: IntoIterator<Item = Rating>>(ratings: I) -> Option<f64> {
    let (v, k) = normalise(ratings);
    fleiss_kappa_from_counts(&count_rows(&v, k))
}

/// Fleiss' kappa from the classic table: one row per item, `counts[i][j]` = raters who put item `i`
/// in class `j`. Rows may differ in length (missing columns are 0) and in total (see
/// [`fleiss_kappa`]).
pub fn fleiss_kappa_from_counts(counts: &[Vec<u64>]) -> Option<f64> {
    let k = counts.iter().map(Vec::len).max().unwrap_or(0);
    let mut class_total = vec![0.0f64; k];
    let (mut agreement, mut items, mut ratings) = (0.0f64, 0usize, 0.0f64);
    for row in counts {
        let n: f64 = row.iter().map(|&c| c as f64).sum();
        if n < 2.0 {
            continue;
        }
        let pairs_agreeing: f64 = row.iter().map(|&c| c as f64 * (c as f64 - 1.0)).sum();
        agreement += pairs_agreeing / (n * (n - 1.0));
        items += 1;
        ratings += n;
        for (t, &c) in class_total.iter_mut().zip(row) {
            *t += c as f64;
        }
    }
    if items == 0 {
        return None;
    }
    let p_bar = agreement / items as f64;
    let p_e: f64 = class_total.iter().map(|&t| (t / ratings).powi(2)).sum();
    if 1.0 - p_e < EPS {
        return None;
    }
    Some((p_bar - p_e) / (1.0 - p_e))
}

/// Krippendorff's alpha for nominal data from `(item, rater, class)` ratings; missing ratings
/// allowed.
///
/// `α = 1 − D_o / D_e` computed from the coincidence matrix (Krippendorff 2011, "Computing
/// Krippendorff's Alpha-Reliability"): only items with at least two ratings are pairable, each
/// contributing its `m_u (m_u − 1)` ordered pairs with weight `1 / (m_u − 1)`.
pub fn krippendorff_alpha_nominal<I: IntoIterator<Item = Rating>>(ratings: I) -> Option<f64> {
    let (v, k) = normalise(ratings);
    krippendorff_alpha_nominal_from_counts(&count_rows(&v, k))
}

/// Krippendorff's alpha (nominal) from a values-by-units table: `counts[u][c]` = how many raters
/// gave unit `u` the value `c`. Rows may differ in length and total.
pub fn krippendorff_alpha_nominal_from_counts(counts: &[Vec<u64>]) -> Option<f64> {
    let k = counts.iter().map(Vec::len).max().unwrap_or(0);
    let mut n_c = vec![0.0f64; k];
    // Σ_{c≠k} o_ck, accumulated per unit as (m_u² − Σ_c m_uc²) / (m_u − 1).
    let mut observed_disagreement = 0.0f64;
    for row in counts {
        let m: f64 = row.iter().map(|&c| c as f64).sum();
        if m < 2.0 {
            continue;
        }
        let same: f64 = row.iter().map(|&c| (c as f64).powi(2)).sum();
        observed_disagreement += (m * m - same) / (m - 1.0);
        for (t, &c) in n_c.iter_mut().zip(row) {
            *t += c as f64;
        }
    }
    let n: f64 = n_c.iter().sum();
    // Σ_{c≠k} n_c n_k = n² − Σ_c n_c²: zero when a single value was ever used.
    let expected_disagreement = n * n - n_c.iter().map(|x| x * x).sum::<f64>();
    if n < 2.0 || expected_disagreement < EPS {
        return None;
    }
    Some(1.0 - (n - 1.0) * observed_disagreement / expected_disagreement)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, want: f64, tol: f64) {
        let a = a.expect("defined");
        assert!((a - want).abs() < tol, "{a} vs {want}");
    }

    /// Wikipedia "Cohen's kappa", worked example: 50 proposals, A and B both yes 20, A yes/B no 5,
    /// A no/B yes 10, both no 15 → p_o = 0.7, p_e = 0.5, κ = 0.4. Plus the page's two examples of
    /// equal agreement but different marginals (κ = 0.1304 and 0.2593).
    #[test]
    fn cohen_wikipedia() {
        let table = |yy: usize, yn: usize, ny: usize, nn: usize| {
            let mut v = Vec::new();
            v.extend(std::iter::repeat_n((1, 1), yy));
            v.extend(std::iter::repeat_n((1, 0), yn));
            v.extend(std::iter::repeat_n((0, 1), ny));
            v.extend(std::iter::repeat_n((0, 0), nn));
            v
        };
        close(cohen_kappa(table(20, 5, 10, 15)), 0.4, 1e-12);
        close(cohen_kappa(table(45, 15, 25, 15)), 0.1304, 1e-4);
        close(cohen_kappa(table(25, 35, 5, 35)), 0.2593, 1e-4);
        assert_eq!(cohen_kappa(Vec::new()), None);
        assert_eq!(cohen_kappa(vec![(3, 3), (3, 3)]), None); // no variation: undefined
        close(cohen_kappa(vec![(0, 0), (1, 1)]), 1.0, 1e-12);
    }

    #[test]
    fn pairwise_cohen() {
        // The Wikipedia table as triples for raters 7 and 9 (ids need not be dense).
        let mut r = Vec::new();
        let rows = [(20, 1, 1), (5, 1, 0), (10, 0, 1), (15, 0, 0)];
        let mut item = 100;
        for (count, a, b) in rows {
            for _ in 0..count {
                r.push((item, 9, b + 40));
                r.push((item, 7, a + 40));
                item += 1;
            }
        }
        let p = pairwise_cohen_kappa(r.clone(), 1);
        close(p.mean, 0.4, 1e-12);
        close(p.weighted_mean, 0.4, 1e-12);
        assert_eq!((p.pairs, p.undefined_pairs), (1, 0));
        // A third rater identical to rater 7 on the first 10 items: pairs (7,3) κ=1 over 10
        // items...
        for i in 100..110 {
            r.push((i, 3, 41));
        }
        let p = pairwise_cohen_kappa(r.clone(), 1);
        // (3,7): all yes-yes → undefined; (3,9): rater 3 constant, rater 9 constant on those items
        // → undefined too. Only (7,9) counts.
        assert_eq!((p.pairs, p.undefined_pairs), (1, 2));
        assert_eq!(pairwise_cohen_kappa(r, 1000).pairs, 0);
        assert_eq!(pairwise_cohen_kappa(Vec::new(), 1).mean, None);
        // Duplicate ratings by one rater: only the first counts.
        let d = vec![(1, 1, 0), (1, 2, 0), (1, 1, 1), (2, 1, 1), (2, 2, 1)];
        close(pairwise_cohen_kappa(d, 1).mean, 1.0, 1e-12);
    }

    /// Wikipedia "Fleiss' kappa" worked example (10 subjects, 14 raters, 5 categories): κ = 0.210.
    const FLEISS: [[u64; 5]; 10] = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ];

    #[test]
    fn fleiss_wikipedia() {
        let counts: Vec<Vec<u64>> = FLEISS.iter().map(|r| r.to_vec()).collect();
        let k = fleiss_kappa_from_counts(&counts).unwrap();
        assert!((k - 0.210).abs() < 0.0005, "{k}");
        // Same data as triples: raters 0..14 per item, classes as sparse ids.
        let mut triples = Vec::new();
        for (i, row) in FLEISS.iter().enumerate() {
            let mut rater = 0;
            for (c, &n) in row.iter().enumerate() {
                for _ in 0..n {
                    triples.push((i as u32, rater, 1000 * c as u32));
                    rater += 1;
                }
            }
        }
        close(fleiss_kappa(triples), k, 1e-12);
        assert_eq!(fleiss_kappa(Vec::new()), None);
        assert_eq!(fleiss_kappa(vec![(1, 1, 5), (1, 2, 5)]), None);
        assert_eq!(fleiss_kappa(vec![(1, 1, 5), (2, 2, 6)]), None); // no item with two ratings
        close(
            fleiss_kappa(vec![(1, 1, 5), (1, 2, 5), (2, 1, 6), (2, 2, 6)]),
            1.0,
            1e-12,
        );
    }

    /// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers,
    /// 12 units, values 1–5 with missing data. Nominal α = 0.743.
    #[test]
    fn krippendorff_2011() {
        let m: Option<u32> = None;
        let data: [[Option<u32>; 12]; 4] = [
            [
                Some(1),
                Some(2),
                Some(3),
                Some(3),
                Some(2),
                Some(1),
                Some(4),
                Some(1),
                Some(2),
                m,
                m,
                m,
            ],
            [
                Some(1),
                Some(2),
                Some(3),
                Some(3),
                Some(2),
                Some(2),
                Some(4),
                Some(1),
                Some(2),
                Some(5),
                m,
                Some(3),
            ],
            [
                m,
                Some(3),
                Some(3),
                Some(3),
                Some(2),
                Some(3),
                Some(4),
                Some(2),
                Some(2),
                Some(5),
                Some(1),
                m,
            ],
            [
                Some(1),
                Some(2),
                Some(3),
                Some(3),
                Some(2),
                Some(4),
                Some(4),
                Some(1),
                Some(2),
                Some(5),
                Some(1),
                m,
            ],
        ];
        let triples: Vec<Rating> = data
            .iter()
            .enumerate()
            .flat_map(|(obs, row)| {
                row.iter()
                    .enumerate()
                    .filter_map(move |(u, v)| v.map(|v| (u as u32, obs as u32, v)))
            })
            .collect();
        let a = krippendorff_alpha_nominal(triples).unwrap();
        assert!((a - 0.743).abs() < 0.0005, "{a}");
        assert_eq!(krippendorff_alpha_nominal(Vec::new()), None);
        assert_eq!(krippendorff_alpha_nominal(vec![(1, 1, 2), (1, 2, 2)]), None);
        close(
            krippendorff_alpha_nominal(vec![(1, 1, 2), (1, 2, 2), (2, 1, 3), (2, 2, 3)]),
            1.0,
            1e-12,
        );
        // A unit with one rating is not pairable and changes nothing.
        let base = vec![
            (1, 1, 2),
            (1, 2, 3),
            (2, 1, 3),
            (2, 2, 3),
            (3, 1, 2),
            (3, 2, 2),
        ];
        let mut more = base.clone();
        more.push((4, 1, 2));
        assert_eq!(
            krippendorff_alpha_nominal(base),
            krippendorff_alpha_nominal(more)
        );
    }
}
