use axum::{extract::State, http::StatusCode};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use shared_types::ErrorBody;
use utoipa::ToSchema;

use super::Access;
use crate::{
    domain::{
        fields::FieldErrors,
        menu::{
            self, CategoryChanges, CategoryDraft, Description, ImageUrl, ItemChanges, ItemDraft,
            Label, MenuName, ModifierChanges, ModifierDraft, VariantChanges, VariantDraft,
        },
        roles::Managers,
    },
    dto::{CategoryDto, MenuItemDto, ModifierDto, VariantDto},
    error::{ApiError, ApiResult},
    extract::{Json, PathParam},
    state::AppState,
    storage::{self, menu::Refused},
};

/// A PATCH field: absent (`None`), explicitly `null` (`Some(None)`) or a value.
pub type Patch<T> = Option<Option<T>>;

/// Deserializes a present field (even `null`) into `Some(_)`; use with `#[serde(default)]`.
fn present<'de, T, D>(deserializer: D) -> Result<Patch<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The same for money, which must be a string.
fn present_money<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Patch<Decimal>, D::Error> {
    shared_types::money::option::deserialize(deserializer).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategory {
    /// Not blank, at most 200 characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub name: String,
    #[serde(default)]
    pub sort_order: Option<i32>,
    /// A station of this restaurant where its items are made (unless an item has its own);
    /// `null` or absent: none.
    #[serde(default)]
    pub station_id: Option<i64>,
}

impl TryFrom<NewCategory> for CategoryDraft {
    type Error = FieldErrors;

    fn try_from(body: NewCategory) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = errors.take("name", MenuName::parse(body.name));
        errors.or(name.map(|name| CategoryDraft {
            name,
            sort_order: body.sort_order.unwrap_or_default(),
            station_id: body.station_id,
        }))
    }
}

/// `PATCH …/menu/categories/{category_id}/`: any of these, at least one. Only `station_id`
/// may be `null`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct CategoryPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 200, pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$")]
    pub name: Patch<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = i32, required = false)]
    pub sort_order: Patch<i32>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool, required = false)]
    pub is_active: Patch<bool>,
    /// A station of this restaurant, or `null` for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub station_id: Patch<i64>,
}

impl TryFrom<CategoryPatch> for CategoryChanges {
    type Error = FieldErrors;

    fn try_from(body: CategoryPatch) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = parsed(body.name, "name", MenuName::parse, &mut errors);
        let sort_order = not_null(body.sort_order, "sort_order", &mut errors);
        let is_active = not_null(body.is_active, "is_active", &mut errors);
        let changes = match (name, sort_order, is_active) {
            (Some(name), Some(sort_order), Some(is_active)) => Some(CategoryChanges {
                name,
                sort_order,
                is_active,
                // `null` is allowed: the category moves to no station.
                station_id: body.station_id,
            }),
            _ => None,
        };
        if changes.as_ref().is_some_and(CategoryChanges::is_empty) {
            errors.add(
                "body",
                "give at least one of name, sort_order, is_active and station_id",
            );
        }
        errors.or(changes)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    pub category_id: i64,
    /// Not blank, at most 200 characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub name: String,
    /// At most 2000 characters; `null` or absent: none.
    #[serde(default)]
    #[schema(max_length = 2000, pattern = "^[^\\u0000]*$")]
    pub description: Option<String>,
    /// An `http://` or `https://` URL of at most 2000 characters.
    #[serde(default)]
    #[schema(max_length = 2000, pattern = "^https?://[^\\u0000]*$")]
    pub image_url: Option<String>,
    #[serde(default)]
    pub sort_order: Option<i32>,
    /// The item's own station (of this restaurant); `null` or absent: its category's.
    #[serde(default)]
    pub station_id: Option<i64>,
    /// 1..=50 variants, at most one of them the default (else the first is).
    #[schema(min_items = 1, max_items = 50)]
    pub variants: Vec<NewVariant>,
    #[serde(default)]
    #[schema(max_items = 100)]
    pub modifiers: Option<Vec<NewModifier>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVariant {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub label: String,
    /// Non-negative, at most 2 decimal places, at most 99999999.99.
    #[serde(with = "shared_types::money")]
    #[schema(value_type = String, example = "14.99", pattern = "^0*[0-9]{1,8}(\\.[0-9]{1,2})?$")]
    pub price: Decimal,
    #[serde(default)]
    pub is_default: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewModifier {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub name: String,
    #[serde(with = "shared_types::money")]
    #[schema(value_type = String, example = "2.00", pattern = "^0*[0-9]{1,8}(\\.[0-9]{1,2})?$")]
    pub price_adjustment: Decimal,
}

impl TryFrom<NewItem> for ItemDraft {
    type Error = FieldErrors;

    /// Settles which variant is the default, too: the first, unless one is marked.
    fn try_from(body: NewItem) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = errors.take("name", MenuName::parse(body.name));
        let description = match body.description {
            Some(text) => errors.take("description", Description::parse(text)),
            None => Some(Description::empty()),
        };
        let image_url = match body.image_url {
            Some(url) => errors.take("image_url", ImageUrl::parse(url)).map(Some),
            None => Some(None),
        };
        let marked: Vec<Option<bool>> = body.variants.iter().map(|v| v.is_default).collect();
        let labels: Vec<Option<Label>> = body
            .variants
            .iter()
            .enumerate()
            .map(|(i, variant)| {
                errors.take(
                    &format!("variants[{i}].label"),
                    Label::parse(variant.label.clone()),
                )
            })
            .collect();
        let modifiers = body.modifiers.unwrap_or_default();
        let modifier_count = errors.take("modifiers", menu::check_modifier_count(modifiers.len()));
        let modifiers: Option<Vec<ModifierDraft>> = modifiers
            .into_iter()
            .enumerate()
            .map(|(i, modifier)| {
                errors
                    .take(&format!("modifiers[{i}].name"), Label::parse(modifier.name))
                    .map(|name| ModifierDraft {
                        name,
                        price_adjustment: modifier.price_adjustment,
                    })
            })
            // Every modifier is parsed (and each bad one recorded) before this collects.
            .collect::<Vec<_>>()
            .into_iter()
            .collect();
        let defaults = errors.take("variants", menu::settle_default_variant(&marked));
        let variants: Option<Vec<VariantDraft>> = defaults.and_then(|defaults| {
            labels
                .into_iter()
                .zip(body.variants)
                .zip(defaults)
                .map(|((label, variant), is_default)| {
                    label.map(|label| VariantDraft {
                        label,
                        price: variant.price,
                        is_default,
                    })
                })
                .collect()
        });
        let draft = match (
            name,
            description,
            image_url,
            modifier_count,
            modifiers,
            variants,
        ) {
            (
                Some(name),
                Some(description),
                Some(image_url),
                Some(()),
                Some(modifiers),
                Some(variants),
            ) => Some(ItemDraft {
                category_id: body.category_id,
                name,
                description,
                image_url,
                sort_order: body.sort_order.unwrap_or_default(),
                station_id: body.station_id,
                variants,
                modifiers,
            }),
            _ => None,
        };
        errors.or(draft)
    }
}

/// `PATCH …/menu/items/{item_id}/`: any of these. `null` clears `description`, `image_url` and
/// `station_id`; the others may not be `null`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 200, pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$")]
    pub name: Patch<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2000, pattern = "^[^\\u0000]*$")]
    pub description: Patch<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2000, pattern = "^https?://[^\\u0000]*$")]
    pub image_url: Patch<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = i32, required = false)]
    pub sort_order: Patch<i32>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool, required = false)]
    pub is_active: Patch<bool>,
    /// The item's own station, or `null` to clear it (it is then made at its category's).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub station_id: Patch<i64>,
}

/// A field that may be left out but not set to `null`.
fn not_null<T>(value: Patch<T>, field: &str, errors: &mut FieldErrors) -> Option<Option<T>> {
    match value {
        None => Some(None),
        Some(None) => {
            errors.add(field, "may not be null");
            None
        }
        Some(Some(value)) => Some(Some(value)),
    }
}

/// `not_null`, then parsed.
fn parsed<T, U>(
    value: Patch<T>,
    field: &str,
    parse: impl FnOnce(T) -> Result<U, crate::domain::fields::Invalid>,
    errors: &mut FieldErrors,
) -> Option<Option<U>> {
    match not_null(value, field, errors)? {
        None => Some(None),
        Some(value) => errors.take(field, parse(value)).map(Some),
    }
}

impl TryFrom<ItemPatch> for ItemChanges {
    type Error = FieldErrors;

    fn try_from(body: ItemPatch) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = parsed(body.name, "name", MenuName::parse, &mut errors);
        let sort_order = not_null(body.sort_order, "sort_order", &mut errors);
        let is_active = not_null(body.is_active, "is_active", &mut errors);
        // `null` clears the description.
        let description = match body.description {
            None => Some(None),
            Some(None) => Some(Some(Description::empty())),
            Some(Some(text)) => errors
                .take("description", Description::parse(text))
                .map(Some),
        };
        let image_url = match body.image_url {
            None => Some(None),
            Some(None) => Some(Some(None)),
            Some(Some(url)) => errors
                .take("image_url", ImageUrl::parse(url))
                .map(|url| Some(Some(url))),
        };
        let changes = match (name, description, image_url, sort_order, is_active) {
            (Some(name), Some(description), Some(image_url), Some(sort_order), Some(is_active)) => {
                Some(ItemChanges {
                    name,
                    description,
                    image_url,
                    sort_order,
                    is_active,
                    station_id: body.station_id,
                })
            }
            _ => None,
        };
        errors.or(changes)
    }
}

/// `PATCH …/menu/variants/{variant_id}/`: any of these, none `null`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 100, pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$")]
    pub label: Patch<String>,
    #[serde(default, deserialize_with = "present_money")]
    #[schema(value_type = String, required = false, example = "14.99", pattern = "^0*[0-9]{1,8}(\\.[0-9]{1,2})?$")]
    pub price: Patch<Decimal>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool, required = false)]
    pub is_default: Patch<bool>,
}

impl TryFrom<VariantPatch> for VariantChanges {
    type Error = FieldErrors;

    fn try_from(body: VariantPatch) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let label = parsed(body.label, "label", Label::parse, &mut errors);
        let price = not_null(body.price, "price", &mut errors);
        let is_default = not_null(body.is_default, "is_default", &mut errors);
        let changes = match (label, price, is_default) {
            (Some(label), Some(price), Some(is_default)) => Some(VariantChanges {
                label,
                price,
                is_default,
            }),
            _ => None,
        };
        errors.or(changes)
    }
}

/// `PATCH …/menu/modifiers/{modifier_id}/`: any of these, none `null`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModifierPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, required = false, min_length = 1, max_length = 100, pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$")]
    pub name: Patch<String>,
    #[serde(default, deserialize_with = "present_money")]
    #[schema(value_type = String, required = false, example = "2.00", pattern = "^0*[0-9]{1,8}(\\.[0-9]{1,2})?$")]
    pub price_adjustment: Patch<Decimal>,
}

impl TryFrom<ModifierPatch> for ModifierChanges {
    type Error = FieldErrors;

    fn try_from(body: ModifierPatch) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = parsed(body.name, "name", Label::parse, &mut errors);
        let price_adjustment = not_null(body.price_adjustment, "price_adjustment", &mut errors);
        let changes = match (name, price_adjustment) {
            (Some(name), Some(price_adjustment)) => Some(ModifierChanges {
                name,
                price_adjustment,
            }),
            _ => None,
        };
        errors.or(changes)
    }
}

/// A refused menu write as the API answers it; `what` names the entry addressed by the path.
fn refusal(refused: Refused, what: &str) -> ApiError {
    match refused {
        Refused::NotFound => ApiError::not_found(what),
        Refused::UnknownCategory => {
            ApiError::field("category_id", "is not a category of this restaurant")
        }
        Refused::UnknownStation => {
            ApiError::field("station_id", "is not a station of this restaurant")
        }
    }
}

fn category_dto(category: storage::menu::Category) -> CategoryDto {
    CategoryDto {
        id: category.id,
        name: category.name,
        sort_order: category.sort_order,
        is_active: category.is_active,
        station_id: category.station_id,
    }
}

#[utoipa::path(post, path = "/api/restaurants/{slug}/menu/categories/", tag = "menu", request_body = NewCategory,
    params(("slug" = String, Path)), security(("bearer" = [])),
    responses(
        (status = 201, body = CategoryDto),
        (status = 400, description = "Invalid fields, or `station_id` not a station of this restaurant", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ))]
pub async fn create_category(
    State(state): State<AppState>,
    access: Access<Managers>,
    Json(body): Json<NewCategory>,
) -> ApiResult<(StatusCode, axum::Json<CategoryDto>)> {
    let draft = CategoryDraft::try_from(body)?;
    let category = storage::menu::insert_category(&state.db, access.restaurant_id, &draft)
        .await?
        .map_err(|refused| refusal(refused, "Category"))?;
    Ok((StatusCode::CREATED, axum::Json(category_dto(category))))
}

/// Renames, reorders, (de)activates or reroutes a category: routing it to a station moves its
/// items without a station of their own there for the orders confirmed from now on.
#[utoipa::path(patch, path = "/api/restaurants/{slug}/menu/categories/{category_id}/", tag = "menu", request_body = CategoryPatch,
    params(("slug" = String, Path), ("category_id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = CategoryDto),
        (status = 400, description = "Invalid fields, an empty body, or `station_id` not a station of this restaurant", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "Unknown restaurant, or no such category at it", body = ErrorBody),
        (status = 415, body = ErrorBody),
    ))]
pub async fn update_category(
    State(state): State<AppState>,
    access: Access<Managers>,
    PathParam(path): PathParam<(String, i64)>,
    Json(body): Json<CategoryPatch>,
) -> ApiResult<axum::Json<CategoryDto>> {
    let (_, category_id) = path;
    let changes = CategoryChanges::try_from(body)?;
    let category =
        storage::menu::update_category(&state.db, access.restaurant_id, category_id, &changes)
            .await?
            .map_err(|refused| refusal(refused, "Category"))?;
    Ok(axum::Json(category_dto(category)))
}

#[utoipa::path(post, path = "/api/restaurants/{slug}/menu/items/", tag = "menu", request_body = NewItem,
    params(("slug" = String, Path)), security(("bearer" = [])),
    responses(
        (status = 201, description = "The item with the ids of its variants and modifiers", body = MenuItemDto),
        (status = 400, description = "Invalid fields, or `category_id` or `station_id` not one of this restaurant's", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ))]
pub async fn create_item(
    State(state): State<AppState>,
    access: Access<Managers>,
    Json(body): Json<NewItem>,
) -> ApiResult<(StatusCode, axum::Json<MenuItemDto>)> {
    let draft = ItemDraft::try_from(body)?;
    let item = storage::menu::insert_item(&state.db, access.restaurant_id, &draft)
        .await?
        .map_err(|refused| refusal(refused, "Menu item"))?;
    Ok((StatusCode::CREATED, axum::Json(item)))
}

#[utoipa::path(patch, path = "/api/restaurants/{slug}/menu/items/{item_id}/", tag = "menu", request_body = ItemPatch,
    params(("slug" = String, Path), ("item_id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, body = MenuItemDto),
        (status = 400, description = "Invalid fields, or `station_id` not a station of this restaurant", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 415, body = ErrorBody),
    ))]
pub async fn update_item(
    State(state): State<AppState>,
    access: Access<Managers>,
    PathParam(path): PathParam<(String, i64)>,
    Json(body): Json<ItemPatch>,
) -> ApiResult<axum::Json<MenuItemDto>> {
    let (_, item_id) = path;
    let changes = ItemChanges::try_from(body)?;
    storage::menu::update_item(&state.db, access.restaurant_id, item_id, &changes)
        .await?
        .map(axum::Json)
        .map_err(|refused| refusal(refused, "Menu item"))
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
    let changes = VariantChanges::try_from(body)?;
    let variant =
        storage::menu::update_variant(&state.db, access.restaurant_id, variant_id, &changes)
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
    let changes = ModifierChanges::try_from(body)?;
    let modifier =
        storage::menu::update_modifier(&state.db, access.restaurant_id, modifier_id, &changes)
            .await?
            .ok_or_else(|| ApiError::not_found("Modifier"))?;
    Ok(axum::Json(ModifierDto {
        id: modifier.id,
        name: modifier.name,
        price_adjustment: modifier.price_adjustment,
    }))
}
