use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use shared_types::{ErrorBody, Order, Slug};
use utoipa::ToSchema;
use uuid::Uuid;

use std::sync::Arc;
use tokio::time::Instant;

use crate::{
    auth::throttle::ClientAddress,
    domain::{
        fields::FieldErrors,
        orders::{
            self, IdempotencyKey, Language, ModifierIds, Quantity, RawInput, SpecialRequests,
            TableIdentifier, ValidatedConfirm, ValidatedLine,
        },
        rate_limit,
    },
    dto::PublicMenu,
    error::{ApiError, ApiResult},
    extract::{Json, PathParam, PathSlug},
    state::AppState,
    storage::{
        self,
        menu_cache::MenuCopy,
        orders::{Confirmed, KeyedOrder},
    },
    telemetry,
};

/// The confirm body as sent. Serializable as well, so the request can be stored with its
/// idempotency key and a replay compared with it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ConfirmRequest {
    /// 1..=100 lines, each of this restaurant's active menu.
    #[schema(min_items = 1, max_items = 100)]
    pub items: Vec<ConfirmLine>,
    /// What the customer said or typed, at most 2000 characters.
    #[schema(max_length = 2000, pattern = "^[^\\u0000]*$")]
    pub raw_input: String,
    /// At most 50 characters; `null` or absent: none.
    #[serde(default)]
    #[schema(max_length = 50, pattern = "^[^\\u0000]*$")]
    pub table_identifier: Option<String>,
    /// Not blank, at most 35 characters; `null` or absent: `en`.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 35,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub language: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ConfirmLine {
    pub menu_item_id: i64,
    /// One of that item's own variants.
    pub variant_id: i64,
    #[schema(minimum = 1, maximum = 99)]
    pub quantity: i64,
    /// At most 20 of that item's own modifiers, none twice.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub modifier_ids: Option<Vec<i64>>,
    /// At most 500 characters; empty is none.
    #[serde(default)]
    #[schema(max_length = 500, pattern = "^[^\\u0000]*$")]
    pub special_requests: Option<String>,
}

impl TryFrom<ConfirmRequest> for ValidatedConfirm {
    type Error = FieldErrors;

    /// Every bound that needs no database, each bad field named.
    fn try_from(body: ConfirmRequest) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let count = errors.take("items", orders::check_line_count(body.items.len()));
        let mut lines = Vec::with_capacity(body.items.len());
        let mut every_line_parsed = true;
        for (i, line) in body.items.into_iter().enumerate() {
            let quantity = errors.take(
                &format!("items[{i}].quantity"),
                Quantity::parse(line.quantity),
            );
            // An empty text is no special request.
            let special_requests = match line.special_requests {
                Some(text) => errors
                    .take(
                        &format!("items[{i}].special_requests"),
                        SpecialRequests::parse(text),
                    )
                    .map(|text| Some(text).filter(|t| !t.is_empty())),
                None => Some(None),
            };
            let modifier_ids = errors.take(
                &format!("items[{i}].modifier_ids"),
                ModifierIds::parse(line.modifier_ids.unwrap_or_default()),
            );
            match (quantity, special_requests, modifier_ids) {
                (Some(quantity), Some(special_requests), Some(modifier_ids)) => {
                    lines.push(ValidatedLine {
                        menu_item_id: line.menu_item_id,
                        variant_id: line.variant_id,
                        quantity,
                        modifier_ids,
                        special_requests,
                    })
                }
                _ => every_line_parsed = false,
            }
        }
        let raw_input = errors.take("raw_input", RawInput::parse(body.raw_input));
        let table_identifier = match body.table_identifier {
            Some(table) => errors
                .take("table_identifier", TableIdentifier::parse(table))
                .map(Some),
            None => Some(None),
        };
        let language = match body.language {
            Some(language) => errors.take("language", Language::parse(language)),
            None => Some(Language::default()),
        };
        let parsed = match (count, raw_input, table_identifier, language) {
            (Some(()), Some(raw_input), Some(table_identifier), Some(language))
                if every_line_parsed =>
            {
                let confirm = ValidatedConfirm::new(lines, raw_input, table_identifier, language);
                errors.take("items", confirm)
            }
            _ => None,
        };
        errors.or(parsed)
    }
}

#[utoipa::path(get, path = "/api/order/{slug}/menu/", tag = "customer", params(("slug" = String, Path)),
    responses(
        (status = 200, description = "Active categories and items, in sort_order", body = PublicMenu),
        (status = 404, body = ErrorBody),
    ))]
pub async fn menu(
    State(state): State<AppState>,
    PathSlug(slug): PathSlug,
) -> ApiResult<axum::Json<PublicMenu>> {
    storage::menu::public_menu(&state.db, &slug)
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::not_found("Restaurant"))
}

/// Confirms an order. Prices come from the menu. With an `Idempotency-Key`, a retry returns the
/// first order (200) instead of creating another.
#[utoipa::path(post, path = "/api/order/{slug}/confirm/", tag = "customer", request_body = ConfirmRequest,
    params(("slug" = String, Path),
           ("Idempotency-Key" = Option<String>, Header, description = "1..=255 printable ASCII characters; makes a retry safe")),
    responses(
        (status = 201, description = "Confirmed", body = Order),
        (status = 200, description = "A replay of the same request with the same key: the first order", body = Order),
        (status = 400, description = "An invalid field, or the order is too large (over `ORDER_MAX_BYTES` as JSON; `errors.items` says so)", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The key was used with a different request", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 429, description = "Too many confirms from this client address, or at this restaurant, within a minute; `Retry-After` says in how many seconds to try again",
         body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds until a confirm would pass"))),
        (status = 503, body = ErrorBody),
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    client: ClientAddress,
    PathSlug(slug): PathSlug,
    headers: HeaderMap,
    Json(body): Json<ConfirmRequest>,
) -> ApiResult<Response> {
    // Before any database work, so a flood from one address costs a lock and a map lookup.
    state
        .confirm_limits
        .check_address(client.network(), Instant::now())
        .map_err(|wait| too_many("address", wait))?;
    let key = match headers
        .get("idempotency-key")
        .map(|value| IdempotencyKey::parse(value.as_bytes()))
        .transpose()
    {
        Ok(key) => key,
        Err(invalid) => {
            // An unknown restaurant is a 404 whatever the request.
            restaurant_id(&state, &slug).await?;
            return Err(invalid.into());
        }
    };
    // The request as stored with its key, to tell a replay from a different request; only
    // needed when there is a key.
    let keyed = match key {
        Some(key) => Some((
            key,
            serde_json::to_value(&body).map_err(anyhow::Error::from)?,
        )),
        None => None,
    };
    // The body's own bounds first: they never change, so a retry of an order that was taken
    // passes them too, and an invalid body (a NUL, which not even the stored copy of the
    // request could hold) never reaches the database.
    let request = match ValidatedConfirm::try_from(body) {
        Ok(request) => request,
        Err(invalid) => {
            // An unknown restaurant is a 404 whatever the body.
            restaurant_id(&state, &slug).await?;
            return Err(invalid.into());
        }
    };
    let item_ids = request.menu_item_ids();
    // The restaurant and its entries for these items: from this instance's copy of the menu
    // when it has them all, else read (one round trip, which also answers 404).
    let (mut menu, mut read_now) = match state.menus.get(&slug) {
        Some(copy) if copy.has_all(&item_ids) => (copy, false),
        _ => (read_menu(&state, &slug, &item_ids, "missing").await?, true),
    };
    if let Some((key, request)) = &keyed {
        // A retry must get the first order even if the menu changed since: look the key up
        // before validating against the menu. (The write checks again, for concurrent requests.)
        if let Some(existing) =
            storage::orders::find_by_idempotency_key(&state.db, menu.restaurant_id, key, request)
                .await?
        {
            return replay(&state, existing).await;
        }
    }
    // Replays above are not new orders and do not count here: this bounds what a restaurant's
    // screens are sent.
    state
        .confirm_limits
        .check_restaurant(menu.restaurant_id, Instant::now())
        .map_err(|wait| too_many("restaurant", wait))?;
    let line_ids = state
        .line_ids
        .take(&state.db, request.lines().len())
        .await?;
    let trace_context = telemetry::current_trace_context();
    // Priced from a copy, the order is written only while the menu is still at the copy's
    // version; a copy that is behind is read again, so a change made anywhere is charged.
    'attempts: for attempt in 1..=MENU_ATTEMPTS {
        let refused: ApiError = 'write: {
            let priced = match orders::price(&request, &menu.entries) {
                Ok(priced) => priced,
                Err(invalid) => break 'write invalid.into(),
            };
            let new = storage::orders::NewOrder {
                restaurant_id: menu.restaurant_id,
                slug: &slug,
                request: &request,
                priced: &priced,
                line_ids: &line_ids,
                menu_version: menu.version,
                idempotency: keyed.as_ref().map(|(key, request)| (key, request)),
                trace_context: &trace_context,
            };
            let event = storage::orders::confirmed_event(&new);
            if let Err(too_large) =
                orders::check_order_size(&event.order, state.caps.order_max_bytes)
            {
                break 'write too_large.into();
            }
            match storage::orders::confirm(&state.db, new, event).await? {
                Confirmed::Created(event) => {
                    let restaurant_id = menu.restaurant_id;
                    if read_now {
                        // Kept only once an order was written with it, so invalid orders
                        // cannot fill the cache.
                        state.menus.put(&slug, Arc::unwrap_or_clone(menu));
                    }
                    let order = state.order_committed(restaurant_id, *event, &trace_context);
                    return Ok((StatusCode::CREATED, axum::Json(order)).into_response());
                }
                Confirmed::MenuChanged if attempt < MENU_ATTEMPTS => {
                    state.menus.forget(&slug, menu.version);
                    menu = read_menu(&state, &slug, &item_ids, "changed").await?;
                    read_now = true;
                    continue 'attempts;
                }
                Confirmed::MenuChanged => break 'write menu_kept_changing(),
                Confirmed::Existing(existing) => return replay(&state, existing).await,
            }
        };
        // A copy may lack what was added since (a variant, a modifier) or have names that
        // changed since: only a fresh read refuses an order.
        if read_now {
            return unless_replayed(&state, &keyed, menu.restaurant_id, refused).await;
        }
        menu = read_menu(&state, &slug, &item_ids, "refused").await?;
        read_now = true;
    }
    // The last attempt always ends above.
    Err(menu_kept_changing())
}

/// 503: every attempt at a confirm found the menu changed since it was read.
fn menu_kept_changing() -> ApiError {
    ApiError::Busy("The menu kept changing while this order was placed; try again.".into())
}

/// Tries at pricing and writing one confirm while the menu changes under it, each after a
/// fresh read; a menu edited faster than that is being rewritten, not served.
const MENU_ATTEMPTS: usize = 8;

/// Reads the restaurant's menu entries for `item_ids`; 404 without such a restaurant. `why`
/// labels the read in `confirm_menu_reads_total`.
async fn read_menu(
    state: &AppState,
    slug: &Slug,
    item_ids: &[i64],
    why: &'static str,
) -> ApiResult<Arc<MenuCopy>> {
    metrics::counter!("confirm_menu_reads_total", "reason" => why).increment(1);
    let read = storage::menu::entries_for_order(&state.db, slug, item_ids)
        .await?
        .ok_or_else(|| ApiError::not_found("Restaurant"))?;
    Ok(Arc::new(read))
}

/// `refused`, unless a request with the same `Idempotency-Key` was written since the key was
/// looked up (a write refused for the menu's version never reached the key's unique index):
/// then that order, as for any replay.
async fn unless_replayed(
    state: &AppState,
    keyed: &Option<(IdempotencyKey, serde_json::Value)>,
    restaurant_id: Uuid,
    refused: ApiError,
) -> ApiResult<Response> {
    if let Some((key, request)) = keyed
        && let Some(existing) =
            storage::orders::find_by_idempotency_key(&state.db, restaurant_id, key, request).await?
    {
        return replay(state, existing).await;
    }
    Err(refused)
}

/// 429 for a confirm over its address's (`scope` "address") or restaurant's rate.
fn too_many(scope: &'static str, wait: std::time::Duration) -> ApiError {
    metrics::counter!("confirm_rate_limited_total", "scope" => scope).increment(1);
    let seconds = rate_limit::retry_after_secs(wait);
    let detail = match scope {
        "address" => format!("Too many orders from this address; try again in {seconds} seconds."),
        _ => format!(
            "This restaurant is taking too many orders right now; try again in {seconds} seconds."
        ),
    };
    ApiError::TooManyRequests {
        detail,
        retry_after_secs: seconds,
    }
}

/// The restaurant's id; 404 if there is none with this slug.
async fn restaurant_id(state: &AppState, slug: &Slug) -> ApiResult<Uuid> {
    storage::restaurants::id_by_slug(&state.db, slug)
        .await?
        .ok_or_else(|| ApiError::not_found("Restaurant"))
}

/// The answer to a request whose idempotency key was used before: the first order (200) if the
/// request is the same, else 409.
async fn replay(state: &AppState, existing: KeyedOrder) -> ApiResult<Response> {
    if !existing.same_request {
        return Err(ApiError::conflict(
            "This Idempotency-Key was already used with a different request.",
        ));
    }
    let order = storage::orders::find(&state.db, existing.order_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Order"))?;
    Ok((StatusCode::OK, axum::Json(order)).into_response())
}

#[utoipa::path(get, path = "/api/order/{slug}/status/{order_id}/", tag = "customer",
    params(("slug" = String, Path), ("order_id" = Uuid, Path)),
    responses(
        (status = 200, body = Order),
        (status = 404, description = "No such order at this restaurant", body = ErrorBody),
    ))]
pub async fn status(
    State(state): State<AppState>,
    PathParam((slug, order_id)): PathParam<(Slug, Uuid)>,
) -> ApiResult<axum::Json<Order>> {
    storage::orders::find_at_restaurant(&state.db, &slug, order_id)
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::not_found("Order"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(lines: serde_json::Value) -> ConfirmRequest {
        serde_json::from_value(serde_json::json!({"items": lines, "raw_input": "two pizzas"}))
            .unwrap()
    }

    fn fields(error: FieldErrors) -> Vec<String> {
        error.into_fields().into_keys().collect()
    }

    #[test]
    fn a_good_body_parses_with_its_defaults() {
        let parsed = ValidatedConfirm::try_from(body(serde_json::json!([
            {"menu_item_id": 12, "variant_id": 1, "quantity": 2, "special_requests": ""},
            {"menu_item_id": 12, "variant_id": 2, "quantity": 99, "modifier_ids": [3, 4],
             "special_requests": "well done"},
        ])))
        .unwrap();
        assert_eq!(parsed.line_count(), 2);
        assert_eq!(parsed.language.as_str(), "en");
        assert!(parsed.table_identifier.is_none());
        let lines = parsed.lines();
        assert!(lines[0].special_requests.is_none(), "empty means none");
        assert_eq!(lines[1].quantity.get(), 99);
        assert_eq!(lines[1].modifier_ids.as_slice(), [3, 4]);
        assert_eq!(
            lines[1].special_requests.as_ref().map(|s| s.as_str()),
            Some("well done")
        );
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let mut request = body(serde_json::json!([
            {"menu_item_id": 12, "variant_id": 1, "quantity": 0},
            {"menu_item_id": 12, "variant_id": 1, "quantity": 1, "modifier_ids": [3, 3],
             "special_requests": "x".repeat(501)},
        ]));
        request.raw_input = "x".repeat(2001);
        request.table_identifier = Some("t".repeat(51));
        request.language = Some(" ".into());
        let error = ValidatedConfirm::try_from(request).unwrap_err();
        assert_eq!(
            fields(error),
            [
                "items[0].quantity",
                "items[1].modifier_ids",
                "items[1].special_requests",
                "language",
                "raw_input",
                "table_identifier",
            ]
        );
    }

    #[test]
    fn line_counts_are_checked_on_the_lines_sent() {
        let error = ValidatedConfirm::try_from(body(serde_json::json!([]))).unwrap_err();
        assert_eq!(
            error.into_fields()["items"],
            ["an order needs at least one item"]
        );
        let line = serde_json::json!({"menu_item_id": 1, "variant_id": 1, "quantity": 1});
        let error = ValidatedConfirm::try_from(body(serde_json::Value::Array(vec![line; 101])))
            .unwrap_err();
        assert_eq!(
            error.into_fields()["items"],
            ["at most 100 lines per order"]
        );
        // One bad line is not "no lines".
        let error = ValidatedConfirm::try_from(body(serde_json::json!([
            {"menu_item_id": 1, "variant_id": 1, "quantity": 100}
        ])))
        .unwrap_err();
        assert_eq!(fields(error), ["items[0].quantity"]);
    }
}
