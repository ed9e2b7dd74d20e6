//! Quality figures of the label kinds that are not plain classes: Krippendorff's alpha
//! (interval and ordinal) of ratings, and for preferences the observed agreement on the choice
//! and Bradley–Terry strengths per candidate source. The formulas live in `domain::kinds`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::db::{self, items::LabelRow, tasks::Task};
use crate::domain::kinds::pairwise::{self, Outcome};
use crate::domain::kinds::rating::{self, Metric};
use crate::domain::schema::LabelSchema;
use crate::error::Result;
use crate::state::AppState;

/// Ratings: agreement that knows 4 is nearer 5 than 1 is.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RatingFigures {
    /// Krippendorff's alpha with the interval metric `(c − k)²`.
    pub alpha_interval: Option<f64>,
    /// Krippendorff's alpha with the ordinal metric (ranks only).
    pub alpha_ordinal: Option<f64>,
    /// Mean of every rating given (real items).
    pub mean: Option<f64>,
    /// How many ratings each point of the scale got, lowest point first.
    pub histogram: Vec<(i64, u64)>,
}

/// One candidate source's Bradley–Terry figures.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SourceRow {
    pub source: String,
    /// `P(i beats j) = p_i / (p_i + p_j)`; geometric mean 1 over sources.
    pub strength: f64,
    /// `1000 + 400·log10(strength)`.
    pub elo: f64,
    pub wins: u64,
    pub losses: u64,
    pub ties: u64,
}

/// Preferences: agreement on the choice, and a ranking of the candidates' sources.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PairwiseFigures {
    /// Share of rater pairs on an item that made the same choice.
    pub observed_agreement: Option<f64>,
    /// How often each choice was made.
    pub choices: Vec<(String, u64)>,
    /// Bradley–Terry over every rater's answer (`both_bad` says nothing about order and is left
    /// out; a tie is half a win each), strongest first.
    pub sources: Vec<SourceRow>,
}

/// The figures of the task's kind (`None`, `None` for choice and free-text tasks).
pub async fn figures(
    state: &AppState,
    task: &Task,
    labels: &[LabelRow],
    gold: &std::collections::HashMap<i64, String>,
) -> Result<(Option<RatingFigures>, Option<PairwiseFigures>)> {
    let real = || labels.iter().filter(|l| !gold.contains_key(&l.item_id.0));
    let parsed = |l: &LabelRow| serde_json::from_str::<Value>(&l.value_json).ok();
    match &task.schema {
        LabelSchema::Rating(spec) => {
            let mut units: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
            let mut hist: BTreeMap<i64, u64> = (spec.min..=spec.max).map(|p| (p, 0)).collect();
            for l in real() {
                if let Some(x) = parsed(l).as_ref().and_then(Value::as_f64) {
                    units.entry(l.item_id.0).or_default().push(x);
                    *hist.entry(x as i64).or_insert(0) += 1;
                }
            }
            let units: Vec<Vec<f64>> = units.into_values().collect();
            let all: Vec<f64> = units.iter().flatten().copied().collect();
            Ok((
                Some(RatingFigures {
                    alpha_interval: rating::krippendorff_alpha(&units, Metric::Interval),
                    alpha_ordinal: rating::krippendorff_alpha(&units, Metric::Ordinal),
                    mean: (!all.is_empty()).then(|| all.iter().sum::<f64>() / all.len() as f64),
                    histogram: hist.into_iter().collect(),
                }),
                None,
            ))
        }
        LabelSchema::Pairwise(spec) => {
            let data: BTreeMap<i64, Value> = db::kinds::item_data_of_task(&state.db.pool, task.id)
                .await?
                .into_iter()
                .filter_map(|(id, d)| serde_json::from_str(&d).ok().map(|v| (id, v)))
                .collect();
            let mut units: BTreeMap<i64, Vec<String>> = BTreeMap::new();
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            let mut comparisons = Vec::new();
            for l in real() {
                let Some(v) = parsed(l) else { continue };
                let Some(c) = pairwise::choice_of(&v) else {
                    continue;
                };
                units.entry(l.item_id.0).or_default().push(c.to_string());
                *counts.entry(c.to_string()).or_insert(0) += 1;
                let outcome = match c {
                    "A" => Outcome::AWins,
                    "B" => Outcome::BWins,
                    "tie" => Outcome::Tie,
                    _ => continue,
                };
                let (a, b) = spec.sources(data.get(&l.item_id.0).unwrap_or(&Value::Null));
                comparisons.push((a, b, outcome));
            }
            let sources = pairwise::bradley_terry(&comparisons)
                .into_iter()
                .map(|s| SourceRow {
                    source: s.source,
                    strength: s.strength,
                    elo: s.elo,
                    wins: s.wins,
                    losses: s.losses,
                    ties: s.ties,
                })
                .collect();
            Ok((
                None,
                Some(PairwiseFigures {
                    observed_agreement: pairwise::observed_agreement(
                        units.values().map(Vec::as_slice),
                    ),
                    choices: spec
                        .choices()
                        .iter()
                        .map(|c| (c.to_string(), counts.get(*c).copied().unwrap_or(0)))
                        .collect(),
                    sources,
                }),
            ))
        }
        _ => Ok((None, None)),
    }
}
