//! Label schemas and the validation of every submitted value against them.
//!
//! Parse, don't validate: a [`LabelSchema`] only exists once [`LabelSchema::parse`] accepted it,
//! and [`LabelSchema::check_value`] turns raw JSON into a value known to fit.

use serde::{Deserialize, Serialize};
use serde_json::Value;

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

    fn check(&self) -> Result<(), String> {
        match self {
            LabelSchema::SingleChoice { options } | LabelSchema::MultiChoice { options } => {
                if options.is_empty() || options.len() > MAX_OPTIONS {
                    return Err(format!(
                        "schema: a choice schema has 1 to {MAX_OPTIONS} options"
                    ));
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
                        if !keys.insert(k.to_lowercase()) {
                            return Err(format!(
                                "schema: option {n}: the hotkey {k:?} appears twice"
                            ));
                        }
                    }
                    if let Some(c) = &o.color {
                        let ok = c.len() == 7
                            && c.starts_with('#')
                            && c[1..].chars().all(|ch| ch.is_ascii_hexdigit());
                        if !ok {
                            return Err(format!(
                                "schema: option {n}: the colour must look like #1a2b3c"
                            ));
                        }
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
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            LabelSchema::SingleChoice { .. } => "single_choice",
            LabelSchema::MultiChoice { .. } => "multi_choice",
            LabelSchema::FreeText { .. } => "free_text",
        }
    }

    pub fn options(&self) -> &[ChoiceOption] {
        match self {
            LabelSchema::SingleChoice { options } | LabelSchema::MultiChoice { options } => options,
            LabelSchema::FreeText { .. } => &[],
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
                if options.iter().any(|o| o.value == s) {
                    Ok(Value::String(s.to_string()))
                } else {
                    Err(format!("{s:?} is not one of the options"))
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
                    if !options.iter().any(|o| o.value == s) {
                        return Err(format!("{s:?} is not one of the options"));
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
