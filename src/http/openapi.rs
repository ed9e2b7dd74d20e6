//! The OpenAPI 3.1 description of `/api/v1`, generated from the handlers' `#[utoipa::path]`
//! annotations and the request/response types' `ToSchema` derives. Each feature describes its own
//! routes (`<feature>::api::ApiDoc`); this module merges them with what every route shares (the
//! error shape, the bearer scheme) and serves the result at `GET /api/v1/openapi.json`.

use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// Every API error: `{"error": {"code", "message", "line"?}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong: a stable machine-readable code, a sentence for people, and for bad input
/// the line of the file that caused it.
#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// With `import_rejected`: the import's anomalies, as an import's answer lists them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anomalies: Option<serde_json::Value>,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Quorum API",
        description = "The JSON API of Quorum, a self-hosted platform for human data labeling. \
            Authenticate with `Authorization: Bearer <token>` (API tokens are made under API tokens \
            or with `quorum token create`), or with the browser session plus the `X-CSRF-Token` header.",
        license(name = "Apache-2.0")
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct Base;

/// The whole document: the shared parts and every feature's routes.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi();
    doc.merge(crate::people::api::ApiDoc::openapi());
    doc.merge(crate::tasks::api::ApiDoc::openapi());
    doc.merge(crate::labeling::api::ApiDoc::openapi());
    doc.merge(crate::review::api::ApiDoc::openapi());
    doc.merge(crate::export::api::ApiDoc::openapi());
    doc.merge(crate::items::api::ApiDoc::openapi());
    doc.merge(crate::sampling::api::ApiDoc::openapi());
    doc.merge(crate::layout::api::ApiDoc::openapi());
    doc.merge(crate::validation::api::ApiDoc::openapi());
    doc.merge(crate::outcomes::api::ApiDoc::openapi());
    doc.merge(crate::webhooks::api::ApiDoc::openapi());
    doc.merge(OpenApiDoc::openapi());
    doc
}

/// The document as served and as checked in (`openapi.json` at the top of the repository).
pub fn document_json() -> String {
    let mut text = document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// The OpenAPI description of this API.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json"))
)]
pub async fn openapi_json() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
        .into_response()
}

#[derive(OpenApi)]
#[openapi(paths(openapi_json))]
struct OpenApiDoc;

/// The typed ids appear in the document as what they are on the wire: 64-bit integers, each
/// under its own name so a reader sees which id a field holds.
macro_rules! id_schema {
    ($($name:ident: $what:literal),* $(,)?) => {$(
        impl utoipa::PartialSchema for crate::domain::ids::$name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::Integer)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                        utoipa::openapi::KnownFormat::Int64,
                    )))
                    .description(Some($what))
                    .into()
            }
        }
        impl utoipa::ToSchema for crate::domain::ids::$name {}
    )*};
}

id_schema! {
    UserId: "A user's id.",
    InviteId: "An invite's id.",
    TokenId: "An API token's id.",
    TaskId: "A task's id.",
    ItemId: "An item's id.",
    ShardId: "A shard's (lease's) id.",
    ImportId: "An import's id.",
    ExportId: "An export snapshot's id.",
}
