//! The HTTP surface: one module per group of routes in API.md.

mod access;
mod auth;
mod customer;
mod kitchen;
mod menu;
mod openapi;
mod ops;
pub mod pages;
mod restaurants;
mod stations;
mod stats;

use std::time::Duration;

use axum::{
    Router,
    body::Body,
    http::{HeaderValue, Response, StatusCode, header},
    routing::get,
};
use shared_types::ErrorBody;
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::CorsLayer,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{error::error_response, state::AppState};

pub use access::Access;

pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(title = "Kitchen order system: order-service", version = "1.0.0",
         description = "Orders from the customer to the kitchen. Every error is JSON {\"detail\": ...}."),
    modifiers(&BearerAuth),
    tags((name = "auth"), (name = "restaurants"), (name = "menu"), (name = "customer"), (name = "kitchen"), (name = "operations"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Every route with its OpenAPI description: the router and the document come from the same
/// list, so they cannot drift apart.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(restaurants::create, restaurants::list))
        .routes(routes!(restaurants::add_staff))
        .routes(routes!(restaurants::remove_staff))
        .routes(routes!(menu::create_category))
        .routes(routes!(menu::update_category))
        .routes(routes!(menu::create_item))
        .routes(routes!(menu::update_item))
        .routes(routes!(menu::update_variant))
        .routes(routes!(menu::update_modifier))
        .routes(routes!(stations::create_station, stations::list_stations))
        .routes(routes!(stations::rename_station, stations::delete_station))
        .routes(routes!(customer::menu))
        .routes(routes!(customer::confirm))
        .routes(routes!(customer::status))
        .routes(routes!(kitchen::update_order))
        .routes(routes!(kitchen::update_lines))
        .routes(routes!(kitchen::recall))
        .routes(routes!(kitchen::active_orders))
        .routes(routes!(kitchen::events))
        .routes(routes!(kitchen::ws_ticket))
        .routes(routes!(kitchen::ticket_key))
        .routes(routes!(stats::stats))
        .split_for_parts();
    (router, completed(document))
}

/// The document with what every route of a kind shares (`openapi::complete`).
fn completed(document: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let Ok(mut json) = serde_json::to_value(&document) else {
        return document;
    };
    openapi::complete(&mut json);
    serde_json::from_value(json).unwrap_or(document)
}

/// Headers every response carries, and `Cache-Control: no-store` on every API response that
/// does not set its own: tokens (register, login, refresh, ws-ticket) must not sit in a cache.
async fn protective_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response<Body> {
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if api && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Cross-origin browser access for the configured origins only (none by default: the
/// service's own pages are same-origin).
fn cors(allowed_origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = allowed_origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(tower_http::cors::AllowOrigin::list(origins))
        .allow_methods([
            axum::http::Method::GET,
            axum::http::Method::POST,
            axum::http::Method::PATCH,
            axum::http::Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            header::HeaderName::from_static("idempotency-key"),
        ])
        .max_age(Duration::from_secs(600))
}

pub fn router(state: AppState, allowed_origins: &[String]) -> Router {
    let (routes, document) = api();
    let document = document.to_pretty_json().unwrap_or_default();
    routes
        .route(
            "/api/openapi.json",
            get(move || {
                let document = document.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], document) }
            }),
        )
        .merge(pages::router())
        // After routing, so the route template labels the request metrics.
        .route_layer(axum::middleware::from_fn(
            service_common::metrics::track_http,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn(protective_headers))
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    // Failures are logged where they happen (ApiError); a 503 from /readyz is
                    // not worth an error line.
                    TraceLayer::new_for_http()
                        .make_span_with(service_common::telemetry::http_request_span)
                        .on_failure(
                            tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG),
                        ),
                )
                .layer(PropagateRequestIdLayer::x_request_id())
                // Outside the layers below, so their plain-text errors become JSON too.
                .layer(axum::middleware::map_response(json_errors))
                .layer(CatchPanicLayer::custom(panic_response))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Duration::from_secs(10),
                ))
                .layer(RequestBodyLimitLayer::new(BODY_LIMIT_BYTES))
                .layer(cors(allowed_origins)),
        )
        .with_state(state)
}

async fn not_found() -> Response<Body> {
    error_response(StatusCode::NOT_FOUND, ErrorBody::new("Not found."))
}

async fn method_not_allowed() -> Response<Body> {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorBody::new("Method not allowed on this path."),
    )
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    tracing::error!("a request handler panicked");
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        ErrorBody::new("Internal server error."),
    )
}

/// Rewrites any error response that is not JSON yet (from tower layers: body limit, timeout)
/// into the API's `{"detail": …}` format, keeping its status and headers.
async fn json_errors<B>(response: Response<B>) -> Response<Body>
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response.map(Body::new);
    }
    let detail = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "The request body is larger than 64 KiB.".to_owned(),
        StatusCode::SERVICE_UNAVAILABLE => "The service is busy; try again shortly.".to_owned(),
        other => format!("{}.", other.canonical_reason().unwrap_or("Error")),
    };
    let (parts, _) = response.into_parts();
    let mut rewritten = error_response(status, ErrorBody::new(detail));
    // The layer's own headers (CORS, its own Retry-After) win over the defaults; its body's
    // length and type are gone with its body.
    for name in parts.headers.keys() {
        if name == header::CONTENT_LENGTH || name == header::CONTENT_TYPE {
            continue;
        }
        rewritten.headers_mut().remove(name);
        for value in parts.headers.get_all(name) {
            rewritten.headers_mut().append(name, value.clone());
        }
    }
    *rewritten.extensions_mut() = parts.extensions;
    rewritten
}
