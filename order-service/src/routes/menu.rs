use axum::{extract::State, http::StatusCode};
use serde_json::Value;
use shared_types::ErrorBody;

use super::{
    Access,
    dto::{CategoryDto, MenuItemDto, ModifierDto, VariantDto},
};
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

fn item(json: Value) -> ApiResult<MenuItemDto> {
    serde_json::from_value(json).map_err(|e| ApiError::Internal(e.into()))
}

#[utoipa::path(post, path = "/api/restaurants/{slug}/menu/categories/", tag = "menu", request_body = NewCategory,
    params(("slug" = String, Path)), security(("bearer" = [])),
    responses(
        (status = 201, body = CategoryDto),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
pub async fn create_category(
    State(state): State<AppState>,
    access: Access<Managers>,
    Json(body): Json<NewCategory>,
) -> ApiResult<(StatusCode, axum::Json<CategoryDto>)> {
    body.validate()?;
    let category = storage::menu::insert_category(&state.db, access.restaurant_id, &body).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(CategoryDto {
            id: category.id,
            name: category.name,
            sort_order: category.sort_order,
            is_active: category.is_active,
        }),
    ))
}

#[utoipa::path(post, path = "/api/restaurants/{slug}/menu/items/", tag = "menu", request_body = NewItem,
    params(("slug" = String, Path)), security(("bearer" = [])),
    responses(
        (status = 201, description = "The item with the ids of its variants and modifiers", body = MenuItemDto),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
pub async fn create_item(
    State(state): State<AppState>,
    access: Access<Managers>,
    Json(body): Json<NewItem>,
) -> ApiResult<(StatusCode, axum::Json<MenuItemDto>)> {
    let default_flags = body.validate()?;
    let json = storage::menu::insert_item(&state.db, access.restaurant_id, &body, &default_flags)
        .await?
        .ok_or_else(|| ApiError::field("category_id", "is not a category of this restaurant"))?;
    Ok((StatusCode::CREATED, axum::Json(item(json)?)))
}

#[utoipa::path(patch, path = "/api/restaurants/{slug}/menu/items/{item_id}/", tag = "menu", request_body = ItemPatch,
    params(("slug" = String, Path), ("item_id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = MenuItemDto),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
pub async fn update_item(
    State(state): State<AppState>,
    access: Access<Managers>,
    PathParam(path): PathParam<(String, i64)>,
    Json(body): Json<ItemPatch>,
) -> ApiResult<axum::Json<MenuItemDto>> {
    let (_, item_id) = path;
    body.validate()?;
    let json = storage::menu::update_item(&state.db, access.restaurant_id, item_id, &body)
        .await?
        .ok_or_else(|| ApiError::not_found("Menu item"))?;
    Ok(axum::Json(item(json)?))
}

#[utoipa::path(patch, path = "/api/restaurants/{slug}/menu/variants/{variant_id}/", tag = "menu", request_body = VariantPatch,
    params(("slug" = String, Path), ("variant_id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = VariantDto),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
pub async fn update_variant(
    State(state): State<AppState>,
    access: Access<Managers>,
    PathParam(path): PathParam<(String, i64)>,
    Json(body): Json<VariantPatch>,
) -> ApiResult<axum::Json<VariantDto>> {
    let (_, variant_id) = path;
    body.validate()?;
    let variant = storage::menu::update_variant(&state.db, access.restaurant_id, variant_id, &body)
        .await?
        .ok_or_else(|| ApiError::not_found("Variant"))?;
    Ok(axum::Json(VariantDto {
        id: variant.id,
        label: variant.label,
        price: variant.price,
        is_default: variant.is_default,
    }))
}

#[utoipa::path(patch, path = "/api/restaurants/{slug}/menu/modifiers/{modifier_id}/", tag = "menu", request_body = ModifierPatch,
    params(("slug" = String, Path), ("modifier_id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = ModifierDto),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ))]
pub async fn update_modifier(
    State(state): State<AppState>,
    access: Access<Managers>,
    PathParam(path): PathParam<(String, i64)>,
    Json(body): Json<ModifierPatch>,
) -> ApiResult<axum::Json<ModifierDto>> {
    let (_, modifier_id) = path;
    body.validate()?;
    let modifier =
        storage::menu::update_modifier(&state.db, access.restaurant_id, modifier_id, &body)
            .await?
            .ok_or_else(|| ApiError::not_found("Modifier"))?;
    Ok(axum::Json(ModifierDto {
        id: modifier.id,
        name: modifier.name,
        price_adjustment: modifier.price_adjustment,
    }))
}
