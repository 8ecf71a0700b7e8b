use std::str::FromStr;

use axum::{
    extract::State,
    http::{HeaderMap, header},
};
use serde::Deserialize;
use shared_types::{ErrorBody, Order, OrderStatus};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Access;
use crate::{
    auth::AuthUser,
    domain::roles::Staff,
    dto::{EventPage, KitchenList, Ticket, TicketKey},
    error::{ApiError, ApiResult},
    extract::{Json, PathParam, Query},
    state::AppState,
    storage::{self, events::Page},
    telemetry,
};

#[derive(Deserialize, ToSchema)]
pub struct StatusChange {
    /// `preparing`, `ready`, `completed` or `cancelled`.
    status: String,
}

/// Moves an order to a new status: one conditional UPDATE, so of two concurrent moves from the
/// same state exactly one wins; the other gets 400 (no longer allowed) or 409 (changed).
#[utoipa::path(patch, path = "/api/kitchen/orders/{order_id}/", tag = "kitchen", request_body = StatusChange,
    params(("order_id" = Uuid, Path),
           ("If-Match" = Option<String>, Header, description = "The order's version (3 or \"3\"): 409 if it is no longer that")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order with its new status and version + 1", body = Order),
        (status = 400, description = "Move not allowed (the allowed moves are named) or unknown status", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such order, or the caller is not staff of its restaurant", body = ErrorBody),
        (status = 409, description = "Stale If-Match version, or changed concurrently", body = ErrorBody),
    ))]
pub async fn update_status(
    State(state): State<AppState>,
    user: AuthUser,
    PathParam(order_id): PathParam<Uuid>,
    headers: HeaderMap,
    Json(body): Json<StatusChange>,
) -> ApiResult<axum::Json<Order>> {
    let current = storage::orders::find_for_staff(&state.db, order_id, user.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Order"))?;
    let to = OrderStatus::from_str(&body.status).map_err(|_| {
        ApiError::field(
            "status",
            format!(
                "'{}' is not a status; expected one of {}",
                body.status,
                OrderStatus::ALL.map(|s| s.as_str()).join(", ")
            ),
        )
    })?;
    let expected_version = if_match_version(&headers)?;
    if expected_version.is_some_and(|expected| expected != current.order.version) {
        return Err(stale_version(current.order.version));
    }
    current
        .order
        .status
        .check_move(to)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if let Some(order) =
        storage::orders::transition(&state.db, &current, to, &telemetry::current_trace_context())
            .await?
    {
        return Ok(axum::Json(order));
    }
    // Someone else changed the order between our read and our UPDATE.
    let now = storage::orders::find_for_staff(&state.db, order_id, user.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Order"))?
        .order;
    if expected_version.is_some() {
        return Err(stale_version(now.version));
    }
    now.status
        .check_move(to)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Err(ApiError::conflict(format!(
        "The order changed while this request was handled (now '{}', version {}); retry if still intended.",
        now.status, now.version
    )))
}

fn stale_version(current: i32) -> ApiError {
    ApiError::conflict(format!(
        "The order is no longer at the version given in If-Match (it is at version {current})."
    ))
}

/// `If-Match: 3` or `If-Match: "3"`; `*` matches any version.
fn if_match_version(headers: &HeaderMap) -> ApiResult<Option<i32>> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    let unquoted = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    unquoted
        .parse::<i32>()
        .ok()
        .filter(|v| *v >= 1)
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request("If-Match must be an order version, such as 3 or \"3\".")
        })
}

/// The kitchen list: every active order, oldest first, with the `seq` it is current as of.
#[utoipa::path(get, path = "/api/kitchen/{slug}/orders/", tag = "kitchen", params(("slug" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = KitchenList),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
pub async fn active_orders(
    State(state): State<AppState>,
    access: Access<Staff>,
) -> ApiResult<axum::Json<KitchenList>> {
    let (seq, orders) = storage::orders::active(&state.db, access.restaurant_id).await?;
    Ok(axum::Json(KitchenList { seq, orders }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Events with `seq` above this (default 0).
    after: Option<i64>,
    /// At most this many (default 500, 1..=1000).
    limit: Option<i64>,
}

pub const EVENTS_DEFAULT_LIMIT: i64 = 500;
pub const EVENTS_MAX_LIMIT: i64 = 1000;

#[utoipa::path(get, path = "/api/kitchen/{slug}/events/", tag = "kitchen",
    params(("slug" = String, Path), EventsQuery), security(("bearer" = [])),
    responses(
        (status = 200, body = EventPage),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 410, description = "`after` is older than what is kept", body = ErrorBody),
    ))]
pub async fn events(
    State(state): State<AppState>,
    access: Access<Staff>,
    Query(query): Query<EventsQuery>,
) -> ApiResult<axum::Json<EventPage>> {
    let after = query.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::field("after", "must be 0 or more"));
    }
    let limit = query.limit.unwrap_or(EVENTS_DEFAULT_LIMIT);
    if !(1..=EVENTS_MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field(
            "limit",
            format!("must be between 1 and {EVENTS_MAX_LIMIT}"),
        ));
    }
    match storage::events::page(&state.db, access.restaurant_id, after, limit).await? {
        Page::Events { events, last_seq } => Ok(axum::Json(EventPage { events, last_seq })),
        Page::Gone { oldest_kept } => Err(ApiError::Gone(match oldest_kept {
            Some(oldest) => format!(
                "Events after seq {after} are no longer kept (the oldest kept is {oldest}); reload the kitchen list."
            ),
            None => {
                format!("Events after seq {after} are no longer kept; reload the kitchen list.")
            }
        })),
    }
}

/// A ticket for the kitchen WebSocket of this restaurant, valid 60 seconds.
#[utoipa::path(post, path = "/api/kitchen/{slug}/ws-ticket/", tag = "kitchen", params(("slug" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Ticket),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
pub async fn ws_ticket(
    State(state): State<AppState>,
    access: Access<Staff>,
) -> ApiResult<axum::Json<Ticket>> {
    let ticket = state.tickets.issue(access.user_id, &access.slug)?;
    Ok(axum::Json(Ticket {
        ticket,
        expires_in: shared_types::TICKET_TTL_SECS,
    }))
}

/// The public key that verifies tickets, for kitchen-notifiers not given one in configuration.
#[utoipa::path(get, path = "/api/kitchen/ticket-key/", tag = "kitchen", responses((status = 200, body = TicketKey)))]
pub async fn ticket_key(State(state): State<AppState>) -> axum::Json<TicketKey> {
    axum::Json(TicketKey {
        algorithm: "EdDSA".into(),
        public_key: state.tickets.public_key_pem().to_owned(),
    })
}
