//! The one error type of the server, and how errors become responses.
//!
//! A handler returns [`AppError`]; its `IntoResponse` makes a bare response that carries an
//! [`ErrorInfo`] extension. The `render_errors` middleware in `app.rs` then turns it into a JSON
//! body for `/api/…` and an HTML page for everything else, so each error is rendered in one place
//! and the same handler code serves both worlds.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// `Result` with [`AppError`] as the default error.
pub type Result<T, E = AppError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Not signed in (API: 401; pages: redirect to the login page).
    #[error("authentication required")]
    Unauthorized,
    /// Signed in but the role does not allow it.
    #[error("you do not have access to this page")]
    Forbidden,
    /// Signed in, but refused for a stated reason (e.g. an API token's scope).
    #[error("{message}")]
    ForbiddenBecause { code: &'static str, message: String },
    /// CSRF check failed.
    #[error("{0}")]
    Csrf(&'static str),
    /// Missing, or outside the user's scope: the two look the same on purpose.
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    BadRequest {
        code: &'static str,
        message: String,
        line: Option<u64>,
    },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// An import refused by its task's anomaly policy (422), with the anomalies found.
    #[error("{message}")]
    ImportRejected {
        message: String,
        anomalies: serde_json::Value,
    },
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    #[error("storage is full")]
    StorageFull,
    /// Anything unexpected. The detail is logged, never shown.
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            message: message.into(),
            line: None,
        }
    }
    pub fn bad_line(line: u64, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            code: "invalid_input",
            message: message.into(),
            line: Some(line),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Conflict {
            code,
            message: message.into(),
        }
    }
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        AppError::Unprocessable {
            code,
            message: message.into(),
        }
    }
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        AppError::Internal(detail.to_string())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::Csrf(_) | AppError::ForbiddenBecause { .. } => {
                StatusCode::FORBIDDEN
            }
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Unprocessable { .. } | AppError::ImportRejected { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden => "forbidden",
            AppError::Csrf(_) => "csrf",
            AppError::NotFound => "not_found",
            AppError::BadRequest { code, .. }
            | AppError::Conflict { code, .. }
            | AppError::Unprocessable { code, .. }
            | AppError::ForbiddenBecause { code, .. } => code,
            AppError::ImportRejected { .. } => "import_rejected",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::PayloadTooLarge => "payload_too_large",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::StorageFull => "storage_full",
            AppError::Internal(_) => "internal",
        }
    }
}

/// What the rendering middleware needs to draw an error.
#[derive(Clone, Debug)]
pub struct ErrorInfo {
    pub code: &'static str,
    pub message: String,
    pub line: Option<u64>,
    /// An import's anomalies (with `import_rejected`).
    pub anomalies: Option<serde_json::Value>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let status = self.status();
        let info = ErrorInfo {
            code: self.code(),
            message: self.to_string(),
            line: match &self {
                AppError::BadRequest { line, .. } => *line,
                _ => None,
            },
            anomalies: match &self {
                AppError::ImportRejected { anomalies, .. } => Some(anomalies.clone()),
                _ => None,
            },
        };
        let mut response = status.into_response();
        if let AppError::TooManyRequests { retry_after_secs } = self
            && let Ok(v) = retry_after_secs.to_string().parse()
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        response.extensions_mut().insert(info);
        response
    }
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            // SQLITE_FULL (13) and PostgreSQL's disk_full (53100) become a clear 507.
            if matches!(db.code().as_deref(), Some("13") | Some("53100")) {
                return AppError::StorageFull;
            }
        }
        AppError::Internal(format!("database: {e}"))
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::Internal(format!("background task: {e}"))
    }
}
