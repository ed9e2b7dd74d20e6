//! `GET /healthz`: the database answers, or the load balancer takes this instance out.

use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => axum::Json(serde_json::json!({"status": "ok"})).into_response(),
        Err(e) => crate::error::AppError::internal(format!("health check: {e}")).into_response(),
    }
}
