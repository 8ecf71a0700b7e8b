use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use shared_types::{ErrorBody, Order, Slug};
use uuid::Uuid;

use super::dto::PublicMenu;
use crate::{
    domain::orders::{self, ConfirmRequest},
    error::{ApiError, ApiResult},
    extract::{Json, PathParam},
    state::AppState,
    storage::{self, orders::Confirmed},
    telemetry,
};

#[utoipa::path(get, path = "/api/order/{slug}/menu/", tag = "customer", params(("slug" = String, Path)),
    responses(
        (status = 200, description = "Active categories and items, in sort_order", body = PublicMenu),
        (status = 404, body = ErrorBody),
    ))]
pub async fn menu(
    State(state): State<AppState>,
    PathParam(slug): PathParam<String>,
) -> ApiResult<axum::Json<PublicMenu>> {
    let json = storage::menu::public_menu(&state.db, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found("Restaurant"))?;
    serde_json::from_value(json)
        .map(axum::Json)
        .map_err(|e| ApiError::Internal(e.into()))
}

/// Confirms an order. Prices come from the menu. With an `Idempotency-Key`, a retry returns the
/// first order (200) instead of creating another.
#[utoipa::path(post, path = "/api/order/{slug}/confirm/", tag = "customer", request_body = ConfirmRequest,
    params(("slug" = String, Path),
           ("Idempotency-Key" = Option<String>, Header, description = "1..=255 printable ASCII characters; makes a retry safe")),
    responses(
        (status = 201, description = "Confirmed", body = Order),
        (status = 200, description = "A replay of the same request with the same key: the first order", body = Order),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The key was used with a different request", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 503, body = ErrorBody),
    ))]
pub async fn confirm(
    State(state): State<AppState>,
    PathParam(slug): PathParam<String>,
    headers: HeaderMap,
    Json(body): Json<ConfirmRequest>,
) -> ApiResult<Response> {
    let slug = Slug::parse(&slug).map_err(|_| ApiError::not_found("Restaurant"))?;
    let key = match headers
        .get("idempotency-key")
        .map(|value| orders::parse_idempotency_key(value.as_bytes()))
        .transpose()
    {
        Ok(key) => key,
        Err(invalid) => {
            // An unknown restaurant is a 404 whatever the request.
            restaurant_id(&state, &slug).await?;
            return Err(invalid);
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
    if let Some((key, request)) = &keyed {
        // A retry must get the first order even if the menu changed since: look the key up
        // before validating against the menu. (The write checks again, for concurrent requests.)
        let restaurant = restaurant_id(&state, &slug).await?;
        if let Some(existing) =
            storage::orders::find_by_idempotency_key(&state.db, restaurant, key, request).await?
        {
            return replay(&state, existing).await;
        }
    }
    if let Err(invalid) = body.validate() {
        // An unknown restaurant is a 404 whatever the body.
        restaurant_id(&state, &slug).await?;
        return Err(invalid);
    }
    // The restaurant, its menu entries for these items and the lines' ids: one round trip.
    let context = storage::menu::order_context(
        &state.db,
        slug.as_str(),
        &body.menu_item_ids(),
        body.items.len(),
    )
    .await?
    .ok_or_else(|| ApiError::not_found("Restaurant"))?;
    let restaurant_id = context.restaurant_id;
    let (lines, total) = orders::price(&body, &context.menu)?;
    let outcome = storage::orders::confirm(
        &state.db,
        storage::orders::NewOrder {
            restaurant_id,
            slug: &slug,
            table_identifier: body.table(),
            raw_input: &body.raw_input,
            language: body.language(),
            total_price: total,
            lines: &lines,
            line_ids: &context.line_ids,
            idempotency: keyed.as_ref().map(|(key, request)| (key.as_str(), request)),
            trace_context: &telemetry::current_trace_context(),
        },
    )
    .await?;
    match outcome {
        Confirmed::Created(order) => Ok((StatusCode::CREATED, axum::Json(order)).into_response()),
        existing => replay(&state, existing).await,
    }
}

/// The answer to a request whose idempotency key was used before: the first order (200) if the
/// request is the same, else 409.
/// The restaurant's id; 404 if there is none with this slug.
async fn restaurant_id(state: &AppState, slug: &Slug) -> ApiResult<uuid::Uuid> {
    storage::restaurants::id_by_slug(&state.db, slug.as_str())
        .await?
        .ok_or_else(|| ApiError::not_found("Restaurant"))
}

async fn replay(state: &AppState, existing: Confirmed) -> ApiResult<Response> {
    match existing {
        Confirmed::Existing {
            order_id,
            same_request: true,
        } => {
            let order = storage::orders::find(&state.db, order_id)
                .await?
                .ok_or_else(|| ApiError::not_found("Order"))?;
            Ok((StatusCode::OK, axum::Json(order)).into_response())
        }
        Confirmed::Existing {
            same_request: false,
            ..
        } => Err(ApiError::conflict(
            "This Idempotency-Key was already used with a different request.",
        )),
        Confirmed::Created(order) => Ok((StatusCode::CREATED, axum::Json(order)).into_response()),
    }
}

#[utoipa::path(get, path = "/api/order/{slug}/status/{order_id}/", tag = "customer",
    params(("slug" = String, Path), ("order_id" = Uuid, Path)),
    responses(
        (status = 200, body = Order),
        (status = 404, description = "No such order at this restaurant", body = ErrorBody),
    ))]
pub async fn status(
    State(state): State<AppState>,
    PathParam((slug, order_id)): PathParam<(String, Uuid)>,
) -> ApiResult<axum::Json<Order>> {
    storage::orders::find_at_restaurant(&state.db, &slug, order_id)
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::not_found("Order"))
}
