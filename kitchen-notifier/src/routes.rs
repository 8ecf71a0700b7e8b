//! HTTP surface: the kitchen WebSocket handshake and the operational endpoints. Every refusal
//! is JSON `{"detail": …}`, like order-service's, and happens before anything is upgraded.

use std::{collections::HashMap, sync::atomic::Ordering};

use axum::{
    Json, Router,
    extract::{Path, Query, State, rejection::QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use fastwebsockets::upgrade::IncomingUpgrade;
use serde_json::json;
use shared_types::{ErrorBody, Slug};

use crate::{
    hub::{SubscribeError, Viewer},
    state::AppState,
    tickets::TicketError,
    ws,
};

/// The notifier's routes; `/metrics` among them unless it has a listener of its own
/// (`METRICS_ADDR`).
pub fn router(state: AppState, with_metrics: bool) -> Router {
    let routes = Router::new()
        .route("/ws/kitchen/{slug}/", get(kitchen_socket))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz));
    let routes = if with_metrics {
        routes.route("/metrics", get(service_common::metrics::render))
    } else {
        routes
    };
    routes
        .route_layer(axum::middleware::from_fn(
            service_common::metrics::track_http,
        ))
        .fallback(|| async { refuse(StatusCode::NOT_FOUND, "Not found.") })
        .method_not_allowed_fallback(|| async {
            refuse(
                StatusCode::METHOD_NOT_ALLOWED,
                "Method not allowed on this path.",
            )
        })
        // Spans carry the path only: the query string holds the ticket, a bearer credential.
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .on_failure(tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG))
                .make_span_with(service_common::telemetry::http_request_span),
        )
        .with_state(state)
}

fn refuse(status: StatusCode, detail: &str) -> Response {
    service_common::http::error_response(status, ErrorBody::new(detail), "Ticket")
}

/// `GET /ws/kitchen/{slug}/?ticket=…[&after=seq]`: 401 for a missing, bad or expired ticket,
/// 403 for another restaurant's (or one issued before its user's removal from the staff was
/// heard here), 400 for a malformed `after` or a request that is not a WebSocket upgrade. The restaurant's binding is in place before the 101 goes out.
async fn kitchen_socket(
    state: State<AppState>,
    slug: Result<Path<String>, axum::extract::rejection::PathRejection>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    upgrade: Result<IncomingUpgrade, StatusCode>,
) -> Response {
    let response = match slug {
        Ok(slug) => handshake(state, slug, query, upgrade).await,
        Err(_) => refuse(StatusCode::NOT_FOUND, "Not found."),
    };
    metrics::counter!("ws_handshakes_total", "result" => response.status().as_str().to_owned())
        .increment(1);
    response
}

async fn handshake(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    upgrade: Result<IncomingUpgrade, StatusCode>,
) -> Response {
    let Ok(Query(params)) = query else {
        return refuse(StatusCode::BAD_REQUEST, "The query string is malformed.");
    };
    let Some(ticket) = params.get("ticket").filter(|t| !t.is_empty()) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "A ticket is required: ?ticket=… from POST /api/kitchen/{slug}/ws-ticket/.",
        );
    };
    let claims = match state.tickets.verify(ticket).await {
        Ok(claims) => claims,
        Err(TicketError::Invalid) => {
            return refuse(StatusCode::UNAUTHORIZED, &TicketError::Invalid.to_string());
        }
        Err(TicketError::KeyUnavailable) => {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                &TicketError::KeyUnavailable.to_string(),
            );
        }
    };
    let after = match params.get("after") {
        None => None,
        Some(text) => match text.parse::<i64>() {
            Ok(seq) if seq >= 0 => Some(seq),
            _ => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "after must be a whole number of 0 or more.",
                );
            }
        },
    };
    let slug = match Slug::parse(&slug) {
        Ok(slug) if slug.as_str() == claims.slug => slug,
        _ => {
            return refuse(
                StatusCode::FORBIDDEN,
                "This ticket is for another restaurant.",
            );
        }
    };
    let Ok(upgrade) = upgrade else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Expected a WebSocket upgrade request.",
        );
    };
    if state.shutdown.is_cancelled() {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "The notifier is shutting down.",
        );
    }
    // A place is taken before anything is set up, so concurrent handshakes cannot overshoot
    // the cap; the sockets already open are not touched.
    let Some(mut place) = SocketPlace::take(&state.connected_sockets, state.tuning.max_connections)
    else {
        metrics::counter!("ws_capacity_refusals_total").increment(1);
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "This notifier holds as many sockets as it may; try again shortly or another instance.",
        );
    };
    let viewer = Viewer {
        user_id: claims.sub,
        ticket_issued_at: claims.iat,
    };
    let subscription = match state.hub.subscribe(slug.clone(), after, viewer).await {
        Ok(subscription) => subscription,
        Err(SubscribeError::AccessRemoved) => {
            return refuse(
                StatusCode::FORBIDDEN,
                "You were removed from this restaurant's staff after this ticket was issued.",
            );
        }
        Err(SubscribeError::Bind(error)) => {
            tracing::warn!(%slug, %error, "cannot subscribe");
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "The event feed is unavailable; try again shortly.",
            );
        }
    };
    let (response, socket) = match upgrade.upgrade() {
        Ok(pair) => pair,
        Err(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "Expected a WebSocket upgrade request.",
            );
        }
    };
    let tuning = state.tuning.clone();
    let shutdown = state.shutdown.child_token();
    state.sockets.spawn(async move {
        let Ok(ws) = socket.await else {
            return;
        };
        place.opened();
        let ended = ws::serve(ws, subscription, tuning, shutdown).await;
        drop(place);
        metrics::counter!("ws_closed_total", "reason" => ended.as_str()).increment(1);
        tracing::debug!(%slug, ?ended, "kitchen socket closed");
    });
    response.into_response()
}

/// One socket's place under `NOTIFIER_MAX_CONNECTIONS`, from the handshake until the socket
/// ends; released on drop, whichever way the handshake or the socket ends.
struct SocketPlace {
    count: std::sync::Arc<std::sync::atomic::AtomicI64>,
    /// Counted in `ws_connections` (the upgrade completed).
    open: bool,
}

impl SocketPlace {
    fn take(count: &std::sync::Arc<std::sync::atomic::AtomicI64>, max: usize) -> Option<Self> {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (held < max).then_some(held + 1)
            })
            .ok()
            .map(|_| SocketPlace {
                count: count.clone(),
                open: false,
            })
    }

    /// The socket is open. The gauge moves by one, not to a value read here: two sockets
    /// opening and closing at once cannot then leave it off by one.
    fn opened(&mut self) {
        self.open = true;
        metrics::gauge!("ws_connections").increment(1.0);
    }
}

impl Drop for SocketPlace {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::AcqRel);
        if self.open {
            metrics::gauge!("ws_connections").decrement(1.0);
        }
    }
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Ready while the broker link is up (API.md). Whether tickets can be checked yet shows in the
/// body; handshakes answer 503 until they can.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.broker.is_connected() {
        Json(json!({"status": "ready", "ticket_key_loaded": state.tickets.has_key()}))
            .into_response()
    } else {
        refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "The broker connection is down.",
        )
    }
}
