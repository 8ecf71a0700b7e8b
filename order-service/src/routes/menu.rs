use axum::{extract::State, http::StatusCode};
use serde_json::{Value, json};

use super::Access;
use crate::{
    domain::{
        menu::{ItemPatch, ModifierPatch, NewCategory, NewItem, VariantPatch},
        roles::Managers,
    },
    error::{ApiError, ApiResult},
    extract::{Json, PathParam},
    state::AppState,
    storage,
};

pub async fn create_category(
    State(state): State<AppState>,
    access: Access<Managers>,
    Json(body): Json<NewCategory>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    body.validate()?;
    let category = storage::menu::insert_category(&state.db, access.restaurant_id, &body).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "id": category.id,
            "name": category.name,
            "sort_order": category.sort_order,
            "is_active": category.is_active,
        })),
    ))
}

pub async fn create_item(
    State(state): State<AppState>,
    access: Access<Managers>,
    Json(body): Json<NewItem>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    let default_flags = body.validate()?;
    let item = storage::menu::insert_item(&state.db, access.restaurant_id, &body, &default_flags)
        .await?
        .ok_or_else(|| ApiError::field("category_id", "is not a category of this restaurant"))?;
    Ok((StatusCode::CREATED, axum::Json(item)))
}

pub async fn update_item(
    State(state): State<AppState>,
    access: Access<Managers>,
    PathParam((_, item_id)): PathParam<(String, i64)>,
    Json(body): Json<ItemPatch>,
) -> ApiResult<axum::Json<Value>> {
    body.validate()?;
    storage::menu::update_item(&state.db, access.restaurant_id, item_id, &body)
        .await?
        .map(axum::Json)
        .ok_or_else(|| ApiError::not_found("Menu item"))
}

pub async fn update_variant(
    State(state): State<AppState>,
    access: Access<Managers>,
    PathParam((_, variant_id)): PathParam<(String, i64)>,
    Json(body): Json<VariantPatch>,
) -> ApiResult<axum::Json<Value>> {
    body.validate()?;
    let variant = storage::menu::update_variant(&state.db, access.restaurant_id, variant_id, &body)
        .await?
        .ok_or_else(|| ApiError::not_found("Variant"))?;
    Ok(axum::Json(json!({
        "id": variant.id,
        "label": variant.label,
        "price": shared_types::money::to_string(&variant.price),
        "is_default": variant.is_default,
    })))
}

pub async fn update_modifier(
    State(state): State<AppState>,
    access: Access<Managers>,
    PathParam((_, modifier_id)): PathParam<(String, i64)>,
    Json(body): Json<ModifierPatch>,
) -> ApiResult<axum::Json<Value>> {
    body.validate()?;
    let modifier =
        storage::menu::update_modifier(&state.db, access.restaurant_id, modifier_id, &body)
            .await?
            .ok_or_else(|| ApiError::not_found("Modifier"))?;
    Ok(axum::Json(json!({
        "id": modifier.id,
        "name": modifier.name,
        "price_adjustment": shared_types::money::to_string(&modifier.price_adjustment),
    })))
}
