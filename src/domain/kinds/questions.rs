//! Several questions per item: `{"kind": "questions", "questions": [{"name", "schema"}, …]}`,
//! each question with its own kind, answered in one submission
//! `{"<name>": <that kind's value>, …}`.
//!
//! **Rules.** 1 to 10 questions; names of 1 to 40 characters `a-z`, `0-9`, `_`, unique; a
//! question's schema is any other kind (not `questions`); at most one question draws on the item
//! (`spans` or `boxes`), because the labeling page shows the item once. An answer has every
//! question, and no other key; each part is checked by its question's kind.
//!
//! **Resolution**, per question, by its kind's own rule over the raters' answers to it
//! (`kinds::decide`): the item is resolved when every question is, with the parts' values and
//! the lowest part's confidence, by `per_question`; it goes to a reviewer as soon as one question
//! does, and asks for another label while any question does. Worked example (agreement 0.5, three
//! raters): sentiment `pos, pos, neg` resolves `pos` at 2/3; entities where two of three marked
//! `PER 0–3` keep it at 2/3; so the item resolves `{"sentiment": "pos", "entities": [PER 0–3]}`
//! with confidence 2/3. Had the sentiment been `pos, neg` at the maximum overlap of 2, the whole
//! item would go to a reviewer.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::resolve::{Decision, count_votes};
use crate::domain::schema::LabelSchema;

pub const MAX_QUESTIONS: usize = 10;

/// One question: its name (the key of its answer) and its kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub name: String,
    pub schema: LabelSchema,
    /// What raters read above the question (default: the name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionsSpec {
    pub questions: Vec<Question>,
}

fn draws_item(s: &LabelSchema) -> bool {
    matches!(s, LabelSchema::Spans(_) | LabelSchema::Boxes(_))
}

impl QuestionsSpec {
    pub fn check(&self) -> Result<(), String> {
        if self.questions.is_empty() || self.questions.len() > MAX_QUESTIONS {
            return Err(format!("schema: 1 to {MAX_QUESTIONS} questions"));
        }
        let mut names = HashSet::new();
        for (i, q) in self.questions.iter().enumerate() {
            let n = i + 1;
            let ok = (1..=40).contains(&q.name.len())
                && q.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                return Err(format!(
                    "schema: question {n}: the name has 1 to 40 characters a-z, 0-9 and _"
                ));
            }
            if !names.insert(q.name.as_str()) {
                return Err(format!(
                    "schema: question {n}: the name {:?} appears twice",
                    q.name
                ));
            }
            if matches!(q.schema, LabelSchema::Questions(_)) {
                return Err(format!(
                    "schema: question {n} ({}): questions cannot nest",
                    q.name
                ));
            }
            if let Some(p) = &q.prompt
                && (p.trim().is_empty() || p.chars().count() > 300)
            {
                return Err(format!(
                    "schema: question {n} ({}): the prompt has 1 to 300 characters",
                    q.name
                ));
            }
            q.schema
                .check_parsed()
                .map_err(|e| format!("schema: question {n} ({}): {}", q.name, strip(&e)))?;
        }
        if self
            .questions
            .iter()
            .filter(|q| draws_item(&q.schema))
            .count()
            > 1
        {
            return Err(
                "schema: at most one question may mark the item (spans or boxes): the page shows the item once"
                    .into(),
            );
        }
        Ok(())
    }

    pub fn check_value(&self, v: &Value) -> Result<Value, String> {
        let obj = v
            .as_object()
            .ok_or("the value must be an object with one answer per question")?;
        if let Some(k) = obj
            .keys()
            .find(|k| !self.questions.iter().any(|q| &q.name == *k))
        {
            return Err(format!("value.{k}: there is no question {k:?}"));
        }
        let mut out = Map::new();
        for q in &self.questions {
            let part = obj.get(&q.name).ok_or_else(|| {
                format!("value.{}: missing (every question needs an answer)", q.name)
            })?;
            let checked = q
                .schema
                .check_value(part)
                .map_err(|e| format!("value.{}: {}", q.name, strip(&e)))?;
            out.insert(q.name.clone(), checked);
        }
        Ok(Value::Object(out))
    }

    /// The item fields the questions need (the one that marks the item, pairs' candidates…).
    pub fn check_item(&self, data: &Map<String, Value>) -> Option<Result<(), String>> {
        let mut any = None;
        for q in &self.questions {
            if let Some(r) = super::check_item(&q.schema, data) {
                if let Err(e) = r {
                    return Some(Err(format!("{e} (question {})", q.name)));
                }
                any = Some(Ok(()));
            }
        }
        any
    }

    pub fn needs_item(&self) -> bool {
        self.questions.iter().any(|q| super::needs_item(&q.schema))
    }

    pub fn check_against_item(&self, value: &Value, data: &Value) -> Result<(), String> {
        for q in &self.questions {
            if let Some(part) = value.get(&q.name) {
                super::check_against_item(&q.schema, part, data)
                    .map_err(|e| format!("value.{}: {e}", q.name))?;
            }
        }
        Ok(())
    }

    pub fn display(&self, v: &Value) -> String {
        self.questions
            .iter()
            .map(|q| {
                let part = v
                    .get(&q.name)
                    .map_or_else(|| "–".to_string(), |p| q.schema.display(p));
                format!("{}: {part}", q.name)
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Names and kinds stay; each question's schema may evolve as its kind allows.
    pub fn evolve_to(&self, next: &QuestionsSpec) -> Result<(), String> {
        for q in &self.questions {
            let Some(n) = next.questions.iter().find(|n| n.name == q.name) else {
                return Err(format!(
                    "schema: the question {:?} cannot be removed once labels exist",
                    q.name
                ));
            };
            q.schema
                .evolve_to(&n.schema)
                .map_err(|e| format!("schema: question {}: {}", q.name, strip(&e)))?;
        }
        if next.questions.len() != self.questions.len() {
            return Err("schema: questions cannot be added once labels exist (every stored answer would miss it)".into());
        }
        Ok(())
    }

    /// Each question decided by its own kind; see the module docs.
    pub fn decide(
        &self,
        values: &[Value],
        agreement: f64,
        target: i64,
        max_overlap: i64,
    ) -> Decision {
        let votes: BTreeMap<String, u32> = count_votes(values);
        let mut resolved = Map::new();
        let mut confidence = 1.0f64;
        let mut more = false;
        for q in &self.questions {
            let parts: Vec<Value> = values
                .iter()
                .filter_map(|v| v.get(&q.name).cloned())
                .collect();
            match super::decide(&q.schema, &parts, agreement, target, max_overlap) {
                Decision::Resolved {
                    value,
                    confidence: c,
                    ..
                } => {
                    resolved.insert(q.name.clone(), value);
                    confidence = confidence.min(c);
                }
                Decision::Adjudicate { .. } => return Decision::Adjudicate { votes },
                Decision::MoreLabels { .. } => more = true,
            }
        }
        if more {
            return Decision::MoreLabels { votes };
        }
        Decision::Resolved {
            value: Value::Object(resolved),
            method: "per_question",
            confidence,
            votes,
        }
    }
}

/// A sub-schema's message without its own `schema: ` prefix.
fn strip(e: &str) -> &str {
    e.strip_prefix("schema: ").unwrap_or(e)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> LabelSchema {
        LabelSchema::parse(&json!({"kind": "questions", "questions": [
            {"name": "sentiment", "schema": {"kind": "single_choice", "options": [
                {"value": "pos", "label": "Positive"}, {"value": "neg", "label": "Negative"}]}},
            {"name": "entities", "schema": {"kind": "spans", "field": "text",
                "labels": [{"value": "PER", "label": "Person"}]}},
            {"name": "comment", "prompt": "Anything odd?", "schema": {"kind": "free_text"}}]}))
        .unwrap()
    }

    #[test]
    fn bad_schemas_name_the_question() {
        for (bad, why) in [
            (json!({"kind": "questions", "questions": []}), "1 to 10"),
            (
                json!({"kind": "questions", "questions": [{"name": "A b", "schema": {"kind": "free_text"}}]}),
                "question 1: the name",
            ),
            (
                json!({"kind": "questions", "questions": [{"name": "a", "schema": {"kind": "free_text"}}, {"name": "a", "schema": {"kind": "free_text"}}]}),
                "appears twice",
            ),
            (
                json!({"kind": "questions", "questions": [{"name": "a", "schema": {"kind": "questions", "questions": []}}]}),
                "cannot nest",
            ),
            (
                json!({"kind": "questions", "questions": [{"name": "r", "schema": {"kind": "rating", "min": 5, "max": 1}}]}),
                "question 1 (r)",
            ),
            (
                json!({"kind": "questions", "questions": [
                {"name": "a", "schema": {"kind": "spans", "labels": [{"value": "X", "label": "X"}]}},
                {"name": "b", "schema": {"kind": "boxes", "labels": [{"value": "Y", "label": "Y"}]}}]}),
                "at most one question",
            ),
        ] {
            let e = LabelSchema::parse(&bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn an_answer_needs_every_question_and_each_part_is_checked() {
        let s = schema();
        let ok = json!({"sentiment": "pos", "entities": [], "comment": " fine "});
        assert_eq!(
            s.check_value(&ok).unwrap(),
            json!({"sentiment": "pos", "entities": [], "comment": "fine"})
        );
        for (bad, why) in [
            (
                json!({"sentiment": "pos", "entities": []}),
                "value.comment: missing",
            ),
            (
                json!({"sentiment": "meh", "entities": [], "comment": "x"}),
                "value.sentiment:",
            ),
            (
                json!({"sentiment": "pos", "entities": [], "comment": "x", "extra": 1}),
                "value.extra",
            ),
            (json!("pos"), "an object"),
        ] {
            let e = s.check_value(&bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        // Offsets are checked against the item's text, naming the question.
        let v = s
            .check_value(&json!({"sentiment": "pos", "entities": [{"start": 0, "end": 9, "label": "PER"}], "comment": "x"}))
            .unwrap();
        let e =
            crate::domain::kinds::check_against_item(&s, &v, &json!({"text": "Ada"})).unwrap_err();
        assert!(e.starts_with("value.entities:"), "{e}");
    }

    #[test]
    fn each_question_resolves_by_its_kind_as_in_the_worked_example() {
        let s = schema();
        let per = json!([{"start": 0, "end": 3, "label": "PER"}]);
        let a = json!({"sentiment": "pos", "entities": per, "comment": "ok"});
        let b = json!({"sentiment": "pos", "entities": per, "comment": "ok"});
        let c = json!({"sentiment": "neg", "entities": [], "comment": "ok"});
        match crate::domain::kinds::decide(&s, &[a.clone(), b, c], 0.5, 3, 3) {
            Decision::Resolved {
                value,
                method,
                confidence,
                ..
            } => {
                assert_eq!(
                    value,
                    json!({"sentiment": "pos", "entities": per, "comment": "ok"})
                );
                assert_eq!(method, "per_question");
                assert!((confidence - 2.0 / 3.0).abs() < 1e-9, "{confidence}");
            }
            other => panic!("{other:?}"),
        }
        let d = json!({"sentiment": "neg", "entities": per, "comment": "ok"});
        assert!(matches!(
            crate::domain::kinds::decide(&s, &[a, d], 0.5, 2, 2),
            Decision::Adjudicate { .. }
        ));
        assert_eq!(
            s.display(&json!({"sentiment": "pos", "entities": [], "comment": "ok"})),
            "sentiment: Positive; entities: (no entities); comment: ok"
        );
    }
}
