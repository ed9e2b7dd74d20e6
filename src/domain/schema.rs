//! Label schemas and the validation of every submitted value against them.
//!
//! Parse, don't validate: a [`LabelSchema`] only exists once [`LabelSchema::parse`] accepted it,
//! and [`LabelSchema::check_value`] turns raw JSON into a value known to fit.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::kinds::{
    boxes::BoxesSpec, pairwise::PairwiseSpec, questions::QuestionsSpec, rating::RatingSpec,
    spans::SpansSpec,
};

/// Keys the labeling page keeps for itself; an option cannot use them as its hotkey.
pub const RESERVED_KEYS: &[&str] = &["s", "S", "?", "Enter", "Backspace", " "];
pub const MAX_OPTIONS: usize = 50;
pub const MAX_FREE_TEXT: usize = 10_000;

/// One choice of a single- or multi-choice schema.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    /// What is stored and exported.
    pub value: String,
    /// What raters see.
    pub label: String,
    /// A single key that picks this option on the labeling page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hotkey: Option<String>,
    /// A `#rrggbb` colour for the option's button.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    /// A retired option is kept for the labels that already use it but no longer offered to
    /// raters or reviewers, and new answers may not use it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retired: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LabelSchema {
    SingleChoice {
        options: Vec<ChoiceOption>,
    },
    MultiChoice {
        options: Vec<ChoiceOption>,
    },
    FreeText {
        #[serde(default = "default_max_length")]
        max_length: usize,
    },
    /// A 1..N scale with anchors (see `domain::kinds::rating`).
    Rating(RatingSpec),
    /// A preference between two candidates (see `domain::kinds::pairwise`).
    Pairwise(PairwiseSpec),
    /// Entity spans over a text field (see `domain::kinds::spans`).
    Spans(SpansSpec),
    /// Labeled rectangles on an image field (see `domain::kinds::boxes`).
    Boxes(BoxesSpec),
    /// Several questions per item, each of its own kind (see `domain::kinds::questions`).
    Questions(QuestionsSpec),
}

/// A colour as `#1a2b3c`.
pub fn is_hex_colour(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|ch| ch.is_ascii_hexdigit())
}

fn default_max_length() -> usize {
    1000
}

impl LabelSchema {
    /// Parses and checks a schema given as JSON.
    pub fn parse(v: &Value) -> Result<LabelSchema, String> {
        let schema: LabelSchema =
            serde_json::from_value(v.clone()).map_err(|e| format!("schema: {e}"))?;
        schema.check()?;
        Ok(schema)
    }

    /// The checks `parse` runs, for a schema already deserialised (a question's).
    pub(crate) fn check_parsed(&self) -> Result<(), String> {
        self.check()
    }

    fn check(&self) -> Result<(), String> {
        match self {
            LabelSchema::SingleChoice { options } | LabelSchema::MultiChoice { options } => {
                if options.is_empty() || options.len() > MAX_OPTIONS {
                    return Err(format!(
                        "schema: a choice schema has 1 to {MAX_OPTIONS} options"
                    ));
                }
                if options.iter().all(|o| o.retired) {
                    return Err("schema: at least one option must be offered (not retired)".into());
                }
                let mut values = std::collections::HashSet::new();
                let mut keys = std::collections::HashSet::new();
                for (i, o) in options.iter().enumerate() {
                    let n = i + 1;
                    if o.value.is_empty() || o.value.chars().count() > 100 || o.value.contains('\0')
                    {
                        return Err(format!(
                            "schema: option {n}: the value has 1 to 100 characters"
                        ));
                    }
                    if o.label.trim().is_empty() || o.label.chars().count() > 200 {
                        return Err(format!(
                            "schema: option {n}: the label has 1 to 200 characters"
                        ));
                    }
                    if !values.insert(o.value.as_str()) {
                        return Err(format!(
                            "schema: option {n}: the value {:?} appears twice",
                            o.value
                        ));
                    }
                    if let Some(k) = &o.hotkey {
                        if k.chars().count() != 1
                            || RESERVED_KEYS.contains(&k.as_str())
                            || k.chars().any(char::is_control)
                        {
                            return Err(format!(
                                "schema: option {n}: the hotkey must be one key other than S, ?, Enter, Backspace and space"
                            ));
                        }
                        // Number keys 1–9 always pick the offered options by position, so
                        // a digit hotkey may only repeat the option's own number.
                        if let Some(d) = k.chars().next().and_then(|c| c.to_digit(10))
                            && !o.retired
                            && (1..=9).contains(&d)
                        {
                            let own = options[..i].iter().filter(|p| !p.retired).count() + 1;
                            if d as usize != own {
                                return Err(format!(
                                    "schema: option {n}: the hotkey {k:?} is the number key of offered option {d}; use a letter, or {own}"
                                ));
                            }
                        }
                        if !keys.insert(k.to_lowercase()) {
                            return Err(format!(
                                "schema: option {n}: the hotkey {k:?} appears twice"
                            ));
                        }
                    }
                    if let Some(c) = &o.color
                        && !is_hex_colour(c)
                    {
                        return Err(format!(
                            "schema: option {n}: the colour must look like #1a2b3c"
                        ));
                    }
                }
                Ok(())
            }
            LabelSchema::FreeText { max_length } => {
                if !(1..=MAX_FREE_TEXT).contains(max_length) {
                    return Err(format!("schema: max_length is 1 to {MAX_FREE_TEXT}"));
                }
                Ok(())
            }
            LabelSchema::Rating(s) => s.check(),
            LabelSchema::Pairwise(s) => s.check(),
            LabelSchema::Spans(s) => s.check(),
            LabelSchema::Boxes(s) => s.check(),
            LabelSchema::Questions(s) => s.check(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            LabelSchema::SingleChoice { .. } => "single_choice",
            LabelSchema::MultiChoice { .. } => "multi_choice",
            LabelSchema::FreeText { .. } => "free_text",
            LabelSchema::Rating(_) => "rating",
            LabelSchema::Pairwise(_) => "pairwise",
            LabelSchema::Spans(_) => "spans",
            LabelSchema::Boxes(_) => "boxes",
            LabelSchema::Questions(_) => "questions",
        }
    }

    pub fn options(&self) -> &[ChoiceOption] {
        match self {
            LabelSchema::SingleChoice { options } | LabelSchema::MultiChoice { options } => options,
            _ => &[],
        }
    }

    /// Checks a label value and returns it in canonical form (multi-choice values sorted in
    /// schema order, so equal answers compare equal).
    pub fn check_value(&self, v: &Value) -> Result<Value, String> {
        match self {
            LabelSchema::SingleChoice { options } => {
                let s = v
                    .as_str()
                    .ok_or("the value must be a string naming one option")?;
                match options.iter().find(|o| o.value == s) {
                    Some(o) if o.retired => Err(format!("{s:?} is retired and no longer accepted")),
                    Some(_) => Ok(Value::String(s.to_string())),
                    None => Err(format!("{s:?} is not one of the options")),
                }
            }
            LabelSchema::MultiChoice { options } => {
                let arr = v
                    .as_array()
                    .ok_or("the value must be an array of options")?;
                let mut picked = Vec::with_capacity(arr.len());
                for x in arr {
                    let s = x
                        .as_str()
                        .ok_or("every element must be a string naming an option")?;
                    match options.iter().find(|o| o.value == s) {
                        None => return Err(format!("{s:?} is not one of the options")),
                        Some(o) if o.retired => {
                            return Err(format!("{s:?} is retired and no longer accepted"));
                        }
                        Some(_) => {}
                    }
                    if picked.contains(&s) {
                        return Err(format!("{s:?} is chosen twice"));
                    }
                    picked.push(s);
                }
                let ordered = options
                    .iter()
                    .filter(|o| picked.contains(&o.value.as_str()))
                    .map(|o| Value::String(o.value.clone()))
                    .collect();
                Ok(Value::Array(ordered))
            }
            LabelSchema::FreeText { max_length } => {
                let s = v.as_str().ok_or("the value must be a string")?;
                let t = s.trim();
                if t.is_empty() {
                    return Err("the answer is empty".into());
                }
                if t.chars().count() > *max_length {
                    return Err(format!("the answer is longer than {max_length} characters"));
                }
                if t.contains('\0') {
                    return Err("the answer contains a NUL character".into());
                }
                Ok(Value::String(t.to_string()))
            }
            LabelSchema::Rating(s) => s.check_value(v),
            LabelSchema::Pairwise(s) => s.check_value(v),
            LabelSchema::Spans(s) => s.check_value(v),
            LabelSchema::Boxes(s) => s.check_value(v),
            LabelSchema::Questions(s) => s.check_value(v),
        }
    }
}

impl LabelSchema {
    /// A stored value as people read it: option labels instead of values (`Positive` for `pos`,
    /// `Cat, Dog` for a multiple choice), free text as it is. Anything that does not fit the
    /// schema (an old or foreign value) is shown as its JSON.
    pub fn display(&self, v: &Value) -> String {
        let label = |s: &str| {
            self.options()
                .iter()
                .find(|o| o.value == s)
                .map(|o| o.label.clone())
        };
        match (self, v) {
            (LabelSchema::Rating(s), v) => s.display(v),
            (LabelSchema::Pairwise(s), v) => s.display(v),
            (LabelSchema::Spans(s), v) => s.display(v),
            (LabelSchema::Boxes(s), v) => s.display(v),
            (LabelSchema::Questions(s), v) => s.display(v),
            (LabelSchema::FreeText { .. }, Value::String(s)) => s.clone(),
            (LabelSchema::SingleChoice { .. }, Value::String(s)) => {
                label(s).unwrap_or_else(|| s.clone())
            }
            (LabelSchema::MultiChoice { .. }, Value::Array(a)) => {
                if a.is_empty() {
                    return "(none)".into();
                }
                a.iter()
                    .map(|x| match x {
                        Value::String(s) => label(s).unwrap_or_else(|| s.clone()),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            }
            (_, other) => other.to_string(),
        }
    }

    /// The options raters and reviewers are offered (not retired), in order.
    pub fn offered(&self) -> impl Iterator<Item = &ChoiceOption> {
        self.options().iter().filter(|o| !o.retired)
    }

    /// Checks that `next` may replace `self` on a task that already has labels: the kind stays,
    /// every option that exists stays (it may be renamed, recoloured, given another hotkey or
    /// retired), new options may be added, and at least one option stays offered. A free-text
    /// limit may grow but not shrink below answers already given.
    pub fn evolve_to(&self, next: &LabelSchema) -> Result<(), String> {
        if self.kind() != next.kind() {
            return Err(format!(
                "schema: the kind cannot change from {} to {} once labels exist; create a new task",
                self.kind(),
                next.kind()
            ));
        }
        match (self, next) {
            (LabelSchema::FreeText { max_length: a }, LabelSchema::FreeText { max_length: b }) => {
                if b < a {
                    return Err(format!(
                        "schema: max_length can only grow once labels exist (it is {a})"
                    ));
                }
                Ok(())
            }
            (LabelSchema::Rating(a), LabelSchema::Rating(b)) => a.evolve_to(b),
            (LabelSchema::Pairwise(_), LabelSchema::Pairwise(_)) => Ok(()),
            (LabelSchema::Spans(a), LabelSchema::Spans(b)) => a.evolve_to(b),
            (LabelSchema::Boxes(a), LabelSchema::Boxes(b)) => a.evolve_to(b),
            (LabelSchema::Questions(a), LabelSchema::Questions(b)) => a.evolve_to(b),
            _ => {
                for o in self.options() {
                    if !next.options().iter().any(|n| n.value == o.value) {
                        return Err(format!(
                            "schema: option {:?} cannot be removed once labels exist; retire it instead (it stays on existing labels but is no longer offered)",
                            o.value
                        ));
                    }
                }
                if next.offered().next().is_none() {
                    return Err(
                        "schema: at least one option must stay offered (not retired)".into(),
                    );
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn choice(options: Value) -> LabelSchema {
        LabelSchema::parse(&json!({"kind": "single_choice", "options": options})).unwrap()
    }

    #[test]
    fn a_digit_hotkey_may_only_repeat_its_own_number() {
        assert!(
            LabelSchema::parse(&json!({"kind": "single_choice", "options": [
                {"value": "a", "label": "A", "hotkey": "2"}, {"value": "b", "label": "B"}]}))
            .unwrap_err()
            .contains("number key of offered option 2")
        );
        choice(
            json!([{"value": "a", "label": "A", "hotkey": "1"}, {"value": "b", "label": "B", "hotkey": "x"}]),
        );
    }

    #[test]
    fn the_label_set_may_grow_be_renamed_and_retire_options() {
        let old = choice(
            json!([{"value": "pos", "label": "Positive"}, {"value": "neg", "label": "Negative"}]),
        );
        let grown = choice(
            json!([{"value": "pos", "label": "Good"}, {"value": "neg", "label": "Negative", "retired": true},
            {"value": "neu", "label": "Neutral"}]),
        );
        old.evolve_to(&grown).unwrap();
        // A retired option is no longer accepted, but still shown by its label.
        assert!(
            grown
                .check_value(&json!("neg"))
                .unwrap_err()
                .contains("retired")
        );
        assert_eq!(grown.check_value(&json!("neu")).unwrap(), json!("neu"));
        assert_eq!(grown.display(&json!("neg")), "Negative");
        assert_eq!(
            grown
                .offered()
                .map(|o| o.value.as_str())
                .collect::<Vec<_>>(),
            ["pos", "neu"]
        );
        // Removing one, or changing the kind, is refused with the reason.
        let removed = choice(json!([{"value": "pos", "label": "Positive"}]));
        assert!(
            old.evolve_to(&removed)
                .unwrap_err()
                .contains("retire it instead")
        );
        let multi = LabelSchema::parse(&json!({"kind": "multi_choice", "options": [
            {"value": "pos", "label": "P"}, {"value": "neg", "label": "N"}]}))
        .unwrap();
        assert!(
            old.evolve_to(&multi)
                .unwrap_err()
                .contains("kind cannot change")
        );
        // Every option retired: refused.
        assert!(
            LabelSchema::parse(&json!({"kind": "single_choice", "options": [
            {"value": "a", "label": "A", "retired": true}]}))
            .is_err()
        );
    }

    #[test]
    fn values_display_with_their_labels() {
        let s = LabelSchema::parse(&json!({"kind": "multi_choice", "options": [
            {"value": "cat", "label": "Cat"}, {"value": "dog", "label": "Dog"}]}))
        .unwrap();
        assert_eq!(s.display(&json!(["cat", "dog"])), "Cat, Dog");
        assert_eq!(s.display(&json!([])), "(none)");
        assert_eq!(s.display(&json!(["owl"])), "owl");
    }

    fn sentiment() -> LabelSchema {
        LabelSchema::parse(&json!({"kind": "single_choice", "options": [
            {"value": "pos", "label": "Positive", "hotkey": "1", "color": "#22aa55"},
            {"value": "neg", "label": "Negative", "hotkey": "2"}]}))
        .unwrap()
    }

    #[test]
    fn single_choice_values() {
        let s = sentiment();
        assert_eq!(s.check_value(&json!("pos")).unwrap(), json!("pos"));
        assert!(s.check_value(&json!("neutral")).is_err());
        assert!(s.check_value(&json!(1)).is_err());
        assert!(s.check_value(&json!(["pos"])).is_err());
    }

    #[test]
    fn multi_choice_is_canonical_and_unique() {
        let s = LabelSchema::parse(&json!({"kind": "multi_choice", "options": [
            {"value": "a", "label": "A"}, {"value": "b", "label": "B"}, {"value": "c", "label": "C"}]}))
        .unwrap();
        assert_eq!(
            s.check_value(&json!(["c", "a"])).unwrap(),
            json!(["a", "c"])
        );
        assert_eq!(s.check_value(&json!([])).unwrap(), json!([]));
        assert!(s.check_value(&json!(["a", "a"])).is_err());
        assert!(s.check_value(&json!(["z"])).is_err());
        assert!(s.check_value(&json!("a")).is_err());
    }

    #[test]
    fn free_text_limits() {
        let s = LabelSchema::parse(&json!({"kind": "free_text", "max_length": 5})).unwrap();
        assert_eq!(s.check_value(&json!(" hi ")).unwrap(), json!("hi"));
        assert!(s.check_value(&json!("toolong")).is_err());
        assert!(s.check_value(&json!("   ")).is_err());
        assert!(s.check_value(&json!("a\0b")).is_err());
    }

    #[test]
    fn bad_schemas_are_refused_with_a_reason() {
        for (bad, why) in [
            (json!({"kind": "single_choice", "options": []}), "1 to"),
            (
                json!({"kind": "single_choice", "options": [{"value": "a", "label": "A"}, {"value": "a", "label": "B"}]}),
                "twice",
            ),
            (
                json!({"kind": "single_choice", "options": [{"value": "a", "label": "A", "hotkey": "s"}]}),
                "hotkey",
            ),
            (
                json!({"kind": "single_choice", "options": [{"value": "a", "label": "A", "hotkey": "x"}, {"value": "b", "label": "B", "hotkey": "X"}]}),
                "twice",
            ),
            (
                json!({"kind": "single_choice", "options": [{"value": "a", "label": "A", "color": "red;background:url(x)"}]}),
                "colour",
            ),
            (json!({"kind": "spans"}), "schema"),
            (json!({"kind": "free_text", "max_length": 0}), "max_length"),
            (
                json!({"kind": "single_choice", "options": [{"value": "a", "label": "A", "role": "admin"}]}),
                "unknown field",
            ),
        ] {
            let err = LabelSchema::parse(&bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
