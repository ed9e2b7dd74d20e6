//! The router and its layers, in one readable order. `fn app(state)` builds everything so tests
//! can reach the same stack, and [`route_list`] names every route for the authorization matrix.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodFilter, on};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::{AppError, ErrorInfo};
use crate::http::access_log;
use crate::http::pages::ErrorPage;
use crate::state::AppState;

/// One registered route: its method and path as written in the router.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
}

/// A router that remembers what was registered, so the route list can never drift from it.
pub struct Routes {
    router: Router<AppState>,
    list: Vec<RouteSpec>,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    pub fn new() -> Self {
        Routes {
            router: Router::new(),
            list: Vec::new(),
        }
    }

    fn add<H, T>(
        mut self,
        method: &'static str,
        filter: MethodFilter,
        path: &'static str,
        handler: H,
    ) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.list.push(RouteSpec { method, path });
        self.router = self.router.route(path, on(filter, handler));
        self
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("GET", MethodFilter::GET, path, h)
    }
    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("POST", MethodFilter::POST, path, h)
    }
    pub fn put<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("PUT", MethodFilter::PUT, path, h)
    }
    pub fn patch<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("PATCH", MethodFilter::PATCH, path, h)
    }
    pub fn delete<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, h: H) -> Self {
        self.add("DELETE", MethodFilter::DELETE, path, h)
    }

    /// Adds a layer to the routes registered so far (e.g. a larger body limit for uploads).
    pub fn layer_so_far<L>(mut self, layer: L) -> Self
    where
        L: tower::Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
        L::Service: tower::Service<Request, Error = std::convert::Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as tower::Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as tower::Service<Request>>::Future: Send + 'static,
    {
        self.router = self.router.layer(layer);
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.list.extend(other.list);
        self.router = self.router.merge(other.router);
        self
    }
}

fn all_routes() -> Routes {
    Routes::new()
        .merge(crate::http::routes())
        .merge(crate::people::routes())
        .merge(crate::tasks::routes())
        .merge(crate::labeling::routes())
        .merge(crate::review::routes())
        .merge(crate::items::routes())
        .merge(crate::export::routes())
        .merge(crate::sampling::routes())
        .merge(crate::layout::routes())
        .merge(crate::validation::routes())
        .merge(crate::outcomes::routes())
        .merge(crate::webhooks::routes())
}

/// Every route the server answers, for the authorization matrix test.
pub fn route_list() -> Vec<RouteSpec> {
    all_routes().list
}

/// The whole application: routes plus every layer.
pub fn app(state: AppState) -> Router {
    let csrf = CsrfLayer::new()
        .with_rejection_response(|_e| AppError::Csrf("cross-site request refused").into_response());
    all_routes()
        .router
        .fallback(|| async { AppError::NotFound })
        // Innermost first: the layers below run bottom-up on the way in.
        .layer(middleware::from_fn(crate::auth::csrf::require_token))
        .layer(middleware::from_fn(access_log::record_user))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::extract::resolve,
        ))
        .layer(csrf)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(300),
        ))
        .layer(middleware::from_fn_with_state(state.clone(), render_errors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            AppError::internal("a request handler panicked").into_response()
        }))
        .layer(middleware::from_fn(crate::http::metrics::track))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(access_log::make_span)
                .on_request(())
                .on_response(access_log::log_response),
        )
        .layer(PropagateRequestIdLayer::new(access_log::REQUEST_ID))
        .layer(SetRequestIdLayer::new(
            access_log::REQUEST_ID,
            access_log::MakeId,
        ))
        .layer(middleware::from_fn(access_log::sanitize_request_id))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            header::SET_COOKIE,
            header::HeaderName::from_static("x-csrf-token"),
        ]))
        .with_state(state)
}

/// Sets the security headers on every response, errors included.
async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_static = req.uri().path().starts_with("/static/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: http: data:; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !is_static {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.config.cookies_secure() {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    h.remove(header::SERVER);
    res
}

/// Turns error responses into JSON (for `/api/…`) or an HTML page (everything else). A page
/// request without a session is sent to the login page instead of a bare 401.
async fn render_errors(State(_state): State<AppState>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let is_head = req.method() == Method::HEAD;
    // After signing in, the browser comes back with a GET: only GET/HEAD requests are worth returning to.
    let returnable = matches!(*req.method(), Method::GET | Method::HEAD);
    let is_api = path.starts_with("/api/") || path == "/healthz" || path == "/metrics";
    let res = next.run(req).await;
    let status = res.status();
    if status.as_u16() < 400 {
        return res;
    }
    // A page a handler rendered itself (a form shown again with its error, a 410 invite page)
    // is kept as it is: only bare errors are rendered here.
    let is_html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !is_api && is_html && res.extensions().get::<ErrorInfo>().is_none() {
        return res;
    }
    let info = res.extensions().get::<ErrorInfo>().cloned();
    let info = match info {
        Some(i) => i,
        // Errors made below us without an ErrorInfo (axum's 405, a limit's 413): rendered here too.
        // Errors made below us without an ErrorInfo (axum's 405, a limit's 413, an extractor's
        // rejection): rendered here too, with a plain message and never the inner text.
        None => ErrorInfo {
            code: default_code(status),
            message: default_message(status).into(),
            line: None,
            anomalies: None,
        },
    };
    let (mut parts, _) = res.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    if is_api {
        let mut err = serde_json::json!({"code": info.code, "message": info.message});
        if let Some(line) = info.line {
            err["line"] = line.into();
        }
        if let Some(a) = info.anomalies {
            err["anomalies"] = a;
        }
        let body = serde_json::json!({ "error": err }).to_string();
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return Response::from_parts(
            parts,
            if is_head {
                Body::empty()
            } else {
                Body::from(body)
            },
        );
    }
    if status == StatusCode::UNAUTHORIZED {
        if !returnable {
            return Redirect::to("/login?next=%2F").into_response();
        }
        let mut next_path = path.clone();
        if let Some(q) = query {
            next_path.push('?');
            next_path.push_str(&q);
        }
        let target = format!(
            "/login?next={}",
            percent_encoding::utf8_percent_encode(&next_path, percent_encoding::NON_ALPHANUMERIC)
        );
        return Redirect::to(&target).into_response();
    }
    let chrome = parts
        .extensions
        .get::<crate::http::pages::Chrome>()
        .cloned()
        .unwrap_or_else(crate::http::pages::Chrome::anonymous);
    let page = ErrorPage {
        status: status.as_u16(),
        title: status.canonical_reason().unwrap_or("Error"),
        info,
        chrome,
    };
    let html = crate::http::pages::render(&page).unwrap_or_else(|_| String::from("error"));
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    Response::from_parts(
        parts,
        if is_head {
            Body::empty()
        } else {
            Body::from(html)
        },
    )
}

fn default_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "not_found",
        405 => "method_not_allowed",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        503 => "unavailable",
        _ => "error",
    }
}

fn default_message(status: StatusCode) -> &'static str {
    match status.as_u16() {
        404 => "not found",
        405 => "this method is not allowed here",
        413 => "request body too large",
        415 => "unsupported content type",
        503 => "the server is busy or the request took too long",
        _ => status.canonical_reason().unwrap_or("error"),
    }
}
