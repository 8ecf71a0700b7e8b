use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::{Value, json};
use shared_types::{ErrorBody, Order};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Access;
use crate::{
    auth::AuthUser,
    domain::{
        fields::FieldErrors,
        kitchen::{self, Decision, KitchenWrite, LinesChange, OrderPatch, Refusal},
        orders::IdempotencyKey,
        roles::Staff,
    },
    dto::{EventPage, KitchenList, Ticket, TicketKey},
    error::{ApiError, ApiResult},
    extract::{Json, PathParam, Query},
    state::AppState,
    storage::{self, events::Page},
    telemetry,
};

/// `PATCH /api/kitchen/orders/{order_id}/` (documentation of the body; it is parsed into an
/// `OrderPatch`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
#[allow(dead_code)]
pub struct OrderPatchBody {
    /// The status to move to (only the moves of the status machine are allowed).
    #[schema(required = false)]
    status: shared_types::OrderStatus,
    /// A rush ticket (not on a completed or cancelled order).
    #[schema(required = false)]
    rush: bool,
}

/// `PATCH /api/kitchen/orders/{order_id}/items/`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct LinesBody {
    /// Lines of this order (1..=100 ids).
    #[schema(min_items = 1, max_items = 100)]
    line_ids: Vec<i64>,
    /// Crossed off (`true`) or restored (`false`).
    done: bool,
}

/// Moves an order to a new status and/or sets its rush flag: one conditional write, so of two
/// concurrent moves from the same state exactly one wins; the other gets 400 (no longer
/// allowed) or 409 (changed).
#[utoipa::path(patch, path = "/api/kitchen/orders/{order_id}/", tag = "kitchen", request_body = OrderPatchBody,
    params(("order_id" = Uuid, Path),
           ("If-Match" = Option<String>, Header, description = "The order's version (3 or \"3\"): 409 if it is no longer that"),
           ("Idempotency-Key" = Option<String>, Header, description = "1..=255 printable ASCII characters; a retry with the same key and body gets the first answer")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order with its new status and/or rush, version + 1 (or as it is if nothing changed)", body = Order),
        (status = 400, description = "Move not allowed (the allowed moves are named), unknown status, rush on a final order, empty body", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "No such order, or the caller is not staff of its restaurant", body = ErrorBody),
        (status = 409, description = "Stale If-Match version, changed concurrently, or the Idempotency-Key was used with another request", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 503, body = ErrorBody),
    ))]
pub async fn update_order(
    State(state): State<AppState>,
    user: AuthUser,
    PathParam(order_id): PathParam<Uuid>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> ApiResult<Response> {
    let write = OrderPatch::parse(&body).map(KitchenWrite::Patch);
    kitchen_write(&state, &user, order_id, &headers, write, body).await
}

/// Crosses lines off or restores them; the order moves by itself (first line done →
/// preparing, last → ready, one restored on a ready order → preparing) in the same change.
#[utoipa::path(patch, path = "/api/kitchen/orders/{order_id}/items/", tag = "kitchen", request_body = LinesBody,
    params(("order_id" = Uuid, Path),
           ("If-Match" = Option<String>, Header, description = "The order's version: 409 if it is no longer that"),
           ("Idempotency-Key" = Option<String>, Header, description = "1..=255 printable ASCII characters")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order (unchanged, and no event, if every line already was as asked)", body = Order),
        (status = 400, description = "Empty line_ids, a line of another order, or the order is completed or cancelled", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 503, body = ErrorBody),
    ))]
pub async fn update_lines(
    State(state): State<AppState>,
    user: AuthUser,
    PathParam(order_id): PathParam<Uuid>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> ApiResult<Response> {
    let write = LinesChange::parse(&body).map(KitchenWrite::Lines);
    kitchen_write(&state, &user, order_id, &headers, write, body).await
}

/// Undoes the order's last status move (completed → ready → preparing → confirmed) if it was
/// made at most 30 minutes ago.
#[utoipa::path(post, path = "/api/kitchen/orders/{order_id}/recall/", tag = "kitchen",
    params(("order_id" = Uuid, Path),
           ("If-Match" = Option<String>, Header, description = "The order's version: 409 if it is no longer that"),
           ("Idempotency-Key" = Option<String>, Header, description = "1..=255 printable ASCII characters")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The order, one status move back, with recalled_at set", body = Order),
        (status = 400, description = "A confirmed or cancelled order, or the move is more than 30 minutes old", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody),
    ))]
pub async fn recall(
    State(state): State<AppState>,
    user: AuthUser,
    PathParam(order_id): PathParam<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    kitchen_write(
        &state,
        &user,
        order_id,
        &headers,
        Ok(KitchenWrite::Recall),
        Value::Null,
    )
    .await
}

/// Writes made without `If-Match` are retried on a fresh read when a concurrent change got in
/// first, unless that change moved the status of an order this write moves: at most this often.
const MAX_ATTEMPTS: usize = 8;

/// Every kitchen write: 404 unless the caller is staff of the order's restaurant; with an
/// `Idempotency-Key`, the answer stored for it (or 409 for another request), else the write,
/// whose answer is kept under the key.
async fn kitchen_write(
    state: &AppState,
    user: &AuthUser,
    order_id: Uuid,
    headers: &HeaderMap,
    write: Result<KitchenWrite, FieldErrors>,
    body: Value,
) -> ApiResult<Response> {
    if let Ok(write) = &write
        && !headers.contains_key("idempotency-key")
        && let Some(order) = write_on_cached_copy(state, user, order_id, headers, write).await?
    {
        return Ok(axum::Json(order).into_response());
    }
    let current = storage::orders::find_for_staff(&state.db, order_id, user.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Order"))?;
    let key = headers
        .get("idempotency-key")
        .map(|value| IdempotencyKey::parse(value.as_bytes()))
        .transpose()?;
    // A malformed If-Match is a 400 even when a stored answer for the key would follow.
    if_match_version(headers)?;
    // A body with a NUL anywhere is never a valid write, and the copy of the request kept
    // with a key could not hold it (PostgreSQL's jsonb refuses `\u0000`): refused as it is.
    if let Err(errors) = &write
        && holds_nul(&body)
    {
        return Err(errors.clone().into());
    }
    let operation = match &write {
        Ok(write) => write.operation(),
        Err(_) => "invalid",
    };
    // What a key's stored answer is matched against; only built when there is a key.
    let request = match key {
        Some(_) => json!({"operation": operation, "body": body}),
        None => Value::Null,
    };
    if let Some(key) = &key
        && let Some(stored) =
            storage::orders::kitchen_answer(&state.db, order_id, key, &request).await?
    {
        return replay(stored);
    }
    let outcome = match write {
        Ok(write) => {
            write_with_retries(
                state,
                user,
                current,
                headers,
                &write,
                key.as_ref(),
                &request,
            )
            .await
        }
        Err(errors) => Err(errors.into()),
    };
    // A written change kept its answer in the same statement; an answer that wrote nothing
    // (no change needed, or refused) is kept now.
    let (status, answer) = match (outcome, &key) {
        (Ok(Written::Replayed(stored)), _) => return replay(stored),
        (Ok(Written::Changed(order)), _) | (Ok(Written::Unchanged(order)), None) => {
            return Ok(axum::Json(order).into_response());
        }
        (Err(error), None) => return Err(error),
        (Ok(Written::Unchanged(order)), Some(_)) => (StatusCode::OK, to_json(&order)?),
        (Err(error), Some(_))
            if matches!(
                error.status(),
                StatusCode::BAD_REQUEST | StatusCode::CONFLICT
            ) =>
        {
            (error.status(), to_json(&error.body())?)
        }
        (Err(error), Some(_)) => return Err(error),
    };
    let Some(key) = &key else {
        return Ok((status, axum::Json(answer)).into_response());
    };
    let kept = storage::orders::keep_kitchen_answer(
        &state.db,
        order_id,
        storage::orders::KeyedAnswer {
            key,
            request: &request,
            status: status.as_u16(),
            body: &answer,
        },
    )
    .await?;
    match kept {
        // A concurrent request with this key answered first: its answer is the answer.
        Some(stored) => replay(stored),
        None => Ok((status, axum::Json(answer)).into_response()),
    }
}

/// Whether any string or key of `value` contains a NUL character.
fn holds_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| key.contains('\0') || holds_nul(value)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// The write decided on this instance's copy of the order (`storage::order_cache`), checking
/// the caller's access in the write itself: one round trip instead of two. `None` whenever
/// that is not a plain change that committed (no copy, an If-Match, nothing to change, a
/// refusal, a copy gone stale, a caller who is not staff): the ordinary path then answers from
/// a fresh read. The copy is taken out while in use, so a concurrent request on this instance
/// takes the ordinary path: whatever the timing, each answer is one that a read and a write
/// without a copy could have given (of two status moves decided on the same state, exactly one
/// wins).
async fn write_on_cached_copy(
    state: &AppState,
    user: &AuthUser,
    order_id: Uuid,
    headers: &HeaderMap,
    write: &KitchenWrite,
) -> ApiResult<Option<Order>> {
    if headers.contains_key(header::IF_MATCH) {
        return Ok(None);
    }
    let Some(cached) = state.orders.take(order_id) else {
        return Ok(None);
    };
    let Ok(Decision::Change(change)) = kitchen::decide(&cached.order, write, storage::now_micros())
    else {
        // Nothing to write from this copy: it is still as good as it was.
        state.orders.restore(cached);
        return Ok(None);
    };
    let trace = telemetry::current_trace_context();
    let written = storage::orders::apply(
        &state.db,
        &cached,
        &change,
        None,
        Some(user.user_id),
        &trace,
    )
    .await?;
    // A copy that failed its write stays out: it is stale (or the caller has no access).
    Ok(written.map(|event| state.order_committed(cached.restaurant_id, event, &trace)))
}

enum Written {
    Changed(Order),
    Unchanged(Order),
    /// A concurrent request with the same key made the change; its answer is the answer.
    Replayed(storage::orders::StoredAnswer),
}

fn to_json(value: &impl serde::Serialize) -> ApiResult<Value> {
    serde_json::to_value(value).map_err(|error| ApiError::Internal(error.into()))
}

fn replay(stored: storage::orders::StoredAnswer) -> ApiResult<Response> {
    if !stored.same_request {
        return Err(ApiError::conflict(
            "This Idempotency-Key was already used for another request on this order.",
        ));
    }
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    Ok((status, axum::Json(stored.body)).into_response())
}

async fn write_with_retries(
    state: &AppState,
    user: &AuthUser,
    mut current: storage::orders::StaffOrder,
    headers: &HeaderMap,
    write: &KitchenWrite,
    key: Option<&IdempotencyKey>,
    request: &Value,
) -> ApiResult<Written> {
    let expected_version = if_match_version(headers)?;
    let first_status = current.order.status;
    for _ in 0..MAX_ATTEMPTS {
        if expected_version.is_some_and(|expected| expected != current.order.version) {
            return Err(stale_version(current.order.version));
        }
        let change = match kitchen::decide(&current.order, write, storage::now_micros()) {
            Ok(Decision::Change(change)) => change,
            Ok(Decision::Unchanged) => return Ok(Written::Unchanged(current.order)),
            Err(Refusal::Field(errors)) => return Err(errors.into()),
            Err(Refusal::Rule(reason)) => return Err(ApiError::bad_request(reason)),
        };
        // The answer is kept only under a key: without one, no copy of the order is made.
        let answer = key.map(|_| to_json(&change.order)).transpose()?;
        let keyed = key
            .zip(answer.as_ref())
            .map(|(key, body)| storage::orders::KeyedAnswer {
                key,
                request,
                status: 200,
                body,
            });
        let trace = telemetry::current_trace_context();
        if let Some(event) =
            storage::orders::apply(&state.db, &current, &change, keyed, None, &trace).await?
        {
            let order = state.order_committed(current.restaurant_id, event, &trace);
            return Ok(Written::Changed(order));
        }
        // Someone else changed the order between our read and our write.
        let fresh = storage::orders::find_for_staff(&state.db, current.order.id, user.user_id)
            .await?
            .ok_or_else(|| ApiError::not_found("Order"))?;
        if let Some(key) = key
            && let Some(stored) =
                storage::orders::kitchen_answer(&state.db, fresh.order.id, key, request).await?
        {
            return Ok(Written::Replayed(stored));
        }
        if expected_version.is_some() {
            return Err(stale_version(fresh.order.version));
        }
        let moves_status = matches!(write, KitchenWrite::Recall)
            || matches!(write, KitchenWrite::Patch(patch) if patch.status.is_some());
        if moves_status && fresh.order.status != first_status {
            // Of two concurrent status moves exactly one wins.
            if let KitchenWrite::Patch(OrderPatch {
                status: Some(to), ..
            }) = write
            {
                fresh
                    .order
                    .status
                    .check_move(*to)
                    .map_err(|e| ApiError::bad_request(e.to_string()))?;
            }
            return Err(ApiError::conflict(format!(
                "The order changed while this request was handled (now '{}', version {}); retry if still intended.",
                fresh.order.status, fresh.order.version
            )));
        }
        current = fresh;
    }
    Err(ApiError::conflict(
        "The order kept changing while this request was handled; retry.",
    ))
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

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KitchenListQuery {
    /// Only the orders with at least one line at this station (an id of the restaurant's
    /// stations); `all_day` then counts that station's lines only.
    #[param(value_type = Option<i64>)]
    station: Option<String>,
}

/// The kitchen list: every active order (at a station, when asked), oldest first, with the
/// `seq` it is current as of and the all-day count of what is still to make.
#[utoipa::path(get, path = "/api/kitchen/{slug}/orders/", tag = "kitchen", params(("slug" = String, Path), KitchenListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = KitchenList),
        (status = 400, description = "`station` is not a station of this restaurant", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
pub async fn active_orders(
    State(state): State<AppState>,
    access: Access<Staff>,
    Query(query): Query<KitchenListQuery>,
) -> ApiResult<axum::Json<KitchenList>> {
    let unknown_station = || ApiError::field("station", "is not a station of this restaurant");
    let station = match &query.station {
        None => None,
        Some(text) => Some(text.parse::<i64>().map_err(|_| unknown_station())?),
    };
    let (seq, orders) = storage::orders::active(&state.db, access.restaurant_id, station)
        .await?
        .ok_or_else(unknown_station)?;
    let all_day = kitchen::all_day(&orders, station)
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(axum::Json(KitchenList {
        seq,
        orders,
        all_day,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Events with `seq` above this (default 0).
    #[param(minimum = 0)]
    after: Option<i64>,
    /// At most this many (default 500, 1..=1000). A page also stops before its events pass
    /// `EVENTS_PAGE_MAX_BYTES` (4 MiB; at least one event is always sent): read on from its
    /// last `seq` while that is below `last_seq`.
    #[param(minimum = 1, maximum = 1000)]
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
    let max_bytes = i64::try_from(state.caps.events_page_max_bytes).unwrap_or(i64::MAX);
    match storage::events::page(&state.db, access.restaurant_id, after, limit, max_bytes).await? {
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
        kid: state.tickets.kid().to_owned(),
    })
}
