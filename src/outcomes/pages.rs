//! The direct-labels form on the task page: `POST /admin/tasks/{id}/direct-labels`, through the
//! same service as `PUT /api/v1/tasks/{id}/direct-labels`.

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::codes;
use super::service::{self, DirectLabelSettings};
use crate::auth::CurrentUser;
use crate::auth::extract::ClientIp;
use crate::domain::ids::TaskId;
use crate::domain::outcome::DirectLabels;
use crate::error::{AppError, Result};
use crate::http::extract::Id;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct DirectLabelsForm {
    direct_labels: String,
}

/// `POST /admin/tasks/{id}/direct-labels` (admins): saves and goes back to the task page.
pub async fn save(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Form(f): Form<DirectLabelsForm>,
) -> Result<Response> {
    let direct_labels = DirectLabels::parse(&f.direct_labels).ok_or_else(|| {
        AppError::bad_request(
            codes::INVALID_DIRECT_LABELS,
            format!(
                "direct_labels: standalone, gold or compare, not {:?}",
                f.direct_labels
            ),
        )
    })?;
    let settings = DirectLabelSettings { direct_labels };
    service::update(&state, &ctx, TaskId(id), settings, &ip).await?;
    Ok(Redirect::to(&format!(
        "/admin/tasks/{id}?notice=direct_labels_saved#direct-labels"
    ))
    .into_response())
}
