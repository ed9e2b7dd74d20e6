//! What every handler shares: extractors, page chrome and rendering, static assets, the health
//! check and the metrics endpoint. Features build on this; nothing here knows a feature.

pub mod access_log;
pub mod api_reference;
pub mod assets;
pub mod client_addr;
pub mod extract;
pub mod health;
pub mod metrics;
pub mod openapi;
pub mod page;
pub mod pages;

use crate::app::Routes;

/// The largest import body accepted (item and label imports stream their body to disk).
pub const IMPORT_LIMIT: usize = 1 << 30;

/// The routes every deployment has, whatever its features.
pub fn routes() -> Routes {
    Routes::new()
        .get("/static/{file}", assets::serve)
        .get("/healthz", health::healthz)
        .get("/metrics", metrics::metrics)
        .get("/api/v1/openapi.json", openapi::openapi_json)
        .get("/admin/api", api_reference::page)
}

/// Gives `routes` the import body limit instead of the 2 MB default: imports stream their body.
pub fn with_import_limit(routes: Routes) -> Routes {
    routes
        .layer_so_far(tower_http::limit::RequestBodyLimitLayer::new(IMPORT_LIMIT))
        .layer_so_far(axum::extract::DefaultBodyLimit::max(IMPORT_LIMIT))
}
