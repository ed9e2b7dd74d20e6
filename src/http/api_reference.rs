//! `/admin/api`: the OpenAPI document as a page admins can read — every operation grouped by
//! tag with its parameters, request body and answers, then every schema with its fields. Built
//! from the same document `GET /api/v1/openapi.json` serves, so the two never disagree.

use std::collections::BTreeMap;

use askama::Template;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::auth::RequireAdmin;
use crate::error::Result;
use crate::http::pages::{Chrome, html};

pub struct Param {
    pub name: String,
    pub location: String,
    pub required: bool,
    pub ty: String,
    pub description: String,
}

pub struct Answer {
    pub status: String,
    pub description: String,
    pub body: String,
}

pub struct Operation {
    pub anchor: String,
    pub method: String,
    pub path: String,
    pub summary: String,
    pub description: String,
    pub params: Vec<Param>,
    pub body: String,
    pub answers: Vec<Answer>,
    pub public: bool,
}

pub struct Group {
    pub tag: String,
    pub operations: Vec<Operation>,
}

pub struct Field {
    pub name: String,
    pub ty: String,
    pub required: bool,
    pub description: String,
}

pub struct Schema {
    pub name: String,
    pub description: String,
    pub fields: Vec<Field>,
    /// For schemas that are not objects (enums, aliases): their type in one line.
    pub shape: String,
}

#[derive(Template)]
#[template(path = "admin/api.html")]
struct ApiPage {
    chrome: Chrome,
    version: String,
    groups: Vec<Group>,
    schemas: Vec<Schema>,
    operation_count: usize,
}

/// A schema's type in one short line: `TaskAnswer`, `array of Label`, `string | null`, ….
fn type_of(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = schema.get(key).and_then(Value::as_array) {
            return list.iter().map(type_of).collect::<Vec<_>>().join(" | ");
        }
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(|v| {
                v.as_str()
                    .map_or_else(|| v.to_string(), |s| format!("\"{s}\""))
            })
            .collect::<Vec<_>>()
            .join(" | ");
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".to_string(),
    };
    if ty.starts_with("array")
        && let Some(items) = schema.get("items")
    {
        return format!("{ty} of {}", type_of(items));
    }
    match schema.get("format").and_then(Value::as_str) {
        Some(f) => format!("{ty} ({f})"),
        None => ty,
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

fn body_of(content: Option<&Value>) -> String {
    let Some(content) = content.and_then(Value::as_object) else {
        return String::new();
    };
    content
        .iter()
        .map(|(ct, media)| match media.get("schema") {
            Some(s) => format!("{} ({ct})", type_of(s)),
            None => ct.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn operations(doc: &Value) -> Vec<Group> {
    let mut groups: BTreeMap<String, Vec<Operation>> = BTreeMap::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return Vec::new();
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, op) in item {
            if !matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                continue;
            }
            let params = op
                .get("parameters")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .map(|p| Param {
                            name: text(p, "name"),
                            location: text(p, "in"),
                            required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
                            ty: p.get("schema").map(type_of).unwrap_or_default(),
                            description: text(p, "description"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let answers = op
                .get("responses")
                .and_then(Value::as_object)
                .map(|rs| {
                    rs.iter()
                        .map(|(status, r)| Answer {
                            status: status.clone(),
                            description: text(r, "description"),
                            body: body_of(r.get("content")),
                        })
                        .collect()
                })
                .unwrap_or_default();
            // `security: [{}]` marks an operation open to anyone.
            let public = op
                .get("security")
                .and_then(Value::as_array)
                .is_some_and(|s| {
                    s.iter()
                        .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
                });
            let tag = op
                .get("tags")
                .and_then(Value::as_array)
                .and_then(|t| t.first())
                .and_then(Value::as_str)
                .unwrap_or("other")
                .to_string();
            let method = method.to_uppercase();
            groups.entry(tag).or_default().push(Operation {
                anchor: format!("{method}-{path}")
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                    .collect(),
                method,
                path: path.clone(),
                summary: text(op, "summary"),
                description: text(op, "description"),
                params,
                body: body_of(op.get("requestBody").and_then(|b| b.get("content"))),
                answers,
                public,
            });
        }
    }
    groups
        .into_iter()
        .map(|(tag, mut operations)| {
            operations.sort_by(|a, b| a.path.cmp(&b.path).then(a.method.cmp(&b.method)));
            Group { tag, operations }
        })
        .collect()
}

fn schemas(doc: &Value) -> Vec<Schema> {
    let Some(all) = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    all.iter()
        .map(|(name, s)| {
            let required: Vec<&str> = s
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let fields = s
                .get("properties")
                .and_then(Value::as_object)
                .map(|props| {
                    props
                        .iter()
                        .map(|(f, p)| Field {
                            name: f.clone(),
                            ty: type_of(p),
                            required: required.contains(&f.as_str()),
                            description: text(p, "description"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Schema {
                name: name.clone(),
                description: text(s, "description"),
                fields,
                shape: type_of(s),
            }
        })
        .collect()
}

/// The reference page.
pub async fn page(RequireAdmin(ctx): RequireAdmin) -> Result<Response> {
    let doc = serde_json::to_value(crate::http::openapi::document())
        .map_err(crate::error::AppError::internal)?;
    let groups = operations(&doc);
    let page = ApiPage {
        chrome: Chrome::of(&ctx, "api"),
        version: doc
            .pointer("/info/version")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        operation_count: groups.iter().map(|g| g.operations.len()).sum(),
        groups,
        schemas: schemas(&doc),
    };
    Ok(html(&page)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_read_as_people_say_them() {
        assert_eq!(
            type_of(&json!({"$ref": "#/components/schemas/Task"})),
            "Task"
        );
        assert_eq!(
            type_of(&json!({"type": "array", "items": {"$ref": "#/components/schemas/Label"}})),
            "array of Label"
        );
        assert_eq!(
            type_of(&json!({"type": ["string", "null"]})),
            "string | null"
        );
        assert_eq!(
            type_of(&json!({"type": "integer", "format": "int64"})),
            "integer (int64)"
        );
        assert_eq!(type_of(&json!({"enum": ["a", "b"]})), "\"a\" | \"b\"");
        assert_eq!(type_of(&json!({})), "any");
    }
}
