//! The layout form on the task page: `POST /admin/tasks/{id}/layout`, through the same service
//! as `PUT /api/v1/tasks/{id}/layout`.

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};

use super::service;
use crate::auth::CurrentUser;
use crate::auth::extract::ClientIp;
use crate::domain::ids::TaskId;
use crate::error::Result;
use crate::http::extract::Id;
use crate::state::AppState;

/// The form's rows as a layout body: each row is a `field`, an `as` and a `label`, in order;
/// rows left at "default" (an empty `as`) or without a field name are not part of the layout.
fn body(pairs: &[(String, String)]) -> Value {
    let mut rows: Vec<[String; 3]> = Vec::new();
    for (k, v) in pairs {
        match k.as_str() {
            "field" => rows.push([v.clone(), String::new(), String::new()]),
            "as" | "label" => {
                if let Some(r) = rows.last_mut() {
                    r[if k == "as" { 1 } else { 2 }] = v.clone();
                }
            }
            _ => {}
        }
    }
    let fields: Vec<Value> = rows
        .into_iter()
        .filter(|[f, s, _]| !f.trim().is_empty() && !s.is_empty())
        .map(|[field, show, label]| json!({"field": field, "as": show, "label": label}))
        .collect();
    json!({ "fields": fields })
}

/// `POST /admin/tasks/{id}/layout` (admins): saves and goes back to the task page.
pub async fn save(
    State(state): State<AppState>,
    CurrentUser(ctx): CurrentUser,
    ClientIp(ip): ClientIp,
    Id(id): Id,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response> {
    service::update(&state, &ctx, TaskId(id), &body(&pairs), &ip).await?;
    Ok(Redirect::to(&format!("/admin/tasks/{id}?notice=layout_saved#layout")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(k: &str, v: &str) -> (String, String) {
        (k.into(), v.into())
    }

    #[test]
    fn form_rows_become_the_layout_in_order() {
        let b = body(&[
            p("csrf_token", "x"),
            p("field", "title"),
            p("as", "text"),
            p("label", "Title"),
            p("field", "body"),
            p("as", ""),
            p("label", "ignored"),
            p("field", ""),
            p("as", "side"),
            p("label", ""),
            p("field", "secret"),
            p("as", "hidden"),
            p("label", ""),
        ]);
        assert_eq!(
            b,
            json!({"fields": [{"field": "title", "as": "text", "label": "Title"},
                {"field": "secret", "as": "hidden", "label": ""}]})
        );
    }
}
