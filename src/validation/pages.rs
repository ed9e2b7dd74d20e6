//! The task's validation page (`/admin/tasks/{id}/validation`) and its forms: the policy and
//! thresholds, the item schema (edited as JSON), and quarantine actions — each through the same
//! service as the API.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::codes;
use super::overview::{self, ValidationOverview};
use super::quarantine::{self, QuarantineAction};
use super::service::{self, AnomalyPolicy, ValidationSettings};
use crate::auth::extract::ClientIp;
use crate::auth::{AuthCtx, RequireAdmin};
use crate::domain::ids::TaskId;
use crate::domain::validation::Thresholds;
use crate::error::{AppError, Result};
use crate::http::extract::Id;
use crate::http::pages::{Chrome, html};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "validation/page.html")]
struct ValidationPage {
    chrome: Chrome,
    v: ValidationOverview,
    /// The schema text in the editor (what was sent, when it was refused).
    schema_text: String,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct Flash {
    notice: Option<String>,
}

/// Messages shown after a redirect: only a fixed set of words, so the URL cannot inject text.
fn flash_text(key: &str) -> Option<String> {
    Some(
        match key {
            "settings_saved" => "Validation settings saved: the next imports follow them.",
            "schema_saved" => "Item schema saved: the next imports are checked against it.",
            "released" => "Released into the task.",
            "discarded" => "Discarded.",
            _ => return None,
        }
        .to_string(),
    )
}

async fn render(
    state: &AppState,
    ctx: &AuthCtx,
    id: TaskId,
    schema_text: Option<String>,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response> {
    let v = overview::page(state, ctx, id).await?;
    let page = ValidationPage {
        chrome: Chrome::of(ctx, "tasks"),
        schema_text: schema_text.unwrap_or_else(|| v.schema_json.clone()),
        v,
        notice,
        error,
    };
    Ok((status, html(&page)?).into_response())
}

/// `GET /admin/tasks/{id}/validation`.
pub async fn page(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    Id(id): Id,
    Query(flash): Query<Flash>,
) -> Result<Response> {
    let notice = flash.notice.as_deref().and_then(flash_text);
    render(&state, &ctx, TaskId(id), None, notice, None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct SettingsForm {
    anomaly_policy: String,
    categorical_threshold: String,
    numeric_threshold: String,
}

impl SettingsForm {
    fn settings(&self) -> Result<ValidationSettings> {
        let bad = |m: String| AppError::bad_request(codes::INVALID_VALIDATION, m);
        let anomaly_policy = AnomalyPolicy::parse(&self.anomaly_policy)
            .ok_or_else(|| bad(format!("unknown anomaly policy {:?}", self.anomaly_policy)))?;
        let num = |name: &str, s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| bad(format!("{name}: a number from 0 to 1, not {s:?}")))
        };
        Ok(ValidationSettings {
            anomaly_policy,
            drift_thresholds: Thresholds {
                categorical: num("categorical threshold", &self.categorical_threshold)?,
                numeric: num("numeric threshold", &self.numeric_threshold)?,
            },
        })
    }
}

/// `POST /admin/tasks/{id}/validation`: saves the policy and thresholds.
pub async fn save_settings(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Form(f): Form<SettingsForm>,
) -> Result<Response> {
    let result = match f.settings() {
        Ok(s) => service::update_settings(&state, &ctx, TaskId(id), s, &ip).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!(
            "/admin/tasks/{id}/validation?notice=settings_saved"
        ))
        .into_response()),
        Err(AppError::BadRequest { message, .. }) => {
            render(
                &state,
                &ctx,
                TaskId(id),
                None,
                None,
                Some(message),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct SchemaForm {
    schema: String,
}

/// `POST /admin/tasks/{id}/item-schema`: saves the schema edited as JSON; a bad one is shown
/// again with the reason.
pub async fn save_schema(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Form(f): Form<SchemaForm>,
) -> Result<Response> {
    let result = match serde_json::from_str::<serde_json::Value>(&f.schema) {
        Ok(v) => service::set_item_schema(&state, &ctx, TaskId(id), &v, &ip).await,
        Err(e) => Err(AppError::bad_request(
            codes::INVALID_ITEM_SCHEMA,
            format!("the schema is not JSON: {e}"),
        )),
    };
    match result {
        Ok(_) => Ok(
            Redirect::to(&format!("/admin/tasks/{id}/validation?notice=schema_saved"))
                .into_response(),
        ),
        Err(AppError::BadRequest { message, .. }) => {
            render(
                &state,
                &ctx,
                TaskId(id),
                Some(f.schema),
                None,
                Some(message),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct QuarantineForm {
    /// `release` or `discard`.
    action: String,
    /// One held item, or none for all.
    #[serde(default)]
    item: Option<String>,
}

/// `POST /admin/tasks/{id}/quarantine`: releases or discards one held item, or all.
pub async fn quarantine_action(
    State(state): State<AppState>,
    RequireAdmin(ctx): RequireAdmin,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Form(f): Form<QuarantineForm>,
) -> Result<Response> {
    let action = match f.item.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => QuarantineAction {
            ids: Vec::new(),
            all: true,
        },
        Some(s) => QuarantineAction {
            ids: vec![s.parse().map_err(|_| AppError::NotFound)?],
            all: false,
        },
    };
    let notice = match f.action.as_str() {
        "release" => {
            quarantine::release(&state, &ctx, TaskId(id), action, &ip).await?;
            "released"
        }
        "discard" => {
            quarantine::discard(&state, &ctx, TaskId(id), action, &ip).await?;
            "discarded"
        }
        _ => {
            return Err(AppError::bad_request(
                codes::INVALID_QUARANTINE_ACTION,
                "action: release or discard",
            ));
        }
    };
    Ok(Redirect::to(&format!(
        "/admin/tasks/{id}/validation?notice={notice}#quarantine"
    ))
    .into_response())
}
