//! A task's item layout: how an item's data is shown to raters. Which fields are text (each with
//! an optional heading), which one is an image URL, which are side information (a small
//! key/value table), which are hidden from raters (left out of everything they are sent, kept in
//! exports), and on pairwise tasks the headings of the prompt and the two candidates.
//!
//! The empty layout is the default one: `text` as text, `image_url` (or `image`) as an image,
//! every other field as side information (a layout that only hides fields shows the others so
//! too). With a layout that names fields to show, a field it does not name is side information. The fields a label kind reads (the spans text, the boxes image, the pairwise
//! prompt and candidates) are always sent and shown by their kind; the layout may only give them
//! a heading.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::schema::LabelSchema;

/// The most fields a layout names.
pub const MAX_FIELDS: usize = 200;
/// The longest field name or heading, in characters.
pub const MAX_NAME: usize = 200;

/// How one field is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Show {
    /// A paragraph of text, under its heading when it has one.
    Text,
    /// An image, from an http(s) URL or a path on this server (anything else is not shown).
    Image,
    /// A row of the side table.
    Side,
    /// Never sent to raters (nor to the reviewer's page); exports keep it.
    Hidden,
    /// Pairwise: the prompt (the schema's `prompt_field`).
    Prompt,
    /// Pairwise: candidate A (the schema's `a_field`).
    CandidateA,
    /// Pairwise: candidate B (the schema's `b_field`).
    CandidateB,
}

impl Show {
    pub const ALL: [Show; 7] = [
        Show::Text,
        Show::Image,
        Show::Side,
        Show::Hidden,
        Show::Prompt,
        Show::CandidateA,
        Show::CandidateB,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Show::Text => "text",
            Show::Image => "image",
            Show::Side => "side",
            Show::Hidden => "hidden",
            Show::Prompt => "prompt",
            Show::CandidateA => "candidate_a",
            Show::CandidateB => "candidate_b",
        }
    }

    pub fn parse(s: &str) -> Option<Show> {
        Show::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// One field of the layout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LayoutField {
    /// The item data's key.
    pub field: String,
    /// `text`, `image`, `side`, `hidden`, or on pairwise tasks `prompt`, `candidate_a`,
    /// `candidate_b`.
    #[serde(rename = "as")]
    pub show: Show,
    /// The heading raters read (text, prompt and candidates) or the side table's key; the field
    /// name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A task's item layout (`GET/PUT /api/v1/tasks/{id}/layout`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ItemLayout {
    /// In the order text fields and side rows are shown; empty: the default layout.
    pub fields: Vec<LayoutField>,
}

/// What a label kind reads from the item, and how the layout may show it.
fn own_fields(schema: &LabelSchema, out: &mut Vec<(String, Show, &'static str)>) {
    match schema {
        LabelSchema::Spans(s) => out.push((s.field.clone(), Show::Text, "the spans text")),
        LabelSchema::Boxes(b) => out.push((b.field.clone(), Show::Image, "the boxes image")),
        LabelSchema::Pairwise(p) => {
            if let Some(f) = &p.prompt_field {
                out.push((f.clone(), Show::Prompt, "the pairwise prompt"));
            }
            out.push((p.a_field.clone(), Show::CandidateA, "pairwise candidate A"));
            out.push((p.b_field.clone(), Show::CandidateB, "pairwise candidate B"));
        }
        LabelSchema::Questions(q) => {
            for question in &q.questions {
                own_fields(&question.schema, out);
            }
        }
        _ => {}
    }
}

/// The pairwise candidates' sources: never shown to raters (they judge the answers, not the
/// models' names); a layout may only hide them.
fn source_fields(schema: &LabelSchema, out: &mut Vec<String>) {
    match schema {
        LabelSchema::Pairwise(p) => {
            out.extend(p.a_source_field.iter().cloned());
            out.extend(p.b_source_field.iter().cloned());
        }
        LabelSchema::Questions(q) => {
            for question in &q.questions {
                source_fields(&question.schema, out);
            }
        }
        _ => {}
    }
}

fn words(list: &[&str]) -> String {
    match list {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

impl ItemLayout {
    /// Reads a layout for a task of `schema`, naming the first problem by its place and field
    /// (`fields[1] ("title"): …`).
    pub fn parse(v: &Value, schema: &LabelSchema) -> Result<ItemLayout, String> {
        let obj = v
            .as_object()
            .ok_or("layout: an object {\"fields\": [...]}")?;
        if let Some(k) = obj.keys().find(|k| k.as_str() != "fields") {
            return Err(format!("layout: unknown key {k:?} (only \"fields\")"));
        }
        let list = match obj.get("fields") {
            None | Some(Value::Null) => return Ok(ItemLayout::default()),
            Some(Value::Array(a)) => a,
            Some(_) => return Err("fields: a list of {\"field\", \"as\", \"label\"}".into()),
        };
        if list.len() > MAX_FIELDS {
            return Err(format!("fields: at most {MAX_FIELDS}"));
        }
        let mut own = Vec::new();
        own_fields(schema, &mut own);
        let mut sources = Vec::new();
        source_fields(schema, &mut sources);
        let pairwise = own.iter().any(|(_, s, _)| *s == Show::CandidateA);
        let mut seen = HashSet::new();
        let mut image: Option<String> = None;
        let mut fields = Vec::with_capacity(list.len());
        for (i, entry) in list.iter().enumerate() {
            let at = format!("fields[{i}]");
            let e = entry
                .as_object()
                .ok_or_else(|| format!("{at}: an object {{\"field\", \"as\", \"label\"}}"))?;
            if let Some(k) = e
                .keys()
                .find(|k| !["field", "as", "label"].contains(&k.as_str()))
            {
                return Err(format!("{at}: unknown key {k:?} (field, as, label)"));
            }
            let field = match e.get("field") {
                Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
                _ => return Err(format!("{at}.field: the name of an item field")),
            };
            let at = format!("{at} ({field:?})");
            if field.chars().count() > MAX_NAME {
                return Err(format!(
                    "{at}: a field name of at most {MAX_NAME} characters"
                ));
            }
            let allowed: Vec<&str> = Show::ALL
                .iter()
                .filter(|s| {
                    pairwise || !matches!(s, Show::Prompt | Show::CandidateA | Show::CandidateB)
                })
                .map(|s| s.as_str())
                .collect();
            let show = match e.get("as") {
                Some(Value::String(s)) => Show::parse(s)
                    .filter(|s| allowed.contains(&s.as_str()))
                    .ok_or_else(|| format!("{at}: unknown \"as\" {s:?} ({})", words(&allowed)))?,
                _ => return Err(format!("{at}: \"as\" is one of {}", words(&allowed))),
            };
            let label = match e.get("label") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::String(s)) if s.chars().count() <= MAX_NAME => {
                    Some(s.trim().to_string())
                }
                Some(_) => {
                    return Err(format!("{at}.label: text of at most {MAX_NAME} characters"));
                }
            };
            if !seen.insert(field.clone()) {
                return Err(format!("{at}: named twice (one way to show each field)"));
            }
            let mine = own.iter().filter(|(f, _, _)| *f == field);
            if let Some((_, role, what)) = mine.clone().find(|(_, role, _)| *role != show) {
                return Err(format!(
                    "{at}: is {what}, which the task's schema reads; it can only be shown as \"{}\"",
                    role.as_str()
                ));
            }
            if matches!(show, Show::Prompt | Show::CandidateA | Show::CandidateB)
                && mine.count() == 0
            {
                let slot = match show {
                    Show::Prompt => "prompt_field",
                    Show::CandidateA => "a_field",
                    _ => "b_field",
                };
                return Err(format!(
                    "{at}: the schema's {slot} names the field shown as \"{}\"; change the schema to use another field",
                    show.as_str()
                ));
            }
            if sources.contains(&field) && show != Show::Hidden {
                return Err(format!(
                    "{at}: is a candidate's source, never shown to raters; it can only be \"hidden\""
                ));
            }
            if show == Show::Image {
                if let Some(first) = &image {
                    return Err(format!(
                        "{at}: a second image ({first:?} is the image); one image per item"
                    ));
                }
                image = Some(field.clone());
            }
            fields.push(LayoutField { field, show, label });
        }
        Ok(ItemLayout { fields })
    }

    /// Whether the visible fields follow the default layout: it names none to show (only, if
    /// any, fields to hide; raters get such a layout as `{"fields": []}`).
    pub fn is_default(&self) -> bool {
        self.fields.iter().all(|f| f.show == Show::Hidden)
    }

    /// The fields raters are not sent. A field the schema reads is never among them, even when
    /// the schema changed after the layout was set.
    pub fn hidden(&self, schema: &LabelSchema) -> Vec<&str> {
        let mut own = Vec::new();
        own_fields(schema, &mut own);
        self.fields
            .iter()
            .filter(|f| f.show == Show::Hidden && !own.iter().any(|(o, _, _)| *o == f.field))
            .map(|f| f.field.as_str())
            .collect()
    }

    /// The layout as raters get it: without its hidden entries, whose names are not theirs to
    /// read either.
    pub fn for_raters(&self) -> ItemLayout {
        ItemLayout {
            fields: self
                .fields
                .iter()
                .filter(|f| f.show != Show::Hidden)
                .cloned()
                .collect(),
        }
    }

    /// An item's data as raters get it: the hidden fields taken out.
    pub fn strip(&self, schema: &LabelSchema, data: &mut Value) {
        if let Value::Object(m) = data {
            for f in self.hidden(schema) {
                m.remove(f);
            }
        }
    }

    /// How `field` is shown (`None`: not named).
    pub fn get(&self, field: &str) -> Option<&LayoutField> {
        self.fields.iter().find(|f| f.field == field)
    }

    /// How `field` of the item `data` is shown: as the layout names it; unnamed, under the
    /// default layout `text` is text and `image_url` (else `image`) an image when it is an
    /// http(s) URL, as the pages did before layouts; every other field is side information.
    /// (`static/kinds.js` draws by the same rule.)
    pub fn shown_as(&self, field: &str, data: &Value) -> Show {
        if let Some(f) = self.get(field) {
            return f.show;
        }
        if !self.is_default() {
            return Show::Side;
        }
        let http = |k: &str| {
            data.get(k).and_then(Value::as_str).is_some_and(|u| {
                let u = u.to_ascii_lowercase();
                u.starts_with("http://") || u.starts_with("https://")
            })
        };
        match field {
            "text" if data.get("text").is_some_and(Value::is_string) => Show::Text,
            "image_url" if http("image_url") => Show::Image,
            "image" if http("image") && !http("image_url") => Show::Image,
            _ => Show::Side,
        }
    }
}

/// Whether a page may use `url` as an image's source: `http(s)://…` or a path on this server
/// (`/media/a.png`, `a.png`); never another scheme (`javascript:`, `data:`) nor `//host/…`.
pub fn safe_image_url(url: &str) -> bool {
    let u = url.trim();
    if u.is_empty() || u.chars().any(char::is_control) {
        return false;
    }
    let lower = u.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return true;
    }
    if u.starts_with("//") || u.starts_with('\\') {
        return false;
    }
    // A scheme is what comes before the first ':' when no '/', '?' or '#' comes first.
    let head = u.split(['/', '?', '#']).next().unwrap_or("");
    !head.contains(':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn choice() -> LabelSchema {
        serde_json::from_value(json!({"kind": "single_choice", "options": [
            {"value": "pos", "label": "Positive"}, {"value": "neg", "label": "Negative"}]}))
        .unwrap()
    }

    fn spans() -> LabelSchema {
        serde_json::from_value(
            json!({"kind": "spans", "field": "body", "labels": [{"value": "PER", "label": "Person"}]}),
        )
        .unwrap()
    }

    fn pairwise() -> LabelSchema {
        serde_json::from_value(
            json!({"kind": "pairwise", "prompt_field": "q", "a_field": "r1",
            "b_field": "r2", "a_source_field": "m1", "b_source_field": "m2"}),
        )
        .unwrap()
    }

    fn parse(v: Value, s: &LabelSchema) -> Result<ItemLayout, String> {
        ItemLayout::parse(&v, s)
    }

    #[test]
    fn a_layout_reads_with_its_order_and_headings() {
        let l = parse(
            json!({"fields": [
                {"field": "title", "as": "text", "label": "Title"},
                {"field": "body", "as": "text"},
                {"field": "photo", "as": "image"},
                {"field": "source", "as": "side", "label": "  "},
                {"field": "secret", "as": "hidden"}]}),
            &choice(),
        )
        .unwrap();
        assert_eq!(l.fields.len(), 5);
        assert_eq!(l.fields[0].label.as_deref(), Some("Title"));
        assert_eq!(l.fields[1].label, None);
        assert_eq!(l.fields[3].label, None, "a blank heading is no heading");
        assert_eq!(l.hidden(&choice()), vec!["secret"]);
        assert_eq!(l.for_raters().fields.len(), 4);
        let mut d = json!({"title": "t", "secret": "s", "other": 1});
        l.strip(&choice(), &mut d);
        assert_eq!(d, json!({"title": "t", "other": 1}));
        // The stored form reads back as it was written.
        let again: ItemLayout = serde_json::from_value(serde_json::to_value(&l).unwrap()).unwrap();
        assert_eq!(again, l);
        assert!(parse(json!({}), &choice()).unwrap().is_default());
        assert!(
            parse(json!({"fields": []}), &choice())
                .unwrap()
                .is_default()
        );
    }

    #[test]
    fn bad_layouts_are_refused_naming_the_field() {
        let cases = [
            (
                json!({"fields": [{"field": "title", "as": "bold"}]}),
                "fields[0] (\"title\"): unknown \"as\" \"bold\"",
            ),
            (
                json!({"fields": [{"field": "a", "as": "text"}, {"field": "a", "as": "side"}]}),
                "fields[1] (\"a\"): named twice",
            ),
            (
                json!({"fields": [{"field": "p1", "as": "image"}, {"field": "p2", "as": "image"}]}),
                "fields[1] (\"p2\"): a second image (\"p1\" is the image)",
            ),
            (
                json!({"fields": [{"field": "", "as": "text"}]}),
                "fields[0].field:",
            ),
            (
                json!({"fields": [{"field": "x"}]}),
                "fields[0] (\"x\"): \"as\" is one of",
            ),
            (
                json!({"fields": [{"field": "x", "as": "text", "size": 3}]}),
                "fields[0]: unknown key \"size\"",
            ),
            (
                json!({"fields": [{"field": "x", "as": "text", "label": 3}]}),
                "fields[0] (\"x\").label:",
            ),
            (
                json!({"fields": [{"field": "x", "as": "prompt"}]}),
                "fields[0] (\"x\"): unknown \"as\" \"prompt\"",
            ),
            (json!({"fields": "x"}), "fields: a list"),
            (json!({"rows": []}), "layout: unknown key \"rows\""),
            (json!([1]), "layout: an object"),
        ];
        for (v, want) in cases {
            let err = parse(v.clone(), &choice()).unwrap_err();
            assert!(err.starts_with(want), "{v}: {err}");
        }
    }

    #[test]
    fn a_kinds_own_field_is_shown_by_its_kind() {
        let err = parse(
            json!({"fields": [{"field": "body", "as": "hidden"}]}),
            &spans(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            "fields[0] (\"body\"): is the spans text, which the task's schema reads; it can only be shown as \"text\""
        );
        let err = parse(
            json!({"fields": [{"field": "body", "as": "image"}]}),
            &spans(),
        )
        .unwrap_err();
        assert!(
            err.starts_with("fields[0] (\"body\"): is the spans text"),
            "{err}"
        );
        assert!(
            parse(
                json!({"fields": [{"field": "body", "as": "text", "label": "Article"}]}),
                &spans()
            )
            .is_ok()
        );

        let boxes: LabelSchema = serde_json::from_value(
            json!({"kind": "boxes", "field": "img", "labels": [{"value": "car", "label": "Car"}]}),
        )
        .unwrap();
        let err = parse(json!({"fields": [{"field": "img", "as": "side"}]}), &boxes).unwrap_err();
        assert!(
            err.contains("the boxes image") && err.contains("\"image\""),
            "{err}"
        );
        let err = parse(
            json!({"fields": [{"field": "thumb", "as": "image"}, {"field": "img", "as": "image"}]}),
            &boxes,
        )
        .unwrap_err();
        assert!(
            err.starts_with("fields[1] (\"img\"): a second image"),
            "{err}"
        );

        // Inside several questions, the marking question's field is guarded the same way.
        let qs: LabelSchema = serde_json::from_value(json!({"kind": "questions", "questions": [
            {"name": "sentiment", "schema": {"kind": "single_choice", "options": [{"value": "p", "label": "P"}]}},
            {"name": "ents", "schema": {"kind": "spans", "field": "body", "labels": [{"value": "PER", "label": "P"}]}}]}))
        .unwrap();
        let err = parse(json!({"fields": [{"field": "body", "as": "hidden"}]}), &qs).unwrap_err();
        assert!(
            err.starts_with("fields[0] (\"body\"): is the spans text"),
            "{err}"
        );
    }

    #[test]
    fn pairwise_roles_follow_the_schema() {
        let p = pairwise();
        let l = parse(
            json!({"fields": [{"field": "q", "as": "prompt", "label": "Question"},
                {"field": "r1", "as": "candidate_a", "label": "First answer"},
                {"field": "r2", "as": "candidate_b"}, {"field": "m1", "as": "hidden"}]}),
            &p,
        )
        .unwrap();
        assert_eq!(
            l.get("q").and_then(|f| f.label.as_deref()),
            Some("Question")
        );
        assert_eq!(l.hidden(&p), vec!["m1"]);
        let err = parse(
            json!({"fields": [{"field": "other", "as": "candidate_a"}]}),
            &p,
        )
        .unwrap_err();
        assert!(
            err.starts_with("fields[0] (\"other\"): the schema's a_field"),
            "{err}"
        );
        let err = parse(
            json!({"fields": [{"field": "r1", "as": "candidate_b"}]}),
            &p,
        )
        .unwrap_err();
        assert!(
            err.contains("pairwise candidate A") && err.contains("\"candidate_a\""),
            "{err}"
        );
        let err = parse(json!({"fields": [{"field": "r2", "as": "hidden"}]}), &p).unwrap_err();
        assert!(
            err.starts_with("fields[0] (\"r2\"): is pairwise candidate B"),
            "{err}"
        );
        let err = parse(json!({"fields": [{"field": "m2", "as": "side"}]}), &p).unwrap_err();
        assert!(
            err.starts_with("fields[0] (\"m2\"): is a candidate's source"),
            "{err}"
        );
    }

    #[test]
    fn hiding_never_takes_a_field_the_schema_reads() {
        // Stored under an older schema that did not read "body".
        let l = ItemLayout {
            fields: vec![LayoutField {
                field: "body".into(),
                show: Show::Hidden,
                label: None,
            }],
        };
        assert!(l.hidden(&spans()).is_empty());
        assert_eq!(l.hidden(&choice()), vec!["body"]);
    }

    #[test]
    fn unnamed_fields_keep_the_default_roles_only_without_a_layout() {
        let d = json!({"text": "hi", "image_url": "https://x/a.png", "image": "https://x/b.png", "n": 1});
        let default = ItemLayout::default();
        assert_eq!(default.shown_as("text", &d), Show::Text);
        assert_eq!(default.shown_as("image_url", &d), Show::Image);
        assert_eq!(
            default.shown_as("image", &d),
            Show::Side,
            "one image: image_url first"
        );
        assert_eq!(default.shown_as("n", &d), Show::Side);
        let l = parse(json!({"fields": [{"field": "n", "as": "text"}]}), &choice()).unwrap();
        assert_eq!(l.shown_as("n", &d), Show::Text);
        assert_eq!(l.shown_as("text", &d), Show::Side);
        assert_eq!(l.shown_as("image_url", &d), Show::Side);
        // Hiding a field leaves the others as they were.
        let l = parse(
            json!({"fields": [{"field": "n", "as": "hidden"}]}),
            &choice(),
        )
        .unwrap();
        assert!(l.is_default() && l.for_raters().fields.is_empty());
        assert_eq!(l.shown_as("text", &d), Show::Text);
        assert_eq!(l.shown_as("n", &d), Show::Hidden);
    }

    #[test]
    fn image_urls_are_http_or_paths() {
        for ok in [
            "https://x.org/a.png",
            "HTTP://x/a",
            "/media/a.png",
            "a.png",
            "img/a.png?x=1:2",
        ] {
            assert!(safe_image_url(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "data:image/png;base64,AA",
            "vbscript:x",
            "//evil.example/a.png",
            "",
            "java\nscript:alert(1)",
        ] {
            assert!(!safe_image_url(bad), "{bad:?}");
        }
    }
}
