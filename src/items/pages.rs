//! The data browser's pages: a task's items as a filtered, searchable table paged with a cursor,
//! and one item's page with its data, labels, skips, history and actions. Each handler parses,
//! calls one service function of this feature and renders; raters get 404 from the service.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::CurrentUser;
use crate::domain::ids::{ItemId, TaskId};
use crate::domain::layout::{ItemLayout, Show, safe_image_url};
use crate::domain::role::Role;
use crate::domain::schema::LabelSchema;
use crate::domain::states::ItemState;
use crate::error::Result;
use crate::http::extract::Id;
use crate::http::pages::{Chrome, html};
use crate::items::actions::{self, GoldAnswer};
use crate::items::service::{self, ItemQuery, ItemSummary, STATES};
use crate::state::AppState;

/// Rows per page of the table.
const TABLE_ROWS: i64 = 50;
/// Characters of an item's data the table shows.
const PREVIEW_CHARS: usize = 100;

/// An item state (its stored name) in the words every page uses (`ItemState::label`).
pub fn state_words(state: &str) -> &'static str {
    state
        .parse::<ItemState>()
        .map_or("Unknown", ItemState::label)
}

/// An item's state as the browser shows it: a gold item is decided by its gold answer (its
/// stored state, `resolved`, would read "Decided by reviewer").
fn shown_state(i: &ItemSummary) -> &'static str {
    if i.gold.is_some() && i.state == "resolved" {
        "Gold answer"
    } else {
        state_words(&i.state)
    }
}

/// A label value as people read it: options by their display text, several joined with " + ".
pub fn answer_text(schema: &LabelSchema, value: &Value) -> String {
    if crate::domain::kinds::own_resolution(schema) && !value.is_null() {
        return schema.display(value);
    }
    let label = |v: &str| {
        schema
            .options()
            .iter()
            .find(|o| o.value == v)
            .map_or_else(|| v.to_string(), |o| o.label.clone())
    };
    match value {
        Value::Null => "—".into(),
        Value::String(s) => label(s),
        Value::Array(a) if a.is_empty() => "(none)".into(),
        Value::Array(a) => a
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), label))
            .collect::<Vec<_>>()
            .join(" + "),
        other => other.to_string(),
    }
}

/// The first words of an item's data: its text, else its image URL, else its first text field,
/// else the data as JSON.
fn preview(data: &Value) -> String {
    let text = ["text", "image_url"]
        .iter()
        .find_map(|k| data.get(*k).and_then(Value::as_str))
        .or_else(|| data.as_object()?.values().find_map(Value::as_str))
        .map_or_else(|| data.to_string(), str::to_string);
    let mut s: String = text.chars().take(PREVIEW_CHARS).collect();
    if text.chars().count() > PREVIEW_CHARS {
        s.push('…');
    }
    s
}

/// An RFC 3339 time as pages show it: `2026-12-02 00:35:44 UTC`.
fn when(rfc: &str) -> String {
    match (rfc.get(..10), rfc.get(11..19)) {
        (Some(d), Some(t)) => format!("{d} {t} UTC"),
        _ => rfc.to_string(),
    }
}

/// The table's filter form, as the URL carries it (empty fields mean "any").
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct BrowseForm {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    q: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    state: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    needs_review: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    gold: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    excluded: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    labeled_by: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    external_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

fn some(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn yes_no(s: &str) -> Option<bool> {
    match s {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

impl BrowseForm {
    fn query(&self) -> ItemQuery {
        ItemQuery {
            limit: Some(TABLE_ROWS),
            cursor: self.cursor.clone(),
            state: some(&self.state),
            needs_review: yes_no(&self.needs_review),
            gold: yes_no(&self.gold),
            external_id: some(&self.external_id),
            q: some(&self.q),
            labeled_by: some(&self.labeled_by).map(|u| u.to_lowercase()),
            excluded: yes_no(&self.excluded),
        }
    }

    /// This page's URL with another cursor (None: the first page).
    fn url(&self, task: i64, cursor: Option<&str>) -> String {
        let mut f = self.clone();
        f.cursor = cursor.map(str::to_string);
        let qs = serde_urlencoded::to_string(&f).unwrap_or_default();
        if qs.is_empty() {
            format!("/admin/tasks/{task}/items")
        } else {
            format!("/admin/tasks/{task}/items?{qs}")
        }
    }

    fn filtered(&self) -> bool {
        let mut f = self.clone();
        f.cursor = None;
        !serde_urlencoded::to_string(&f)
            .unwrap_or_default()
            .is_empty()
    }
}

pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

pub struct TableRow {
    pub id: i64,
    pub external_id: String,
    pub preview: String,
    pub state: String,
    pub state_words: &'static str,
    pub labels: i64,
    pub target: i64,
    pub answer: Option<String>,
    pub confidence: String,
    pub gold: bool,
    pub excluded: bool,
    pub needs_review: bool,
}

fn table_row(schema: &LabelSchema, i: &ItemSummary) -> TableRow {
    TableRow {
        id: i.id.0,
        external_id: i.external_id.clone(),
        preview: preview(&i.data),
        state_words: shown_state(i),
        state: i.state.clone(),
        labels: i.label_count,
        target: i.target,
        answer: i.resolution.as_ref().map(|r| answer_text(schema, &r.value)),
        confidence: i
            .resolution
            .as_ref()
            .map(|r| format!("{:.0}%", r.confidence * 100.0))
            .unwrap_or_default(),
        gold: i.gold.is_some(),
        excluded: i.excluded,
        needs_review: i.needs_review,
    }
}

#[derive(Template)]
#[template(path = "items/table.html")]
struct TablePage {
    chrome: Chrome,
    task_id: i64,
    task_name: String,
    f: BrowseForm,
    states: Vec<Choice>,
    rows: Vec<TableRow>,
    next_url: Option<String>,
    first_url: Option<String>,
    filtered: bool,
    is_admin: bool,
}

/// `GET /admin/tasks/{id}/items`: the task's items, filtered by the form in the URL.
pub async fn table(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    Query(f): Query<BrowseForm>,
) -> Result<Response> {
    let (task, page) = service::list_of_task(&state, &ctx, TaskId(id), f.query()).await?;
    let is_admin = ctx.user.role == Role::Admin;
    let section = if is_admin { "tasks" } else { "review" };
    let page = TablePage {
        is_admin,
        chrome: Chrome::of(&ctx, section),
        task_id: id,
        task_name: task.name.clone(),
        states: STATES
            .iter()
            .map(|s| Choice {
                value: s,
                label: state_words(s),
            })
            .collect(),
        rows: page
            .items
            .iter()
            .map(|i| table_row(&task.schema, i))
            .collect(),
        next_url: page.next_cursor.as_deref().map(|c| f.url(id, Some(c))),
        first_url: f.cursor.is_some().then(|| f.url(id, None)),
        filtered: f.filtered(),
        f,
    };
    Ok(html(&page)?.into_response())
}

pub struct Field {
    pub name: String,
    pub value: String,
    /// How the task's layout shows it to raters, in words.
    pub shown: &'static str,
    pub hidden: bool,
}

/// A text field as raters read it: its heading and its text.
pub struct TextBlock {
    pub heading: String,
    pub text: String,
}

pub struct LabelRow {
    pub rater: String,
    pub answer: String,
    pub when: String,
    pub instruction_version: i64,
    pub revision: i64,
    pub seconds: String,
}

pub struct SkipRow {
    pub rater: String,
    pub reason: String,
    pub flagged: bool,
    pub when: String,
}

pub struct EventRow {
    pub when: String,
    pub event: String,
    pub by: String,
    pub detail: String,
}

pub struct OptionRow {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "items/item.html")]
struct ItemPage {
    chrome: Chrome,
    notice: Option<&'static str>,
    task_id: i64,
    task_name: String,
    id: i64,
    external_id: String,
    state: String,
    state_words: &'static str,
    labels_count: i64,
    target: i64,
    needs_review: bool,
    fields: Vec<Field>,
    /// The text fields, as the layout shows them to raters.
    texts: Vec<TextBlock>,
    image: Option<String>,
    labels: Vec<LabelRow>,
    skips: Vec<SkipRow>,
    history: Vec<EventRow>,
    /// (answer, method, confidence, by, when)
    resolution: Option<(String, String, String, String, String)>,
    gold: Option<String>,
    /// `choice` (one of the options), `multi` (any of them) or `text`.
    gold_input: &'static str,
    options: Vec<OptionRow>,
    excluded: Option<(String, String)>,
}

#[derive(Deserialize, Default)]
pub struct Flash {
    notice: Option<String>,
}

/// Messages shown after an action: a fixed set, so the URL cannot inject text.
fn notice_text(key: &str) -> Option<&'static str> {
    Some(match key {
        "sent" => "Sent to the adjudication queue.",
        "gold" => "Marked as gold.",
        "ungold" => "No longer gold.",
        "excluded" => "Excluded from exports.",
        "included" => "Included in exports again.",
        _ => return None,
    })
}

fn text_of(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// The item's data as the layout shows it: the image (a URL the page may load), the text
/// blocks, and every field with how raters see it (the admin sees the hidden ones too).
fn laid_out(layout: &ItemLayout, data: &Value) -> (Option<String>, Vec<TextBlock>, Vec<Field>) {
    let Value::Object(m) = data else {
        let field = Field {
            name: "data".into(),
            value: data.to_string(),
            shown: "side information",
            hidden: false,
        };
        return (None, Vec::new(), vec![field]);
    };
    let heading = |k: &str| {
        layout
            .get(k)
            .and_then(|f| f.label.clone())
            .unwrap_or_else(|| k.to_string())
    };
    let mut image = None;
    let mut texts = Vec::new();
    // Text blocks in the layout's order, then (default layout) `text`.
    let mut order: Vec<&str> = layout.fields.iter().map(|f| f.field.as_str()).collect();
    order.extend(
        m.keys()
            .map(String::as_str)
            .filter(|k| layout.get(k).is_none()),
    );
    for k in order {
        let Some(v) = m.get(k) else { continue };
        match layout.shown_as(k, data) {
            Show::Text | Show::Prompt | Show::CandidateA | Show::CandidateB => {
                texts.push(TextBlock {
                    heading: heading(k),
                    text: text_of(v),
                })
            }
            Show::Image if image.is_none() => {
                image = v.as_str().filter(|u| safe_image_url(u)).map(str::to_string);
            }
            _ => {}
        }
    }
    let fields = m
        .iter()
        .map(|(k, v)| {
            let show = layout.shown_as(k, data);
            Field {
                name: k.clone(),
                value: text_of(v),
                shown: match show {
                    Show::Text => "text",
                    Show::Image => "image",
                    Show::Side => "side information",
                    Show::Hidden => "hidden from raters",
                    Show::Prompt => "prompt",
                    Show::CandidateA => "candidate A",
                    Show::CandidateB => "candidate B",
                },
                hidden: show == Show::Hidden,
            }
        })
        .collect();
    (image, texts, fields)
}

/// `GET /admin/items/{id}`: one item with everything that happened to it, and its actions.
pub async fn item(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    Query(flash): Query<Flash>,
) -> Result<Response> {
    let (task, d, layout) = service::get_with_task(&state, &ctx, ItemId(id)).await?;
    let schema = &task.schema;
    let it = &d.item;
    let (image, texts, fields) = laid_out(&layout, &it.data);
    let gold_values: Vec<String> = match &it.gold {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let section = if ctx.user.role == Role::Admin {
        "tasks"
    } else {
        "review"
    };
    let page = ItemPage {
        chrome: Chrome::of(&ctx, section),
        notice: flash.notice.as_deref().and_then(notice_text),
        task_id: task.id.0,
        task_name: task.name.clone(),
        id,
        external_id: it.external_id.clone(),
        state: it.state.clone(),
        state_words: shown_state(it),
        labels_count: it.label_count,
        target: it.target,
        needs_review: it.needs_review,
        fields,
        texts,
        image,
        labels: d
            .labels
            .iter()
            .map(|l| LabelRow {
                rater: l.rater.clone(),
                answer: answer_text(schema, &l.value),
                when: when(&l.updated_at),
                instruction_version: l.instruction_version,
                revision: l.revision,
                seconds: format!("{:.1}", l.duration_ms as f64 / 1000.0),
            })
            .collect(),
        skips: d
            .skips
            .iter()
            .map(|s| SkipRow {
                rater: s.rater.clone(),
                reason: s.reason.clone(),
                flagged: s.flagged,
                when: when(&s.created_at),
            })
            .collect(),
        history: d
            .history
            .iter()
            .map(|e| EventRow {
                when: when(&e.at),
                event: e.event.replace('_', " "),
                by: e.by.clone().unwrap_or_default(),
                detail: match &e.value {
                    Some(v) if e.note.is_empty() => answer_text(schema, v),
                    Some(v) => format!("{} ({})", answer_text(schema, v), e.note),
                    None => e.detail.clone(),
                },
            })
            .collect(),
        resolution: it.resolution.as_ref().map(|r| {
            (
                answer_text(schema, &r.value),
                r.method.clone(),
                format!("{:.0}%", r.confidence * 100.0),
                r.resolved_by.clone().unwrap_or_default(),
                when(&r.resolved_at),
            )
        }),
        gold: it.gold.as_ref().map(|g| answer_text(schema, g)),
        gold_input: match schema {
            LabelSchema::SingleChoice { .. } => "choice",
            LabelSchema::MultiChoice { .. } => "multi",
            _ => "text",
        },
        // A gold answer is a new answer: only options still offered (retired ones are refused).
        options: schema
            .offered()
            .map(|o| OptionRow {
                checked: gold_values.contains(&o.value),
                value: o.value.clone(),
                label: o.label.clone(),
            })
            .collect(),
        excluded: it.excluded_at.as_deref().map(|at| {
            (
                when(at),
                it.excluded_by.clone().unwrap_or_else(|| "someone".into()),
            )
        }),
    };
    Ok(html(&page)?.into_response())
}

fn back(id: i64, notice: &str) -> Response {
    Redirect::to(&format!("/admin/items/{id}?notice={notice}")).into_response()
}

/// `POST /admin/items/{id}/adjudication`: to the adjudication queue.
pub async fn send_to_adjudication(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    actions::send_to_adjudication(&state, &ctx, ItemId(id)).await?;
    Ok(back(id, "sent"))
}

/// `POST /admin/items/{id}/gold`: mark as gold with the answer the form chose (`value`, repeated
/// for a multiple choice).
pub async fn mark_gold(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let answers = fields
        .into_iter()
        .filter(|(k, _)| k == "value")
        .map(|(_, v)| v)
        .collect();
    actions::set_gold(&state, &ctx, ItemId(id), GoldAnswer::Form(answers)).await?;
    Ok(back(id, "gold"))
}

/// `POST /admin/items/{id}/gold/remove`: no longer gold.
pub async fn unmark_gold(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
) -> Result<Response> {
    actions::unset_gold(&state, &ctx, ItemId(id)).await?;
    Ok(back(id, "ungold"))
}

#[derive(Deserialize)]
pub struct ExclusionForm {
    /// `yes` to exclude, `no` to include again.
    excluded: String,
}

/// `POST /admin/items/{id}/exclusion`: exclude from exports, or include again.
pub async fn exclusion(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    Id(id): Id,
    Form(f): Form<ExclusionForm>,
) -> Result<Response> {
    let excluded = f.excluded == "yes";
    actions::set_excluded(&state, &ctx, ItemId(id), excluded).await?;
    Ok(back(id, if excluded { "excluded" } else { "included" }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_read_as_option_labels() {
        let schema = LabelSchema::parse(&json!({"kind": "multi_choice", "options": [
            {"value": "pos", "label": "Positive"}, {"value": "neg", "label": "Negative"}]}))
        .unwrap();
        assert_eq!(answer_text(&schema, &json!("pos")), "Positive");
        assert_eq!(
            answer_text(&schema, &json!(["pos", "neg"])),
            "Positive + Negative"
        );
        assert_eq!(answer_text(&schema, &json!("gone")), "gone");
        assert_eq!(answer_text(&schema, &json!([])), "(none)");
        assert_eq!(answer_text(&schema, &Value::Null), "—");
    }

    #[test]
    fn previews_are_short_and_prefer_text() {
        assert_eq!(preview(&json!({"id": 3, "text": "hi"})), "hi");
        assert_eq!(
            preview(&json!({"image_url": "https://x/y.png"})),
            "https://x/y.png"
        );
        assert_eq!(preview(&json!({"n": 1, "title": "t"})), "t");
        let long = "é".repeat(150);
        assert_eq!(preview(&json!({ "text": long })).chars().count(), 101);
    }

    #[test]
    fn the_form_keeps_its_filters_in_the_url() {
        let f = BrowseForm {
            q: "a b".into(),
            gold: "yes".into(),
            ..Default::default()
        };
        assert_eq!(f.url(4, None), "/admin/tasks/4/items?q=a+b&gold=yes");
        assert_eq!(
            f.url(4, Some("Yz")),
            "/admin/tasks/4/items?q=a+b&gold=yes&cursor=Yz"
        );
        assert!(f.filtered());
        assert!(!BrowseForm::default().filtered());
        assert_eq!(f.query().gold, Some(true));
        assert_eq!(f.query().needs_review, None);
    }
}
