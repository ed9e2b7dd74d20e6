//! Quality figures of the label kinds that are not plain classes: Krippendorff's alpha
//! (interval and ordinal) of ratings, and for preferences the observed agreement on the choice
//! and Bradley–Terry strengths per candidate source. The formulas live in `domain::kinds`.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

use crate::db::{self, items::LabelRow, tasks::Task};
use crate::domain::kinds::pairwise::{self, Outcome};
use crate::domain::kinds::rating::{self, Metric};
use crate::domain::kinds::spans::{self, Span, SpansSpec};
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

/// Span agreement of one entity label.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LabelF1 {
    pub label: String,
    /// Spans of this label marked by raters (real items).
    pub spans: usize,
    pub f1_exact: Option<f64>,
    pub f1_overlap: Option<f64>,
}

/// One rater's spans against the final spans (overlap match).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RaterF1 {
    pub username: String,
    pub items: usize,
    pub f1_vs_final: Option<f64>,
}

/// Spans: F1 between raters (exact and overlap match), per label and per rater, and token-level α.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SpansFigures {
    /// Micro F1 over every pair of raters on every item, spans matched exactly.
    pub f1_exact: Option<f64>,
    /// The same with spans matched by overlap (same label).
    pub f1_overlap: Option<f64>,
    /// Krippendorff's α (nominal) over tokens: each token's label (or `O`) per rater.
    pub token_alpha: Option<f64>,
    pub per_label: Vec<LabelF1>,
    pub per_rater: Vec<RaterF1>,
}

/// Boxes: F1 at IoU 0.5 between raters, mean IoU of matched boxes, and their IoU histogram.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BoxesFigures {
    pub f1_iou50: Option<f64>,
    pub mean_iou: Option<f64>,
    /// Matched pairs by IoU: [0.5, 0.6), [0.6, 0.7), [0.7, 0.8), [0.8, 0.9), [0.9, 1.0].
    pub iou_histogram: Vec<u64>,
    /// F1 at IoU 0.5 per box label.
    pub per_label: Vec<(String, Option<f64>)>,
}

/// What the figures of a task's kind are made from.
pub struct Inputs<'a> {
    pub labels: &'a [LabelRow],
    pub gold: &'a HashMap<i64, String>,
    pub names: &'a HashMap<i64, String>,
    /// Final value JSON by item.
    pub finals: &'a HashMap<i64, &'a str>,
}

/// Box figures over real items (gold left out).
pub fn boxes_figures(
    spec: &crate::domain::kinds::boxes::BoxesSpec,
    inputs: &Inputs<'_>,
) -> BoxesFigures {
    use crate::domain::kinds::boxes::{self, Bbox};
    let mut by_item: BTreeMap<i64, Vec<Vec<Bbox>>> = BTreeMap::new();
    for l in inputs
        .labels
        .iter()
        .filter(|l| !inputs.gold.contains_key(&l.item_id.0))
    {
        let v: Value = serde_json::from_str(&l.value_json).unwrap_or(Value::Null);
        if let Some(b) = boxes::boxes_of(&v) {
            by_item.entry(l.item_id.0).or_default().push(b);
        }
    }
    let (f1, mean, ious) = boxes::agreement(by_item.values().map(Vec::as_slice));
    let mut hist = vec![0u64; 5];
    for x in ious {
        hist[(((x - 0.5) * 10.0).floor().max(0.0) as usize).min(4)] += 1;
    }
    let per_label = spec
        .labels
        .iter()
        .map(|l| {
            let only: Vec<Vec<Vec<Bbox>>> = by_item
                .values()
                .map(|a| {
                    a.iter()
                        .map(|b| b.iter().filter(|x| x.label == l.value).cloned().collect())
                        .collect()
                })
                .collect();
            (
                l.value.clone(),
                boxes::agreement(only.iter().map(Vec::as_slice)).0,
            )
        })
        .collect();
    BoxesFigures {
        f1_iou50: f1,
        mean_iou: mean,
        iou_histogram: hist,
        per_label,
    }
}

/// The figures of one kind beyond plain classes (all `None` for choice and free text).
#[derive(Debug, Default)]
pub struct KindFigures {
    pub rating: Option<RatingFigures>,
    pub pairwise: Option<PairwiseFigures>,
    pub spans: Option<SpansFigures>,
    pub boxes: Option<BoxesFigures>,
}

/// Whether the figures of `schema` read the items' data (candidate sources, span texts).
pub fn needs_data(schema: &LabelSchema) -> bool {
    match schema {
        LabelSchema::Pairwise(_) | LabelSchema::Spans(_) => true,
        LabelSchema::Questions(q) => q.questions.iter().any(|x| needs_data(&x.schema)),
        _ => false,
    }
}

/// The figures of the task's kind.
pub async fn figures(state: &AppState, task: &Task, inputs: &Inputs<'_>) -> Result<KindFigures> {
    let data = if needs_data(&task.schema) {
        item_data(state, task).await?
    } else {
        BTreeMap::new()
    };
    Ok(kind_figures(&task.schema, inputs, &data))
}

/// The figures of `schema` over `inputs` (item data by id, where the kind reads it); one
/// question of a `questions` task is measured by the same function on that question's parts.
pub fn kind_figures(
    schema: &LabelSchema,
    inputs: &Inputs<'_>,
    data: &BTreeMap<i64, Value>,
) -> KindFigures {
    match schema {
        LabelSchema::Rating(spec) => KindFigures {
            rating: Some(rating_figures(spec, inputs)),
            ..KindFigures::default()
        },
        LabelSchema::Pairwise(spec) => KindFigures {
            pairwise: Some(pairwise_figures(spec, inputs, data)),
            ..KindFigures::default()
        },
        LabelSchema::Spans(spec) => KindFigures {
            spans: Some(span_figures(spec, inputs, data)),
            ..KindFigures::default()
        },
        LabelSchema::Boxes(spec) => KindFigures {
            boxes: Some(boxes_figures(spec, inputs)),
            ..KindFigures::default()
        },
        _ => KindFigures::default(),
    }
}

/// The labels of real items (gold left out), with their parsed values.
fn real_values<'a>(inputs: &'a Inputs<'_>) -> impl Iterator<Item = (&'a LabelRow, Value)> + 'a {
    inputs
        .labels
        .iter()
        .filter(|l| !inputs.gold.contains_key(&l.item_id.0))
        .filter_map(|l| {
            serde_json::from_str::<Value>(&l.value_json)
                .ok()
                .map(|v| (l, v))
        })
}

fn rating_figures(spec: &rating::RatingSpec, inputs: &Inputs<'_>) -> RatingFigures {
    let mut units: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    let mut hist: BTreeMap<i64, u64> = (spec.min..=spec.max).map(|p| (p, 0)).collect();
    for (l, v) in real_values(inputs) {
        if let Some(x) = v.as_f64() {
            units.entry(l.item_id.0).or_default().push(x);
            *hist.entry(x as i64).or_insert(0) += 1;
        }
    }
    let units: Vec<Vec<f64>> = units.into_values().collect();
    let all: Vec<f64> = units.iter().flatten().copied().collect();
    RatingFigures {
        alpha_interval: rating::krippendorff_alpha(&units, Metric::Interval),
        alpha_ordinal: rating::krippendorff_alpha(&units, Metric::Ordinal),
        mean: (!all.is_empty()).then(|| all.iter().sum::<f64>() / all.len() as f64),
        histogram: hist.into_iter().collect(),
    }
}

fn pairwise_figures(
    spec: &pairwise::PairwiseSpec,
    inputs: &Inputs<'_>,
    data: &BTreeMap<i64, Value>,
) -> PairwiseFigures {
    let mut units: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut comparisons = Vec::new();
    for (l, v) in real_values(inputs) {
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
    PairwiseFigures {
        observed_agreement: pairwise::observed_agreement(units.values().map(Vec::as_slice)),
        choices: spec
            .choices()
            .iter()
            .map(|c| (c.to_string(), counts.get(*c).copied().unwrap_or(0)))
            .collect(),
        sources,
    }
}

pub async fn item_data(state: &AppState, task: &Task) -> Result<BTreeMap<i64, Value>> {
    Ok(db::kinds::item_data_of_task(&state.db.pool, task.id)
        .await?
        .into_iter()
        .filter_map(|(id, d)| serde_json::from_str(&d).ok().map(|v| (id, v)))
        .collect())
}

fn span_figures(
    spec: &SpansSpec,
    inputs: &Inputs<'_>,
    data: &BTreeMap<i64, Value>,
) -> SpansFigures {
    // item -> [(rater, spans)]
    let mut by_item: BTreeMap<i64, Vec<(i64, Vec<Span>)>> = BTreeMap::new();
    for l in inputs
        .labels
        .iter()
        .filter(|l| !inputs.gold.contains_key(&l.item_id.0))
    {
        let v: Value = serde_json::from_str(&l.value_json).unwrap_or(Value::Null);
        if let Some(s) = spans::spans_of(&v) {
            by_item
                .entry(l.item_id.0)
                .or_default()
                .push((l.user_id.0, s));
        }
    }
    let answers: Vec<Vec<Vec<Span>>> = by_item
        .values()
        .map(|v| v.iter().map(|(_, s)| s.clone()).collect())
        .collect();
    let f1 = |answers: &[Vec<Vec<Span>>], exact| {
        spans::pairwise_f1(answers.iter().map(Vec::as_slice), exact)
    };
    let per_label = spec
        .labels
        .iter()
        .map(|l| {
            let only: Vec<Vec<Vec<Span>>> = answers
                .iter()
                .map(|item| {
                    item.iter()
                        .map(|a| a.iter().filter(|s| s.label == l.value).cloned().collect())
                        .collect()
                })
                .collect();
            LabelF1 {
                label: l.value.clone(),
                spans: only.iter().flatten().map(Vec::len).sum(),
                f1_exact: f1(&only, true),
                f1_overlap: f1(&only, false),
            }
        })
        .collect();
    // Per rater: their spans against the final ones, over items with a final label.
    let mut per: BTreeMap<i64, (usize, usize, usize)> = BTreeMap::new();
    for (item, raters) in &by_item {
        let Some(fin) = inputs
            .finals
            .get(item)
            .and_then(|f| serde_json::from_str::<Value>(f).ok())
            .and_then(|v| spans::spans_of(&v))
        else {
            continue;
        };
        for (r, s) in raters {
            let (m, a, b) = spans::matches(s, &fin, false);
            let e = per.entry(*r).or_insert((0, 0, 0));
            e.0 += 1;
            e.1 += m;
            e.2 += a + b;
        }
    }
    let per_rater = per
        .into_iter()
        .map(|(r, (items, m, total))| RaterF1 {
            username: inputs.names.get(&r).cloned().unwrap_or_default(),
            items,
            // Both said "no entities" on every item: full agreement.
            f1_vs_final: if total > 0 {
                Some(2.0 * m as f64 / total as f64)
            } else {
                Some(1.0)
            },
        })
        .collect();
    // Token-level α: one unit per (item, token), the class the rater's spans give the token.
    let mut classes: HashMap<String, u32> = HashMap::new();
    let mut raters: HashMap<i64, u32> = HashMap::new();
    let mut triples = Vec::new();
    let mut unit = 0u32;
    for (item, answers) in by_item.iter().filter(|(_, a)| a.len() >= 2) {
        let Some(text) = data.get(item).and_then(|d| spec.text_of(d)) else {
            continue;
        };
        let tokens = spans::tokenize(text);
        for (r, s) in answers {
            let next = raters.len() as u32;
            let ri = *raters.entry(*r).or_insert(next);
            for (ti, t) in tokens.iter().enumerate() {
                let class = s
                    .iter()
                    .find(|x| t.start >= x.start && t.start < x.end)
                    .map_or("O", |x| x.label.as_str());
                let next = classes.len() as u32;
                let ci = *classes.entry(class.to_string()).or_insert(next);
                triples.push((unit + ti as u32, ri, ci));
            }
        }
        unit += tokens.len() as u32;
    }
    SpansFigures {
        f1_exact: f1(&answers, true),
        f1_overlap: f1(&answers, false),
        token_alpha: crate::domain::agreement::krippendorff_alpha_nominal(triples),
        per_label,
        per_rater,
    }
}
