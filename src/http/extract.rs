//! Extractors every handler shares: a JSON body whose rejections become our JSON errors, and a
//! numeric path id that answers 404 for anything that is not one.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// A JSON body whose rejections become our JSON errors (unknown fields named, bad types explained).
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::UnsupportedMediaType(
                "send the body as application/json",
            )),
            Err(JsonRejection::JsonDataError(e)) => {
                Err(AppError::bad_request("invalid_json", e.body_text()))
            }
            Err(JsonRejection::JsonSyntaxError(e)) => {
                Err(AppError::bad_request("invalid_json", e.body_text()))
            }
            Err(JsonRejection::BytesRejection(_)) => Err(AppError::PayloadTooLarge),
            Err(e) => Err(AppError::bad_request("invalid_json", e.body_text())),
        }
    }
}

/// A numeric id from the path. Anything that is not a positive 64-bit number is a 404, exactly
/// like an id that does not exist.
pub struct Id(pub i64);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Id {
    type Rejection = AppError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(params) =
            axum::extract::Path::<Vec<(String, String)>>::from_request_parts(parts, state)
                .await
                .map_err(|_| AppError::NotFound)?;
        let raw = params
            .iter()
            .find(|(k, _)| k == "id")
            .map(|(_, v)| v.as_str())
            .ok_or(AppError::NotFound)?;
        match raw.parse::<i64>() {
            Ok(n) if n > 0 => Ok(Id(n)),
            _ => Err(AppError::NotFound),
        }
    }
}
