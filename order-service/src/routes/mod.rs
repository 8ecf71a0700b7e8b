//! The HTTP surface: one module per group of routes in API.md.

mod access;
mod auth;
mod customer;
mod kitchen;
mod menu;
mod ops;
mod restaurants;

use std::time::Duration;

use axum::{
    Router,
    body::Body,
    http::{HeaderValue, Response, StatusCode, header},
    response::IntoResponse,
    routing::{delete, get, patch, post},
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

use crate::state::AppState;

pub use access::Access;

pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(service_common::metrics::render))
        .route("/api/auth/register/", post(auth::register))
        .route("/api/auth/login/", post(auth::login))
        .route("/api/auth/refresh/", post(auth::refresh))
        .route(
            "/api/restaurants/",
            post(restaurants::create).get(restaurants::list),
        )
        .route(
            "/api/restaurants/{slug}/staff/",
            post(restaurants::add_staff),
        )
        .route(
            "/api/restaurants/{slug}/staff/{user_id}/",
            delete(restaurants::remove_staff),
        )
        .route(
            "/api/restaurants/{slug}/menu/categories/",
            post(menu::create_category),
        )
        .route(
            "/api/restaurants/{slug}/menu/items/",
            post(menu::create_item),
        )
        .route(
            "/api/restaurants/{slug}/menu/items/{item_id}/",
            patch(menu::update_item),
        )
        .route(
            "/api/restaurants/{slug}/menu/variants/{variant_id}/",
            patch(menu::update_variant),
        )
        .route(
            "/api/restaurants/{slug}/menu/modifiers/{modifier_id}/",
            patch(menu::update_modifier),
        )
        .route("/api/order/{slug}/menu/", get(customer::menu))
        .route("/api/order/{slug}/confirm/", post(customer::confirm))
        .route(
            "/api/order/{slug}/status/{order_id}/",
            get(customer::status),
        )
        .route(
            "/api/kitchen/orders/{order_id}/",
            patch(kitchen::update_status),
        )
        .route("/api/kitchen/{slug}/orders/", get(kitchen::active_orders))
        .route("/api/kitchen/{slug}/events/", get(kitchen::events))
        .route("/api/kitchen/{slug}/ws-ticket/", post(kitchen::ws_ticket))
        .route("/api/kitchen/ticket-key/", get(kitchen::ticket_key))
        // After routing, so the route template labels the request metrics.
        .route_layer(axum::middleware::from_fn(
            service_common::metrics::track_http,
        ))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
                .layer(
                    // Failures are logged where they happen (ApiError); a 503 from /readyz is
                    // not worth an error line.
                    TraceLayer::new_for_http().on_failure(
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
                .layer(CorsLayer::permissive()),
        )
        .with_state(state)
}

async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        axum::Json(ErrorBody::new("Not found.")),
    )
}

async fn method_not_allowed() -> impl IntoResponse {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        axum::Json(ErrorBody::new("Method not allowed on this path.")),
    )
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    tracing::error!("a request handler panicked");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(ErrorBody::new("Internal server error.")),
    )
        .into_response()
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
    let (mut parts, _) = response.into_parts();
    let body = serde_json::to_vec(&ErrorBody::new(detail)).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if status == StatusCode::SERVICE_UNAVAILABLE && !parts.headers.contains_key(header::RETRY_AFTER)
    {
        parts
            .headers
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    Response::from_parts(parts, Body::from(body))
}
