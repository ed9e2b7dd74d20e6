//! `spans`: entity labels over a text field. Offsets count Unicode scalar values (Rust `char`s,
//! Python `str` indices; not UTF-16 units, not bytes), `end` exclusive.
//!
//! Owns the schema's labels, the value check (also against the item's text), the tokenizer
//! the exports and token-level agreement use, resolution by overlap-matched span votes, and
//! span-level F1 between raters. Formulas and worked examples are in `docs/label-kinds.md`.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::domain::resolve::{Decision, count_votes};
use crate::domain::schema::RESERVED_KEYS;

pub const MAX_LABELS: usize = 50;
pub const MAX_SPANS: usize = 1000;

fn text() -> String {
    "text".into()
}

/// One entity label.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpanLabel {
    pub value: String,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hotkey: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// Entity labels over one text field of the item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpansSpec {
    #[serde(default = "text")]
    pub field: String,
    pub labels: Vec<SpanLabel>,
    /// Whether spans may overlap or nest.
    #[serde(default)]
    pub allow_overlap: bool,
}

/// One marked span.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub label: String,
}

impl Span {
    pub fn overlaps(&self, o: &Span) -> bool {
        self.start < o.end && o.start < self.end
    }
    fn overlap_len(&self, o: &Span) -> usize {
        self.end.min(o.end).saturating_sub(self.start.max(o.start))
    }
}

/// Keys the spans page keeps for moving and deleting.
const SPAN_KEYS: &[&str] = &["[", "]", "0", "x", "X"];

impl SpansSpec {
    pub fn check(&self) -> Result<(), String> {
        if self.field.trim().is_empty() || self.field.chars().count() > 100 {
            return Err("schema: field: a field name has 1 to 100 characters".into());
        }
        if self.labels.is_empty() || self.labels.len() > MAX_LABELS {
            return Err(format!("schema: labels: 1 to {MAX_LABELS} entity labels"));
        }
        let mut values = HashSet::new();
        let mut keys = HashSet::new();
        for (i, l) in self.labels.iter().enumerate() {
            let n = i + 1;
            if l.value.trim().is_empty()
                || l.value.chars().count() > 100
                || l.value.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(format!(
                    "schema: labels: label {n}: the value has 1 to 100 characters and no spaces"
                ));
            }
            if l.label.trim().is_empty() || l.label.chars().count() > 200 {
                return Err(format!(
                    "schema: labels: label {n}: the label has 1 to 200 characters"
                ));
            }
            if !values.insert(l.value.as_str()) {
                return Err(format!(
                    "schema: labels: label {n}: the value {:?} appears twice",
                    l.value
                ));
            }
            if let Some(k) = &l.hotkey {
                let digit = k.chars().next().is_some_and(|c| c.is_ascii_digit());
                if k.chars().count() != 1
                    || RESERVED_KEYS.contains(&k.as_str())
                    || SPAN_KEYS.contains(&k.as_str())
                    || digit
                    || k.chars().any(char::is_control)
                {
                    return Err(format!(
                        "schema: labels: label {n}: the hotkey must be one key other than a digit, S, X, ?, [, ], Enter, Backspace and space"
                    ));
                }
                if !keys.insert(k.to_lowercase()) {
                    return Err(format!(
                        "schema: labels: label {n}: the hotkey {k:?} appears twice"
                    ));
                }
            }
            if let Some(c) = &l.color
                && !crate::domain::schema::is_hex_colour(c)
            {
                return Err(format!(
                    "schema: labels: label {n}: the colour must look like #1a2b3c"
                ));
            }
        }
        Ok(())
    }

    /// The shape of a value: a list of `{"start", "end", "label"}` with `start < end`, known
    /// labels, no duplicates and (unless allowed) no overlaps; sorted. `[]` is "no entities".
    /// The text is checked by [`SpansSpec::check_text`].
    pub fn check_value(&self, v: &Value) -> Result<Value, String> {
        let spans = self.parse(v)?;
        Ok(to_value(&spans))
    }

    fn parse(&self, v: &Value) -> Result<Vec<Span>, String> {
        let arr = v.as_array().ok_or(
            "value: spans are a list of {\"start\", \"end\", \"label\"} ([] for no entities)",
        )?;
        if arr.len() > MAX_SPANS {
            return Err(format!("value: at most {MAX_SPANS} spans"));
        }
        let mut spans = Vec::with_capacity(arr.len());
        for (i, x) in arr.iter().enumerate() {
            let n = i + 1;
            let o = x
                .as_object()
                .ok_or_else(|| format!("value: span {n}: an object with start, end and label"))?;
            if let Some(k) = o
                .keys()
                .find(|k| !matches!(k.as_str(), "start" | "end" | "label"))
            {
                return Err(format!("value: span {n}: unknown field {k:?}"));
            }
            let num = |f: &str| {
                o.get(f).and_then(Value::as_u64).ok_or_else(|| {
                    format!("value: span {n}: {f} must be a whole number of characters from 0")
                })
            };
            let (start, end) = (num("start")?, num("end")?);
            if start >= end {
                return Err(format!(
                    "value: span {n}: start ({start}) must be before end ({end})"
                ));
            }
            let label = o
                .get("label")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("value: span {n}: label must be a string"))?;
            if !self.labels.iter().any(|l| l.value == label) {
                return Err(format!(
                    "value: span {n}: label {label:?} is not one of the entity labels"
                ));
            }
            spans.push(Span {
                start: start as usize,
                end: end as usize,
                label: label.to_string(),
            });
        }
        spans.sort();
        if spans.windows(2).any(|w| w[0] == w[1]) {
            return Err("value: the same span is marked twice".into());
        }
        if !self.allow_overlap {
            for w in spans.windows(2) {
                if w[0].overlaps(&w[1]) {
                    return Err(format!(
                        "value: spans {}..{} and {}..{} overlap, and this task does not allow overlapping spans",
                        w[0].start, w[0].end, w[1].start, w[1].end
                    ));
                }
            }
        }
        Ok(spans)
    }

    /// The item's text (its `field`), if it has one.
    pub fn text_of<'a>(&self, data: &'a Value) -> Option<&'a str> {
        data.get(&self.field).and_then(Value::as_str)
    }

    /// Every span lies within the item's text.
    pub fn check_text(&self, value: &Value, data: &Value) -> Result<(), String> {
        let Some(text) = self.text_of(data) else {
            return Err(format!(
                "value: the item has no text field {:?}",
                self.field
            ));
        };
        let len = text.chars().count();
        for (i, s) in self.parse(value)?.iter().enumerate() {
            if s.end > len {
                return Err(format!(
                    "value: span {}: end {} is past the end of the text ({len} characters)",
                    i + 1,
                    s.end
                ));
            }
        }
        Ok(())
    }

    /// An item of a spans task has its text field.
    pub fn check_item(&self, data: &Map<String, Value>) -> Result<(), String> {
        match data.get(&self.field) {
            Some(Value::String(_)) => Ok(()),
            _ => Err(format!(
                "missing field {:?} (the text to mark; a string)",
                self.field
            )),
        }
    }

    /// Labels may be added, renamed, recoloured once labels exist; none may go.
    pub fn evolve_to(&self, next: &SpansSpec) -> Result<(), String> {
        for l in &self.labels {
            if !next.labels.iter().any(|n| n.value == l.value) {
                return Err(format!(
                    "schema: labels: {:?} cannot be removed once labels exist",
                    l.value
                ));
            }
        }
        if self.allow_overlap && !next.allow_overlap {
            return Err("schema: allow_overlap cannot be turned off once labels exist".into());
        }
        Ok(())
    }

    /// `PER 0–5, ORG 10–14` or `(no entities)`.
    pub fn display(&self, v: &Value) -> String {
        match spans_of(v) {
            Some(s) if s.is_empty() => "(no entities)".into(),
            Some(s) => s
                .iter()
                .map(|s| format!("{} {}–{}", s.label, s.start, s.end))
                .collect::<Vec<_>>()
                .join(", "),
            None => v.to_string(),
        }
    }
}

/// The spans of a stored value (no schema check).
pub fn spans_of(v: &Value) -> Option<Vec<Span>> {
    serde_json::from_value(v.clone()).ok()
}

fn to_value(spans: &[Span]) -> Value {
    Value::Array(
        spans
            .iter()
            .map(|s| json!({"start": s.start, "end": s.end, "label": s.label}))
            .collect(),
    )
}

/// One token: `start..end` in scalar values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    pub start: usize,
    pub end: usize,
}

/// The tokenizer of CoNLL exports and token-level agreement (and of the labeling page, which
/// snaps selections to tokens): a token is a maximal run of alphanumeric characters
/// (`char::is_alphanumeric`: Unicode Alphabetic or Numeric), or any single other character that
/// is not whitespace. `"Dr. O'Neil, 42"` → `Dr` `.` `O` `'` `Neil` `,` `42`.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut run: Option<usize> = None;
    let mut len = 0;
    for (i, c) in text.chars().enumerate() {
        len = i + 1;
        if c.is_alphanumeric() {
            run.get_or_insert(i);
        } else {
            if let Some(s) = run.take() {
                out.push(Token { start: s, end: i });
            }
            if !c.is_whitespace() {
                out.push(Token {
                    start: i,
                    end: i + 1,
                });
            }
        }
    }
    if let Some(s) = run {
        out.push(Token { start: s, end: len });
    }
    out
}

/// BIO tags of the tokens: a token belongs to a span when its first character lies inside it;
/// the span's first such token is `B-`, the rest `I-`. Where spans overlap, the one starting
/// first (then the longest) wins: BIO cannot nest.
pub fn bio(tokens: &[Token], spans: &[Span]) -> Vec<String> {
    let mut order: Vec<&Span> = spans.iter().collect();
    order.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut tags = vec!["O".to_string(); tokens.len()];
    let mut owner: Vec<Option<usize>> = vec![None; tokens.len()];
    for (si, s) in order.iter().enumerate() {
        for (ti, t) in tokens.iter().enumerate() {
            if t.start >= s.start && t.start < s.end && owner[ti].is_none() {
                owner[ti] = Some(si);
            }
        }
    }
    for ti in 0..tokens.len() {
        if let Some(si) = owner[ti] {
            let first = ti == 0 || owner[ti - 1] != Some(si);
            tags[ti] = format!("{}-{}", if first { "B" } else { "I" }, order[si].label);
        }
    }
    tags
}

/// Spans without overlaps (the first starting, then the longest, wins): what NER models take.
pub fn non_overlapping(spans: &[Span]) -> Vec<Span> {
    let mut order: Vec<&Span> = spans.iter().collect();
    order.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    let mut out: Vec<Span> = Vec::new();
    for s in order {
        if out.last().is_none_or(|l| l.end <= s.start) {
            out.push(s.clone());
        }
    }
    out
}

/// A group of raters' spans of one label that overlap: one candidate entity.
#[derive(Clone, Debug)]
struct Cluster {
    label: String,
    anchor: Span,
    members: Vec<(usize, Span)>,
}

/// Groups every rater's spans: per label, in order of (start, end), a span joins the cluster
/// whose first span it overlaps most, if that cluster has no span of the same rater yet;
/// otherwise it starts a cluster.
fn clusters(answers: &[Vec<Span>]) -> Vec<Cluster> {
    let mut all: Vec<(usize, &Span)> = answers
        .iter()
        .enumerate()
        .flat_map(|(r, v)| v.iter().map(move |s| (r, s)))
        .collect();
    all.sort_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(&b.0)));
    let mut out: Vec<Cluster> = Vec::new();
    for (r, s) in all {
        let best = out
            .iter_mut()
            .filter(|c| c.label == s.label && c.anchor.overlaps(s))
            .filter(|c| c.members.iter().all(|m| m.0 != r))
            .max_by_key(|c| c.anchor.overlap_len(s));
        match best {
            Some(c) => c.members.push((r, s.clone())),
            None => out.push(Cluster {
                label: s.label.clone(),
                anchor: s.clone(),
                members: vec![(r, s.clone())],
            }),
        }
    }
    out
}

/// Resolution: raters' spans are matched by overlap (same label); a matched group is kept when
/// at least the agreement threshold of raters marked it, dropped when fewer than one minus the
/// threshold did, and anything between is a conflict (one more rater, then a
/// reviewer). A kept span takes the boundaries most of its raters gave (ties: the earliest,
/// then the shortest). Confidence: the least clear group's max(share, 1 − share); 1 when every
/// rater said "no entities".
pub fn decide(
    spec: &SpansSpec,
    values: &[Value],
    agreement: f64,
    target: i64,
    max_overlap: i64,
) -> Decision {
    let votes = count_votes(values);
    let answers: Vec<Vec<Span>> = values.iter().filter_map(spans_of).collect();
    let more = |votes| {
        if target < max_overlap {
            Decision::MoreLabels { votes }
        } else {
            Decision::Adjudicate { votes }
        }
    };
    let n = answers.len();
    if n == 0 {
        return more(votes);
    }
    let mut kept = Vec::new();
    let mut confidence = 1.0f64;
    for c in clusters(&answers) {
        let share = c.members.len() as f64 / n as f64;
        if share + 1e-12 >= agreement {
            let mut counts: BTreeMap<(usize, usize), usize> = BTreeMap::new();
            for (_, s) in &c.members {
                *counts.entry((s.start, s.end)).or_insert(0) += 1;
            }
            let best = counts.values().copied().max().unwrap_or(0);
            if let Some((&(start, end), _)) = counts.iter().find(|(_, n)| **n == best) {
                kept.push(Span {
                    start,
                    end,
                    label: c.label.clone(),
                });
            }
        } else if share + 1e-12 >= 1.0 - agreement {
            return more(votes);
        }
        confidence = confidence.min(share.max(1.0 - share));
    }
    kept.sort();
    if !spec.allow_overlap && kept.windows(2).any(|w| w[0].overlaps(&w[1])) {
        return more(votes);
    }
    let unanimous = values.windows(2).all(|w| w[0] == w[1]);
    Decision::Resolved {
        value: to_value(&kept),
        method: if unanimous { "unanimous" } else { "majority" },
        confidence,
        votes,
    }
}

/// How two raters' spans on one item match: `(matched, spans of A, spans of B)`.
/// Exact: same start, end and label. Overlap: same label and overlapping, each span matched at
/// most once (largest overlaps first).
pub fn matches(a: &[Span], b: &[Span], exact: bool) -> (usize, usize, usize) {
    if exact {
        let set: HashSet<&Span> = a.iter().collect();
        let m = b.iter().filter(|s| set.contains(s)).count();
        return (m, a.len(), b.len());
    }
    let mut pairs: Vec<(usize, usize, usize)> = Vec::new();
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            if x.label == y.label && x.overlaps(y) {
                pairs.push((x.overlap_len(y), i, j));
            }
        }
    }
    pairs.sort_by(|p, q| q.0.cmp(&p.0).then(p.1.cmp(&q.1)).then(p.2.cmp(&q.2)));
    let (mut used_a, mut used_b) = (vec![false; a.len()], vec![false; b.len()]);
    let mut m = 0;
    for (_, i, j) in pairs {
        if !used_a[i] && !used_b[j] {
            used_a[i] = true;
            used_b[j] = true;
            m += 1;
        }
    }
    (m, a.len(), b.len())
}

/// Span F1 between raters, micro-averaged over every pair of raters on every item:
/// `F1 = 2 Σ matched / Σ (|A| + |B|)`. `None` when nobody marked anything.
pub fn pairwise_f1<'a>(
    items: impl IntoIterator<Item = &'a [Vec<Span>]>,
    exact: bool,
) -> Option<f64> {
    let (mut m, mut total) = (0usize, 0usize);
    for answers in items {
        for (i, a) in answers.iter().enumerate() {
            for b in &answers[i + 1..] {
                let (x, na, nb) = matches(a, b, exact);
                m += x;
                total += na + nb;
            }
        }
    }
    (total > 0).then(|| 2.0 * m as f64 / total as f64)
}

#[cfg(test)]
mod tests;
