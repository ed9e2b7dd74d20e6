//! Static files, compiled into the binary so one file is the whole install.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../static/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/app.js"),
    ),
    (
        "kinds.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/kinds.js"),
    ),
    (
        "boxes.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/boxes.js"),
    ),
    (
        "spans.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/spans.js"),
    ),
    (
        "questions.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/questions.js"),
    ),
    (
        "label.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/label.js"),
    ),
    (
        "review.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/review.js"),
    ),
    (
        "upload.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/upload.js"),
    ),
];

pub async fn serve(Path(file): Path<String>) -> Result<Response, AppError> {
    let (_, mime, body) = FILES
        .iter()
        .find(|(name, _, _)| *name == file)
        .ok_or(AppError::NotFound)?;
    let mut res = (*body).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(res)
}
