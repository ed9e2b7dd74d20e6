//! The sampling form on the task page: `POST /admin/tasks/{id}/sampling`, through the same
//! service as `PUT /api/v1/tasks/{id}/sampling`.

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::codes;
use super::service::{self, SamplingSettings};
use crate::auth::CurrentUser;
use crate::auth::extract::ClientIp;
use crate::domain::ids::TaskId;
use crate::domain::sampling::{Measure, Sampling};
use crate::error::{AppError, Result};
use crate::http::extract::Id;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct SamplingForm {
    sampling: String,
    #[serde(default)]
    uncertainty: String,
    #[serde(default)]
    seed: String,
    show_predictions: Option<String>,
}

impl SamplingForm {
    fn settings(&self) -> Result<SamplingSettings> {
        let bad = |m: String| AppError::bad_request(codes::INVALID_SAMPLING, m);
        let sampling = Sampling::parse(&self.sampling)
            .ok_or_else(|| bad(format!("unknown sampling {:?}", self.sampling)))?;
        let uncertainty = if self.uncertainty.is_empty() {
            Measure::LeastConfidence
        } else {
            Measure::parse(&self.uncertainty).ok_or_else(|| {
                bad(format!(
                    "unknown uncertainty measure {:?}",
                    self.uncertainty
                ))
            })?
        };
        let seed = match self.seed.trim() {
            "" => 0,
            s => s
                .parse::<i64>()
                .map_err(|_| bad(format!("the seed must be a whole number, not {s:?}")))?,
        };
        Ok(SamplingSettings {
            sampling,
            uncertainty,
            seed,
            show_predictions: self.show_predictions.is_some(),
        })
    }
}

/// `POST /admin/tasks/{id}/sampling` (admins): saves and goes back to the task page.
pub async fn save(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Form(f): Form<SamplingForm>,
) -> Result<Response> {
    let settings = f.settings()?;
    service::update(&state, &ctx, TaskId(id), settings, &ip).await?;
    Ok(Redirect::to(&format!("/admin/tasks/{id}?notice=sampling_saved#sampling")).into_response())
}
