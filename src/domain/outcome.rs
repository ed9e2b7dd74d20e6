//! Direct labels (issue 12): ground truth observed later in production. How one entry of
//! `POST /api/v1/tasks/{id}/outcomes` (or a line of `quorum outcomes`) is read and checked, what
//! a task does with direct labels, where an exported label came from, and how often two label
//! sources agree on the items they share. Pure: no I/O.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use crate::domain::schema::LabelSchema;

/// What a task does with a direct label.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DirectLabels {
    /// The item needs no human labels: it is resolved with the direct value (`direct`) and
    /// leases stop handing it out.
    Standalone,
    /// The direct label scores raters as a gold answer would; human labels still resolve it.
    Gold,
    /// Human consensus is kept; where it disagrees with the direct label the item goes to
    /// adjudication (the default).
    #[default]
    Compare,
}

impl DirectLabels {
    pub const ALL: [DirectLabels; 3] = [
        DirectLabels::Standalone,
        DirectLabels::Gold,
        DirectLabels::Compare,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DirectLabels::Standalone => "standalone",
            DirectLabels::Gold => "gold",
            DirectLabels::Compare => "compare",
        }
    }

    pub fn parse(s: &str) -> Option<DirectLabels> {
        DirectLabels::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Where an exported row's final label came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LabelSource {
    /// The raters' answers, by the online rule or an aggregation engine.
    Consensus,
    /// A reviewer's decision.
    Adjudicated,
    /// A gold item's known answer.
    Gold,
    /// A direct label observed in production.
    Direct,
}

impl LabelSource {
    /// The source of a resolution recorded with `method`.
    pub fn of_method(method: &str) -> LabelSource {
        match method {
            "adjudicated" => LabelSource::Adjudicated,
            "gold" => LabelSource::Gold,
            "direct" => LabelSource::Direct,
            _ => LabelSource::Consensus,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LabelSource::Consensus => "consensus",
            LabelSource::Adjudicated => "adjudicated",
            LabelSource::Gold => "gold",
            LabelSource::Direct => "direct",
        }
    }
}

/// One checked outcome.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub external_id: String,
    /// In the schema's canonical form.
    pub value: Value,
    pub source: String,
    /// Milliseconds since the epoch.
    pub observed_at: i64,
}

/// The longest source name.
pub const MAX_SOURCE: usize = 100;

/// Reads one outcome `{"external_id", "value", "source", "observed_at"}`; `what` names it in
/// messages (`outcomes[3]`). `observed_at` is an RFC 3339 time or milliseconds since the epoch;
/// absent, it is `now`. The value is checked against the task's schema (offsets of spans and
/// boxes against the item's data are the caller's, once the item is known).
pub fn parse(v: &Value, schema: &LabelSchema, what: &str, now: i64) -> Result<Outcome, String> {
    let obj = v.as_object().ok_or_else(|| {
        format!("{what}: expected an object with external_id, value, source and observed_at")
    })?;
    if let Some(k) = obj.keys().find(|k| {
        !matches!(
            k.as_str(),
            "external_id" | "value" | "source" | "observed_at"
        )
    }) {
        return Err(format!("{what}: unknown field {k:?}"));
    }
    let external_id = match obj.get("external_id") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(format!("{what}.external_id: missing (a non-empty string)")),
    };
    let value = obj
        .get("value")
        .filter(|v| !v.is_null())
        .ok_or_else(|| format!("{what}.value: missing"))?;
    let value = schema
        .check_value(value)
        .map_err(|e| format!("{what}.value: {e}"))?;
    let source = match obj.get("source") {
        Some(Value::String(s))
            if !s.trim().is_empty()
                && s.trim().chars().count() <= MAX_SOURCE
                && !s.chars().any(char::is_control) =>
        {
            s.trim().to_string()
        }
        _ => {
            return Err(format!(
                "{what}.source: must be a string of 1 to {MAX_SOURCE} printable characters (where the label was observed, e.g. \"billing\")"
            ));
        }
    };
    let observed_at = match obj.get("observed_at") {
        None | Some(Value::Null) => now,
        Some(t) => observed_at(t).map_err(|e| format!("{what}.observed_at: {e}"))?,
    };
    Ok(Outcome {
        external_id,
        value,
        source,
        observed_at,
    })
}

/// An RFC 3339 time (`2026-11-30T12:00:00Z`) or whole milliseconds since the epoch, from 1970
/// to 9999.
fn observed_at(t: &Value) -> Result<i64, String> {
    const MAX_MS: i64 = 253_402_300_799_999;
    let ms = match t {
        Value::String(s) => {
            let at = OffsetDateTime::parse(s.trim(), &Rfc3339).map_err(|_| {
                format!("{s:?} is not an RFC 3339 time such as 2026-11-30T12:00:00Z")
            })?;
            i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(-1)
        }
        Value::Number(n) => n
            .as_i64()
            .ok_or("milliseconds since the epoch must be a whole number")?,
        _ => return Err("an RFC 3339 time or milliseconds since the epoch".into()),
    };
    if !(0..=MAX_MS).contains(&ms) {
        return Err("must lie between 1970 and 9999".into());
    }
    Ok(ms)
}

/// Whether two stored label values say the same (a preference's reason aside).
pub fn same_label(schema: &LabelSchema, a: &str, b: &str) -> bool {
    let class =
        |j: &str| crate::domain::kinds::class_json(schema, j).unwrap_or_else(|| j.to_string());
    a == b || class(a) == class(b)
}

/// How often two label sources agree on the items they share.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SourceAgreement {
    /// `consensus`, `direct`, or `model:version`.
    pub a: String,
    pub b: String,
    /// Items both label.
    pub shared: u64,
    /// Share of those where they say the same (`null` when none are shared).
    pub agreement: Option<f64>,
}

/// Every pair of sources (in the order given), each a map from item to its stored value.
pub fn pairwise(
    schema: &LabelSchema,
    sources: &[(String, HashMap<i64, String>)],
) -> Vec<SourceAgreement> {
    let mut out = Vec::new();
    for (i, (a, va)) in sources.iter().enumerate() {
        for (b, vb) in &sources[i + 1..] {
            let (small, large) = if va.len() <= vb.len() {
                (va, vb)
            } else {
                (vb, va)
            };
            let (mut shared, mut same) = (0u64, 0u64);
            for (item, x) in small {
                if let Some(y) = large.get(item) {
                    shared += 1;
                    if same_label(schema, x, y) {
                        same += 1;
                    }
                }
            }
            out.push(SourceAgreement {
                a: a.clone(),
                b: b.clone(),
                shared,
                agreement: (shared > 0).then(|| same as f64 / shared as f64),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> LabelSchema {
        LabelSchema::parse(&json!({"kind": "single_choice", "options": [
            {"value": "pos", "label": "P"}, {"value": "neg", "label": "N"}]}))
        .unwrap()
    }

    #[test]
    fn an_outcome_is_read_and_checked() {
        let o = parse(
            &json!({"external_id": " a1 ", "value": "pos", "source": "billing",
                "observed_at": "2026-11-30T12:00:00Z"}),
            &schema(),
            "outcomes[0]",
            5,
        )
        .unwrap();
        assert_eq!(o.external_id, "a1");
        assert_eq!(o.value, json!("pos"));
        assert_eq!(o.observed_at, 1_796_040_000_000);
        let o = parse(
            &json!({"external_id": 7, "value": "neg", "source": "s"}),
            &schema(),
            "x",
            5,
        )
        .unwrap();
        assert_eq!((o.external_id.as_str(), o.observed_at), ("7", 5));
        let ms = parse(
            &json!({"external_id": "a", "value": "neg", "source": "s", "observed_at": 1000}),
            &schema(),
            "x",
            5,
        )
        .unwrap();
        assert_eq!(ms.observed_at, 1000);
    }

    #[test]
    fn bad_entries_name_their_field() {
        let cases = [
            (json!("pos"), "outcomes[2]: expected an object"),
            (
                json!({"value": "pos", "source": "s"}),
                "outcomes[2].external_id",
            ),
            (
                json!({"external_id": "a", "source": "s"}),
                "outcomes[2].value: missing",
            ),
            (
                json!({"external_id": "a", "value": "maybe", "source": "s"}),
                "outcomes[2].value",
            ),
            (
                json!({"external_id": "a", "value": "pos"}),
                "outcomes[2].source",
            ),
            (
                json!({"external_id": "a", "value": "pos", "source": ""}),
                "outcomes[2].source",
            ),
            (
                json!({"external_id": "a", "value": "pos", "source": "s", "observed_at": "yesterday"}),
                "outcomes[2].observed_at",
            ),
            (
                json!({"external_id": "a", "value": "pos", "source": "s", "observed_at": -5}),
                "outcomes[2].observed_at",
            ),
            (
                json!({"external_id": "a", "value": "pos", "source": "s", "observed_at": true}),
                "outcomes[2].observed_at",
            ),
            (
                json!({"external_id": "a", "value": "pos", "source": "s", "x": 1}),
                "unknown field \"x\"",
            ),
        ];
        for (v, needle) in cases {
            let e = parse(&v, &schema(), "outcomes[2]", 0).unwrap_err();
            assert!(e.contains(needle), "{v}: {e}");
        }
    }

    #[test]
    fn modes_and_sources_round_trip() {
        for m in DirectLabels::ALL {
            assert_eq!(DirectLabels::parse(m.as_str()), Some(m));
            assert_eq!(serde_json::to_value(m).unwrap(), json!(m.as_str()));
        }
        assert_eq!(DirectLabels::default(), DirectLabels::Compare);
        assert_eq!(DirectLabels::parse("Gold"), None);
        for (method, source) in [
            ("majority", "consensus"),
            ("dawid_skene", "consensus"),
            ("unanimous", "consensus"),
            ("adjudicated", "adjudicated"),
            ("gold", "gold"),
            ("direct", "direct"),
        ] {
            assert_eq!(LabelSource::of_method(method).as_str(), source);
        }
    }

    #[test]
    fn sources_agree_on_the_items_they_share() {
        let m = |pairs: &[(i64, &str)]| -> HashMap<i64, String> {
            pairs
                .iter()
                .map(|(i, v)| (*i, format!("\"{v}\"")))
                .collect()
        };
        let sources = vec![
            (
                "consensus".to_string(),
                m(&[(1, "pos"), (2, "neg"), (3, "pos")]),
            ),
            (
                "direct".to_string(),
                m(&[(1, "pos"), (2, "pos"), (9, "neg")]),
            ),
            ("clf:3".to_string(), m(&[(7, "pos")])),
        ];
        let t = pairwise(&schema(), &sources);
        assert_eq!(t.len(), 3);
        assert_eq!(
            (t[0].a.as_str(), t[0].b.as_str(), t[0].shared),
            ("consensus", "direct", 2)
        );
        assert_eq!(t[0].agreement, Some(0.5));
        assert_eq!((t[1].shared, t[1].agreement), (0, None));
        assert_eq!(t[2].b, "clf:3");
    }

    #[test]
    fn a_preference_agrees_whatever_its_reason() {
        let s = LabelSchema::parse(&json!({"kind": "pairwise", "prompt_field": "p",
            "a_field": "a", "b_field": "b"}))
        .unwrap();
        assert!(same_label(&s, r#"{"choice":"A","reason":"x"}"#, "\"A\""));
        assert!(!same_label(&s, "\"B\"", "\"A\""));
    }
}
