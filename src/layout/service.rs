//! The layout feature's rules: reading and changing a task's layout, and what the item pages
//! get from it.

use serde_json::{Value, json};

use super::codes;
use crate::auth::AuthCtx;
use crate::db;
use crate::domain::ids::TaskId;
use crate::domain::layout::ItemLayout;
use crate::domain::schema::LabelSchema;
use crate::error::{AppError, Result};
use crate::state::AppState;

/// The task's layout (the default one when none was set), for the code that shows items.
pub async fn of_task(ex: impl sqlx::AnyExecutor<'_>, task: TaskId) -> Result<ItemLayout> {
    match db::layout::get(ex, task).await? {
        None => Ok(ItemLayout::default()),
        Some(s) => serde_json::from_str(&s)
            .map_err(|e| AppError::internal(format!("stored layout of task {task}: {e}"))),
    }
}

/// The task's layout (admins).
pub async fn layout(state: &AppState, ctx: &AuthCtx, id: TaskId) -> Result<ItemLayout> {
    crate::tasks::service::administered(state, ctx, id).await?;
    of_task(&state.db.pool, id).await
}

/// Replaces it (admins). A layout that does not fit the task's schema is a 400 naming the entry
/// and the field, and nothing changes. Audited.
#[tracing::instrument(skip_all, fields(task = %id, admin = %ctx.user.id))]
pub async fn update(
    state: &AppState,
    ctx: &AuthCtx,
    id: TaskId,
    body: &Value,
    ip: &str,
) -> Result<ItemLayout> {
    let task = crate::tasks::service::administered(state, ctx, id).await?;
    let new = ItemLayout::parse(body, &task.schema)
        .map_err(|e| AppError::bad_request(codes::INVALID_LAYOUT, e))?;
    let stored = serde_json::to_string(&new).map_err(AppError::internal)?;
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    let before = of_task(&mut *tx, id).await?;
    db::layout::upsert(&mut *tx, id, &stored, now).await?;
    db::audit::record(
        &mut *tx,
        Some(ctx.user.id),
        "task.layout",
        &format!("task #{id}"),
        &json!({"before": before, "after": new}),
        ip,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(new)
}

/// One row of the layout form: a field and how it is shown (`None`: not named, so the default).
#[derive(Clone, Debug, PartialEq)]
pub struct EditorRow {
    pub field: String,
    /// `text`, `image`, … (`Show::as_str`), or empty: not named.
    pub show: &'static str,
    pub label: String,
    /// The name is fixed (a field the layout or the item schema knows); otherwise typed.
    pub known: bool,
}

/// What the layout card on the task page shows and edits.
#[derive(Clone, Debug)]
pub struct Editor {
    /// The choices of "shown as": (value, words); the pairwise roles on pairwise tasks only.
    pub choices: Vec<(&'static str, &'static str)>,
    pub layout: ItemLayout,
    /// The layout's fields in its order, then the item schema's other fields, then blank rows
    /// to name more.
    pub rows: Vec<EditorRow>,
    /// The item schema is known (from the first import): its fields are offered.
    pub from_schema: bool,
    /// `prompt`, `candidate_a` and `candidate_b` are offered (pairwise tasks).
    pub pairwise: bool,
}

/// Blank rows under the known fields, to name fields the item schema does not list.
pub const BLANK_ROWS: usize = 3;

/// The layout card's content (admins).
pub async fn editor(state: &AppState, ctx: &AuthCtx, id: TaskId) -> Result<Editor> {
    let task = crate::tasks::service::administered(state, ctx, id).await?;
    let layout = of_task(&state.db.pool, id).await?;
    let schema = crate::validation::service::item_schema(state, ctx, id)
        .await?
        .schema;
    let mut rows: Vec<EditorRow> = layout
        .fields
        .iter()
        .map(|f| EditorRow {
            field: f.field.clone(),
            show: f.show.as_str(),
            label: f.label.clone().unwrap_or_default(),
            known: true,
        })
        .collect();
    for f in schema.iter().flat_map(|s| s.fields.iter()) {
        if !rows.iter().any(|r| r.field == f.name) {
            rows.push(EditorRow {
                field: f.name.clone(),
                show: "",
                label: String::new(),
                known: true,
            });
        }
    }
    rows.extend((0..BLANK_ROWS).map(|_| EditorRow {
        field: String::new(),
        show: "",
        label: String::new(),
        known: false,
    }));
    let pairwise = is_pairwise(&task.schema);
    let mut choices = vec![
        ("", "default"),
        ("text", "text"),
        ("image", "image"),
        ("side", "side information"),
        ("hidden", "hidden from raters"),
    ];
    if pairwise {
        choices.extend([
            ("prompt", "prompt"),
            ("candidate_a", "candidate A"),
            ("candidate_b", "candidate B"),
        ]);
    }
    Ok(Editor {
        choices,
        layout,
        rows,
        from_schema: schema.is_some(),
        pairwise,
    })
}

fn is_pairwise(schema: &LabelSchema) -> bool {
    match schema {
        LabelSchema::Pairwise(_) => true,
        LabelSchema::Questions(q) => q.questions.iter().any(|x| is_pairwise(&x.schema)),
        _ => false,
    }
}
