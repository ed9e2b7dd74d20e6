//! Per-question figures of a `questions` task: each question's parts of the answers measured by
//! that question's own kind — nominal agreement for choices and free text, Krippendorff's α for
//! ratings, agreement and Bradley–Terry for preferences, span F1 for spans, F1 at IoU 0.5 and
//! mean IoU for boxes — through the same functions as a task of that kind (`kind_quality`).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

use crate::db::{items::LabelRow, tasks::Task};
use crate::domain::agreement;
use crate::domain::kinds::questions::QuestionsSpec;
use crate::domain::schema::LabelSchema;
use crate::error::Result;
use crate::review::kind_quality::{
    self, BoxesFigures, Inputs, KindFigures, PairwiseFigures, RatingFigures, SpansFigures,
};
use crate::review::quality::{MIN_SHARED, display};
use crate::state::AppState;

/// One rater on one choice question.
#[derive(Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QuestionRater {
    pub username: String,
    /// Their answers to it on real items with a final answer.
    pub items: usize,
    /// Share of those equal to the final answer's part.
    pub agreement_with_final: Option<f64>,
}

/// A choice or free-text question: agreement with each answer as a class.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChoiceFigures {
    pub fleiss_kappa: Option<f64>,
    pub krippendorff_alpha: Option<f64>,
    /// Mean of Cohen's κ over rater pairs sharing at least 5 items.
    pub mean_cohen_kappa: Option<f64>,
    /// How often each answer was given (real items), most frequent first.
    pub distribution: Vec<(String, u64)>,
    pub per_rater: Vec<QuestionRater>,
}

/// One question's figures, by its kind (the other kinds' fields are null).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct QuestionFigures {
    /// The question's name (the key of its part of the answer).
    pub name: String,
    pub prompt: Option<String>,
    /// Its kind (`single_choice`, `rating`, `spans`, …).
    pub kind: String,
    /// Answers that hold a part for it (real items).
    pub answers: usize,
    pub choice: Option<ChoiceFigures>,
    pub rating: Option<RatingFigures>,
    pub pairwise: Option<PairwiseFigures>,
    pub spans: Option<SpansFigures>,
    pub boxes: Option<BoxesFigures>,
}

/// The figures of every question of a `questions` task.
pub async fn figures(
    state: &AppState,
    task: &Task,
    spec: &QuestionsSpec,
    inputs: &Inputs<'_>,
) -> Result<Vec<QuestionFigures>> {
    let data = if kind_quality::needs_data(&task.schema) {
        kind_quality::item_data(state, task).await?
    } else {
        BTreeMap::new()
    };
    Ok(per_question(spec, inputs, &data))
}

/// The part of a stored answer that answers question `name`, as JSON text.
fn part(value_json: &str, name: &str) -> Option<String> {
    let v: Value = serde_json::from_str(value_json).ok()?;
    v.get(name).map(Value::to_string)
}

/// Each question measured on its parts of `inputs`' answers and final answers.
pub fn per_question(
    spec: &QuestionsSpec,
    inputs: &Inputs<'_>,
    data: &BTreeMap<i64, Value>,
) -> Vec<QuestionFigures> {
    spec.questions
        .iter()
        .map(|q| {
            let labels: Vec<LabelRow> = inputs
                .labels
                .iter()
                .filter_map(|l| {
                    part(&l.value_json, &q.name).map(|value_json| LabelRow {
                        value_json,
                        ..l.clone()
                    })
                })
                .collect();
            let finals: HashMap<i64, String> = inputs
                .finals
                .iter()
                .filter_map(|(item, f)| part(f, &q.name).map(|p| (*item, p)))
                .collect();
            let finals: HashMap<i64, &str> = finals.iter().map(|(i, f)| (*i, f.as_str())).collect();
            let parts = Inputs {
                labels: &labels,
                gold: inputs.gold,
                names: inputs.names,
                finals: &finals,
            };
            let KindFigures {
                rating,
                pairwise,
                spans,
                boxes,
            } = kind_quality::kind_figures(&q.schema, &parts, data);
            let choice = matches!(
                q.schema,
                LabelSchema::SingleChoice { .. }
                    | LabelSchema::MultiChoice { .. }
                    | LabelSchema::FreeText { .. }
            )
            .then(|| choice_figures(&parts));
            QuestionFigures {
                name: q.name.clone(),
                prompt: q.prompt.clone(),
                kind: q.schema.kind().to_string(),
                answers: labels
                    .iter()
                    .filter(|l| !inputs.gold.contains_key(&l.item_id.0))
                    .count(),
                choice,
                rating,
                pairwise,
                spans,
                boxes,
            }
        })
        .collect()
}

/// Nominal agreement over the parts (each distinct answer a class), gold items left out, and
/// each rater's agreement with the final parts.
fn choice_figures(inputs: &Inputs<'_>) -> ChoiceFigures {
    let real: Vec<&LabelRow> = inputs
        .labels
        .iter()
        .filter(|l| !inputs.gold.contains_key(&l.item_id.0))
        .collect();
    let mut classes: HashMap<&str, u32> = HashMap::new();
    let mut raters: BTreeMap<i64, u32> = BTreeMap::new();
    for l in &real {
        let next = classes.len() as u32;
        classes.entry(l.value_json.as_str()).or_insert(next);
        raters.entry(l.user_id.0).or_insert(0);
    }
    for (i, r) in raters.values_mut().enumerate() {
        *r = i as u32;
    }
    let ratings: Vec<(u32, u32, u32)> = real
        .iter()
        .map(|l| {
            (
                l.item_id.0 as u32,
                raters[&l.user_id.0],
                classes[l.value_json.as_str()],
            )
        })
        .collect();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for l in &real {
        *counts.entry(display(&l.value_json)).or_insert(0) += 1;
    }
    let mut distribution: Vec<(String, u64)> = counts.into_iter().collect();
    distribution.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let per_rater = raters
        .keys()
        .map(|user| {
            let vs_final: Vec<bool> = real
                .iter()
                .filter(|l| l.user_id.0 == *user)
                .filter_map(|l| inputs.finals.get(&l.item_id.0).map(|f| *f == l.value_json))
                .collect();
            QuestionRater {
                username: inputs.names.get(user).cloned().unwrap_or_default(),
                items: vs_final.len(),
                agreement_with_final: (!vs_final.is_empty()).then(|| {
                    vs_final.iter().filter(|x| **x).count() as f64 / vs_final.len() as f64
                }),
            }
        })
        .collect();
    ChoiceFigures {
        fleiss_kappa: agreement::fleiss_kappa(ratings.iter().copied()),
        krippendorff_alpha: agreement::krippendorff_alpha_nominal(ratings.iter().copied()),
        mean_cohen_kappa: agreement::pairwise_cohen_kappa(ratings.iter().copied(), MIN_SHARED).mean,
        distribution,
        per_rater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{ItemId, UserId};
    use serde_json::json;

    fn label(item: i64, user: i64, value: Value) -> LabelRow {
        LabelRow {
            item_id: ItemId(item),
            user_id: UserId(user),
            value_json: value.to_string(),
            instruction_version: 1,
            duration_ms: 1000,
        }
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    /// Two raters, three items, a sentiment choice and a 1..5 rating (docs/label-kinds.md).
    #[test]
    fn each_question_is_measured_by_its_own_kind() {
        let spec: QuestionsSpec = serde_json::from_value(json!({"questions": [
            {"name": "sentiment", "schema": {"kind": "single_choice", "options": [
                {"value": "pos", "label": "Positive"}, {"value": "neg", "label": "Negative"}]}},
            {"name": "score", "prompt": "How good?", "schema": {"kind": "rating", "min": 1, "max": 5}}]}))
        .unwrap();
        let answers = [
            (1, 1, "pos", 1),
            (1, 2, "pos", 2),
            (2, 1, "neg", 3),
            (2, 2, "neg", 3),
            (3, 1, "pos", 4),
            (3, 2, "neg", 5),
        ];
        let labels: Vec<LabelRow> = answers
            .iter()
            .map(|(i, u, s, r)| label(*i, *u, json!({"sentiment": s, "score": r})))
            .collect();
        // A gold item answered alike by both is left out of every figure.
        let mut all = labels.clone();
        all.push(label(9, 1, json!({"sentiment": "neg", "score": 1})));
        all.push(label(9, 2, json!({"sentiment": "neg", "score": 1})));
        let gold: HashMap<i64, String> = [(9, "{}".to_string())].into();
        let names: HashMap<i64, String> = [(1, "ann".into()), (2, "bob".into())].into();
        let finals_text = [
            (1, json!({"sentiment": "pos", "score": 1.5}).to_string()),
            (2, json!({"sentiment": "neg", "score": 3}).to_string()),
            (3, json!({"sentiment": "pos", "score": 4.5}).to_string()),
        ];
        let finals: HashMap<i64, &str> =
            finals_text.iter().map(|(i, f)| (*i, f.as_str())).collect();
        let inputs = Inputs {
            labels: &all,
            gold: &gold,
            names: &names,
            finals: &finals,
        };
        let qs = per_question(&spec, &inputs, &BTreeMap::new());
        assert_eq!(qs.len(), 2);

        // Sentiment, by hand: items (pos, pos), (neg, neg), (pos, neg).
        // Fleiss: P̄ = (1 + 1 + 0) / 3 = 2/3, P_e = 0.5² + 0.5² = 1/2, κ = (2/3 − 1/2) / (1/2) = 1/3.
        // α: o_pn = o_np = 1, n_pos = n_neg = 3, n = 6: α = 1 − 5 · 2 / (2 · 3 · 3) = 4/9.
        let s = &qs[0];
        assert_eq!(
            (s.name.as_str(), s.kind.as_str(), s.answers),
            ("sentiment", "single_choice", 6)
        );
        assert!(s.rating.is_none());
        let c = s.choice.as_ref().unwrap();
        assert!(close(c.fleiss_kappa, 1.0 / 3.0), "{:?}", c.fleiss_kappa);
        assert!(
            close(c.krippendorff_alpha, 4.0 / 9.0),
            "{:?}",
            c.krippendorff_alpha
        );
        assert_eq!(c.mean_cohen_kappa, None, "3 shared items: fewer than 5");
        assert_eq!(
            c.distribution,
            vec![("neg".to_string(), 3), ("pos".to_string(), 3)],
            "ties by name"
        );
        // ann matches the final sentiment on all 3 items, bob on 2 of 3.
        assert_eq!(
            c.per_rater,
            vec![
                QuestionRater {
                    username: "ann".into(),
                    items: 3,
                    agreement_with_final: Some(1.0)
                },
                QuestionRater {
                    username: "bob".into(),
                    items: 3,
                    agreement_with_final: Some(2.0 / 3.0)
                },
            ]
        );

        // Score, by hand: items (1, 2), (3, 3), (4, 5): interval α = 1 − 5 · 4 / 120 = 5/6
        // (the worked example of docs/label-kinds.md); ordinal: Σ n_c n_k δ² over ordered pairs
        // = 2 × 102 = 204, α = 1 − 5 · 4 / 204 = 46/51.
        let r = &qs[1];
        assert_eq!(
            (r.kind.as_str(), r.prompt.as_deref()),
            ("rating", Some("How good?"))
        );
        assert!(r.choice.is_none());
        let fig = r.rating.as_ref().unwrap();
        assert!(
            close(fig.alpha_interval, 5.0 / 6.0),
            "{:?}",
            fig.alpha_interval
        );
        assert!(
            close(fig.alpha_ordinal, 46.0 / 51.0),
            "{:?}",
            fig.alpha_ordinal
        );
        assert!(close(fig.mean, 18.0 / 6.0));
        assert_eq!(fig.histogram, vec![(1, 1), (2, 1), (3, 2), (4, 1), (5, 1)]);
    }

    #[test]
    fn a_spans_question_gets_span_f1() {
        let spec: QuestionsSpec = serde_json::from_value(json!({"questions": [
            {"name": "ents", "schema": {"kind": "spans", "field": "text", "labels": [
                {"value": "PER", "label": "Person"}, {"value": "LOC", "label": "Place"}]}},
            {"name": "ok", "schema": {"kind": "free_text"}}]}))
        .unwrap();
        // The worked example of docs/label-kinds.md: exact F1 0.5, overlap F1 1.0.
        let a = json!([{"start": 0, "end": 12, "label": "PER"}, {"start": 17, "end": 24, "label": "LOC"}]);
        let b = json!([{"start": 0, "end": 3, "label": "PER"}, {"start": 17, "end": 24, "label": "LOC"}]);
        let labels = vec![
            label(1, 1, json!({"ents": a, "ok": "yes"})),
            label(1, 2, json!({"ents": b, "ok": "yes"})),
        ];
        let data: BTreeMap<i64, Value> = [(
            1,
            json!({"text": "Ada Lovelace met Charles Babbage in London."}),
        )]
        .into();
        let (gold, names, finals) = (HashMap::new(), HashMap::new(), HashMap::new());
        let inputs = Inputs {
            labels: &labels,
            gold: &gold,
            names: &names,
            finals: &finals,
        };
        let qs = per_question(&spec, &inputs, &data);
        let sp = qs[0].spans.as_ref().unwrap();
        assert!(
            close(sp.f1_exact, 0.5) && close(sp.f1_overlap, 1.0),
            "{sp:?}"
        );
        assert!(qs[0].choice.is_none());
        assert!(qs[1].choice.is_some() && qs[1].spans.is_none());
    }
}
