//! Task quality: agreement (pairwise Cohen's kappa, Fleiss' kappa, Krippendorff's alpha), the
//! per-rater table, the confusion between raters' answers and final labels, the label
//! distribution, resolution methods and the confidence histogram, and which method `auto` would
//! choose for the task now (and why).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::db::{self, tasks::Task};
use crate::domain::aggregate::{self, Method, Options};
use crate::domain::agreement;
use crate::domain::ids::TaskId;
use crate::domain::schema::LabelSchema;
use crate::error::{AppError, Result};
use crate::review::kind_quality::{self, PairwiseFigures, RatingFigures, SpansFigures};
use crate::review::resolution::{CalibrationSummary, ChosenMethod};
use crate::state::AppState;

/// Cohen's kappa of two raters over the items they share.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PairKappa {
    pub a: String,
    pub b: String,
    pub shared: usize,
    pub kappa: Option<f64>,
}

/// One rater's figures in a task.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RaterRow {
    pub username: String,
    pub labels: usize,
    pub gold_answers: usize,
    pub gold_accuracy: Option<f64>,
    pub estimated_accuracy: Option<f64>,
    pub agreement_with_final: Option<f64>,
    pub median_seconds: Option<f64>,
    pub skips: i64,
    pub paused: bool,
    pub pause_reason: String,
}

/// A task's agreement and quality figures.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Quality {
    pub labels: usize,
    pub raters: usize,
    pub fleiss_kappa: Option<f64>,
    pub krippendorff_alpha: Option<f64>,
    pub mean_cohen_kappa: Option<f64>,
    pub pairs: Vec<PairKappa>,
    pub per_rater: Vec<RaterRow>,
    /// Classes shown in the confusion matrix (most frequent first, at most 12).
    pub classes: Vec<String>,
    /// `confusion[i][j]`: raters answered `classes[i]` where the final label is `classes[j]`.
    pub confusion: Vec<Vec<u64>>,
    pub distribution: Vec<(String, u64)>,
    pub methods: Vec<(String, u64)>,
    /// Ten buckets of final-label confidence: [0, 0.1), …, [0.9, 1.0].
    pub confidence_histogram: Vec<u64>,
    /// The method `auto` chooses for this task's labels now, and why (single-choice tasks with
    /// labels, up to 200,000 of them; `null` otherwise: re-resolving reports the choice).
    pub auto_choice: Option<ChosenMethod>,
    /// The confidence calibration `auto` would apply (`null` without enough gold).
    pub calibration: Option<CalibrationSummary>,
    /// Model predictions against the final labels, and how often raters kept the one shown.
    pub predictions: crate::sampling::service::PredictionFigures,
    /// Human consensus, direct labels and each model version, pairwise, on the items they
    /// share (`crate::outcomes`).
    pub sources: crate::outcomes::service::SourceFigures,
    /// Rating tasks: interval and ordinal alpha, the rating histogram.
    pub rating: Option<RatingFigures>,
    /// Pairwise tasks: agreement on the choice, Bradley–Terry per candidate source.
    pub pairwise: Option<PairwiseFigures>,
    /// Spans tasks: span F1 between raters (exact, overlap), per label and rater; token α.
    pub spans: Option<SpansFigures>,
    /// Boxes tasks: F1 at IoU 0.5, mean IoU, the IoU histogram, F1 per label.
    pub boxes: Option<kind_quality::BoxesFigures>,
    /// `questions` tasks: each question measured by its own kind (empty for other kinds; the
    /// figures above count a whole answer as one class).
    pub questions: Vec<crate::review::question_quality::QuestionFigures>,
}

/// Raters sharing fewer items than this get no pairwise kappa.
pub const MIN_SHARED: usize = 5;
const MAX_CLASSES: usize = 12;

/// A task and its quality figures.
pub struct TaskQuality {
    pub task: Task,
    pub quality: Quality,
}

/// The quality figures of a task. An unknown task is a 404.
#[tracing::instrument(skip_all, fields(task = %task_id))]
pub async fn for_task(state: &AppState, task_id: TaskId) -> Result<TaskQuality> {
    let task = db::tasks::get(&state.db.pool, task_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let quality = compute(state, &task).await?;
    Ok(TaskQuality { task, quality })
}

async fn compute(state: &AppState, task: &Task) -> Result<Quality> {
    let pool = &state.db.pool;
    let mut labels = db::items::labels_of_task(pool, task.id).await?;
    // Kinds whose answers carry more than their class (a preference's reason) count by class.
    for l in &mut labels {
        if let Some(c) = crate::domain::kinds::class_json(&task.schema, &l.value_json) {
            l.value_json = c;
        }
    }
    let finals = db::items::resolutions_of_task(pool, task.id).await?;
    let gold: HashMap<i64, String> = db::items::gold_of_task(pool, task.id)
        .await?
        .into_iter()
        .collect();
    // Where direct labels act as gold, they score raters as gold answers do (only that: the
    // items stay ordinary items for agreement and the confusion matrix).
    let sources = crate::outcomes::service::figures(pool, task).await?;
    let direct_gold: HashMap<i64, String> =
        if sources.direct_labels == crate::domain::outcome::DirectLabels::Gold {
            db::outcomes::direct_of_task(pool, task.id)
                .await?
                .into_iter()
                .filter(|(item, _)| !gold.contains_key(item))
                .collect()
        } else {
            HashMap::new()
        };
    let names: HashMap<i64, String> = db::users::list(pool)
        .await?
        .into_iter()
        .map(|u| (u.id.0, u.username))
        .collect();
    let final_of: HashMap<i64, &str> = finals.iter().map(|r| (r.0, r.1.as_str())).collect();

    // Classes: every distinct answer text, by frequency.
    let mut freq: HashMap<&str, u64> = HashMap::new();
    for l in &labels {
        *freq.entry(l.value_json.as_str()).or_insert(0) += 1;
    }
    let mut by_freq: Vec<(&str, u64)> = freq.into_iter().collect();
    by_freq.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let class_index: HashMap<&str, u32> = by_freq
        .iter()
        .enumerate()
        .map(|(i, (c, _))| (*c, i as u32))
        .collect();
    let rater_index: BTreeMap<i64, u32> = {
        let mut ids: Vec<i64> = labels.iter().map(|l| l.user_id.0).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .enumerate()
            .map(|(i, u)| (u, i as u32))
            .collect()
    };
    // Agreement is measured on real items: gold items are answered by everyone and would inflate it.
    let ratings: Vec<(u32, u32, u32)> = labels
        .iter()
        .filter(|l| !gold.contains_key(&l.item_id.0))
        .map(|l| {
            (
                l.item_id.0 as u32,
                rater_index[&l.user_id.0],
                class_index[l.value_json.as_str()],
            )
        })
        .collect();
    let fleiss_kappa = agreement::fleiss_kappa(ratings.iter().copied());
    let krippendorff_alpha = agreement::krippendorff_alpha_nominal(ratings.iter().copied());
    let mean = agreement::pairwise_cohen_kappa(ratings.iter().copied(), MIN_SHARED);

    // Pairwise kappa per rater pair with enough shared items.
    let mut by_item: BTreeMap<u32, Vec<(u32, u32)>> = BTreeMap::new();
    for (i, r, c) in &ratings {
        by_item.entry(*i).or_default().push((*r, *c));
    }
    let mut pair_answers: BTreeMap<(u32, u32), Vec<(u32, u32)>> = BTreeMap::new();
    for answers in by_item.values() {
        for (x, (ra, ca)) in answers.iter().enumerate() {
            for (rb, cb) in &answers[x + 1..] {
                let (key, val) = if ra < rb {
                    ((*ra, *rb), (*ca, *cb))
                } else {
                    ((*rb, *ra), (*cb, *ca))
                };
                pair_answers.entry(key).or_default().push(val);
            }
        }
    }
    let id_of: HashMap<u32, i64> = rater_index.iter().map(|(u, i)| (*i, *u)).collect();
    let name = |r: u32| {
        id_of
            .get(&r)
            .and_then(|u| names.get(u))
            .cloned()
            .unwrap_or_default()
    };
    let mut pairs: Vec<PairKappa> = pair_answers
        .into_iter()
        .filter(|(_, v)| v.len() >= MIN_SHARED)
        .map(|((a, b), v)| PairKappa {
            a: name(a),
            b: name(b),
            shared: v.len(),
            kappa: agreement::cohen_kappa(v),
        })
        .collect();
    pairs.sort_by_key(|p| std::cmp::Reverse(p.shared));
    pairs.truncate(200);

    // Per rater.
    let estimated = crate::review::answers::rater_accuracy(state, task)
        .await
        .unwrap_or_default();
    let skips = db::items::skips_by_rater(pool, task.id).await?;
    let statuses = db::items::rater_statuses(pool, task.id).await?;
    let mut per_rater = Vec::new();
    for user in rater_index.keys() {
        let mine: Vec<_> = labels.iter().filter(|l| l.user_id.0 == *user).collect();
        let gold_answers: Vec<bool> = mine
            .iter()
            .filter_map(|l| {
                let item = &l.item_id.0;
                gold.get(item)
                    .or_else(|| direct_gold.get(item))
                    .map(|g| g == &l.value_json)
            })
            .collect();
        let vs_final: Vec<bool> = mine
            .iter()
            .filter(|l| !gold.contains_key(&l.item_id.0))
            .filter_map(|l| final_of.get(&l.item_id.0).map(|f| *f == l.value_json))
            .collect();
        let mut secs: Vec<f64> = mine
            .iter()
            .filter(|l| l.duration_ms > 0)
            .map(|l| l.duration_ms as f64 / 1000.0)
            .collect();
        secs.sort_by(|a, b| a.total_cmp(b));
        let status = statuses.get(user);
        per_rater.push(RaterRow {
            username: names.get(user).cloned().unwrap_or_default(),
            labels: mine.len(),
            gold_answers: gold_answers.len(),
            gold_accuracy: share(&gold_answers),
            estimated_accuracy: estimated.get(user).copied(),
            agreement_with_final: share(&vs_final),
            median_seconds: if secs.is_empty() {
                None
            } else {
                Some(secs[secs.len() / 2])
            },
            skips: skips.get(user).copied().unwrap_or(0),
            paused: status.is_some_and(|s| s.0 != 0),
            pause_reason: status.map(|s| s.1.clone()).unwrap_or_default(),
        });
    }

    // Confusion: a rater's answer vs the final label, over real items with a final label.
    let classes: Vec<String> = by_freq
        .iter()
        .take(MAX_CLASSES)
        .map(|(c, _)| display(c))
        .collect();
    let mut confusion = vec![vec![0u64; classes.len()]; classes.len()];
    for l in labels.iter().filter(|l| !gold.contains_key(&l.item_id.0)) {
        let i = class_index.get(l.value_json.as_str()).map(|i| *i as usize);
        let j = final_of
            .get(&l.item_id.0)
            .and_then(|f| class_index.get(f))
            .map(|j| *j as usize);
        if let (Some(i), Some(j)) = (i, j)
            && i < classes.len()
            && j < classes.len()
        {
            confusion[i][j] += 1;
        }
    }
    let mut dist: BTreeMap<String, u64> = BTreeMap::new();
    let mut methods: BTreeMap<String, u64> = BTreeMap::new();
    let mut hist = vec![0u64; 10];
    for (item, value, method, confidence) in &finals {
        if gold.contains_key(item) {
            continue;
        }
        *dist.entry(display(value)).or_insert(0) += 1;
        *methods.entry(method.clone()).or_insert(0) += 1;
        hist[((confidence * 10.0).floor() as usize).min(9)] += 1;
    }
    let mut distribution: Vec<(String, u64)> = dist.into_iter().collect();
    distribution.sort_by_key(|d| std::cmp::Reverse(d.1));
    // `auto` compares six methods over every answer again: on a page view that is only worth it
    // for tasks of moderate size (larger ones see the choice when they are re-resolved).
    let (auto_choice, calibration) = if labels.len() <= MAX_LIVE_AUTO_ANSWERS {
        auto_choice(state, task).await
    } else {
        (None, None)
    };
    let inputs = kind_quality::Inputs {
        labels: &labels,
        gold: &gold,
        names: &names,
        finals: &final_of,
    };
    let kind_quality::KindFigures {
        rating,
        pairwise,
        spans,
        boxes,
    } = kind_quality::figures(state, task, &inputs).await?;
    let questions = match &task.schema {
        LabelSchema::Questions(spec) => {
            crate::review::question_quality::figures(state, task, spec, &inputs).await?
        }
        _ => Vec::new(),
    };
    Ok(Quality {
        boxes,
        rating,
        pairwise,
        spans,
        questions,
        labels: labels.len(),
        raters: rater_index.len(),
        fleiss_kappa,
        krippendorff_alpha,
        mean_cohen_kappa: mean.mean,
        pairs,
        per_rater,
        classes,
        confusion,
        distribution,
        methods: methods.into_iter().collect(),
        confidence_histogram: hist,
        auto_choice,
        predictions: crate::sampling::service::figures(&state.db.pool, task.id).await?,
        sources,
        calibration,
    })
}

/// Above this many labels the quality figures leave out what `auto` would choose (it would
/// re-read and re-fit every answer on each view); `POST /api/v1/tasks/{id}/resolve` reports it.
pub const MAX_LIVE_AUTO_ANSWERS: usize = 200_000;

/// What `auto` would choose for the task's labels now. A figure on a page: a failure (or a task
/// that is not single choice) shows nothing rather than failing the page.
async fn auto_choice(
    state: &AppState,
    task: &Task,
) -> (Option<ChosenMethod>, Option<CalibrationSummary>) {
    if !matches!(task.schema, LabelSchema::SingleChoice { .. }) {
        return (None, None);
    }
    let Ok(ta) = crate::review::answers::load(state, task, None).await else {
        return (None, None);
    };
    if ta.answers.is_empty() {
        return (None, None);
    }
    match aggregate::aggregate(&ta.answers, Method::Auto, &ta.gold, &Options::default()) {
        Ok(out) => (
            out.choice.as_ref().map(ChosenMethod::of),
            out.calibration.as_ref().map(CalibrationSummary::of),
        ),
        Err(_) => (None, None),
    }
}

fn share(v: &[bool]) -> Option<f64> {
    if v.is_empty() {
        None
    } else {
        Some(v.iter().filter(|x| **x).count() as f64 / v.len() as f64)
    }
}

/// A stored answer as people read it: `"pos"` → `pos`, `["a","b"]` → `a + b`.
pub fn display(value_json: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(value_json) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Array(a)) if a.is_empty() => "(none)".into(),
        Ok(serde_json::Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().unwrap_or("?").to_string())
            .collect::<Vec<_>>()
            .join(" + "),
        _ => value_json.to_string(),
    }
}
