use rust_decimal::Decimal;
use shared_types::Slug;
use sqlx::{PgPool, types::Json};
use uuid::Uuid;

use super::{menu_cache::MenuCopy, stations::is_unknown_station};
use crate::{
    domain::{
        menu::{
            CategoryChanges, CategoryDraft, ItemChanges, ItemDraft, ModifierChanges, VariantChanges,
        },
        orders::MenuEntry,
    },
    dto::{MenuItemDto, PublicMenu},
};

#[derive(Debug)]
pub struct Category {
    pub id: i64,
    pub name: String,
    pub sort_order: i32,
    pub is_active: bool,
    pub station_id: Option<i64>,
}

/// Why a menu write was refused (nothing was written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The category or item addressed is not one of this restaurant's.
    NotFound,
    /// A new item's category is not one of this restaurant's.
    UnknownCategory,
    /// The station it is routed to is not one of this restaurant's (or was just deleted).
    UnknownStation,
}

/// A menu write: done, refused, or failed.
pub type Written<T> = Result<Result<T, Refused>, sqlx::Error>;

/// A write's own result, with a routing to a station not of this restaurant told apart.
fn routed<T>(result: Result<T, sqlx::Error>) -> Result<Result<T, Refused>, sqlx::Error> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e) if is_unknown_station(&e) => Ok(Err(Refused::UnknownStation)),
        Err(e) => Err(e),
    }
}

#[tracing::instrument(name = "db.menu.insert_category", skip_all)]
pub async fn insert_category(
    db: &PgPool,
    restaurant: Uuid,
    category: &CategoryDraft,
) -> Written<Category> {
    routed(
        sqlx::query_as!(
            Category,
            "INSERT INTO menu_categories (restaurant_id, name, sort_order, station_id)
             VALUES ($1, $2, $3, $4)
             RETURNING id, name, sort_order, is_active, station_id",
            restaurant,
            category.name.as_str(),
            category.sort_order,
            category.station_id
        )
        .fetch_one(db)
        .await,
    )
}

/// Applies a PATCH to a category of this restaurant.
#[tracing::instrument(name = "db.menu.update_category", skip_all)]
pub async fn update_category(
    db: &PgPool,
    restaurant: Uuid,
    category_id: i64,
    changes: &CategoryChanges,
) -> Written<Category> {
    let updated = routed(
        sqlx::query_as!(
            Category,
            "UPDATE menu_categories SET
                name = COALESCE($3, name),
                sort_order = COALESCE($4, sort_order),
                is_active = COALESCE($5, is_active),
                station_id = CASE WHEN $6 THEN $7 ELSE station_id END
             WHERE id = $1 AND restaurant_id = $2
             RETURNING id, name, sort_order, is_active, station_id",
            category_id,
            restaurant,
            changes.name.as_ref().map(|name| name.as_str()),
            changes.sort_order,
            changes.is_active,
            changes.station_id.is_some(),
            changes.station_id.flatten()
        )
        .fetch_optional(db)
        .await,
    )?;
    Ok(updated.and_then(|category| category.ok_or(Refused::NotFound)))
}

/// Expands to a `query_scalar!` whose SQL is `$before`, one item `i` as JSON (its fields,
/// variants and modifiers, prices as two-place strings, in the shape of `MenuItemDto`), then
/// `$after`. A macro, not a constant: the query macros take only literal SQL.
macro_rules! with_item_json {
    ($before:tt, $after:tt $(, $arg:expr)* $(,)?) => {
        sqlx::query_scalar!(
            $before
                + "jsonb_build_object(
            'id', i.id, 'category_id', i.category_id, 'name', i.name,
            'description', i.description, 'image_url', i.image_url,
            'sort_order', i.sort_order, 'is_active', i.is_active, 'station_id', i.station_id,
            'variants', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                    'id', v.id, 'label', v.label, 'price', v.price::text, 'is_default', v.is_default)
                ORDER BY v.position, v.id) FROM menu_variants v WHERE v.item_id = i.id), '[]'::jsonb),
            'modifiers', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                    'id', m.id, 'name', m.name, 'price_adjustment', m.price_adjustment::text)
                ORDER BY m.position, m.id) FROM menu_modifiers m WHERE m.item_id = i.id), '[]'::jsonb))"
                + $after
            $(, $arg)*
        )
    };
}

/// Inserts an item with its variants and modifiers, all or nothing.
#[tracing::instrument(name = "db.menu.insert_item", skip_all)]
pub async fn insert_item(db: &PgPool, restaurant: Uuid, item: &ItemDraft) -> Written<MenuItemDto> {
    let mut tx = db.begin().await?;
    let item_id = routed(
        sqlx::query_scalar!(
            "INSERT INTO menu_items (restaurant_id, category_id, name, description, image_url, sort_order, station_id)
             SELECT c.restaurant_id, c.id, $3, $4, $5, $6, $7 FROM menu_categories c
             WHERE c.id = $2 AND c.restaurant_id = $1
             RETURNING id",
            restaurant,
            item.category_id,
            item.name.as_str(),
            item.description.as_str(),
            item.image_url.as_ref().map(|url| url.as_str()),
            item.sort_order,
            item.station_id
        )
        .fetch_optional(&mut *tx)
        .await,
    )?;
    let item_id = match item_id {
        Ok(Some(item_id)) => item_id,
        Ok(None) => return Ok(Err(Refused::UnknownCategory)),
        Err(refused) => return Ok(Err(refused)),
    };
    let labels: Vec<&str> = item.variants.iter().map(|v| v.label.as_str()).collect();
    let prices: Vec<Decimal> = item.variants.iter().map(|v| v.price).collect();
    let default_flags: Vec<bool> = item.variants.iter().map(|v| v.is_default).collect();
    sqlx::query!(
        "INSERT INTO menu_variants (item_id, label, price, is_default, position)
         SELECT $1, label, price, is_default, position::int - 1
         FROM UNNEST($2::text[], $3::numeric[], $4::bool[]) WITH ORDINALITY AS t(label, price, is_default, position)",
        item_id,
        &labels as &[&str],
        &prices,
        &default_flags
    )
    .execute(&mut *tx)
    .await?;
    let modifiers = &item.modifiers;
    if !modifiers.is_empty() {
        let names: Vec<&str> = modifiers.iter().map(|m| m.name.as_str()).collect();
        let adjustments: Vec<Decimal> = modifiers.iter().map(|m| m.price_adjustment).collect();
        sqlx::query!(
            "INSERT INTO menu_modifiers (item_id, name, price_adjustment, position)
             SELECT $1, name, adjustment, position::int - 1
             FROM UNNEST($2::text[], $3::numeric[]) WITH ORDINALITY AS t(name, adjustment, position)",
            item_id,
            &names as &[&str],
            &adjustments
        )
        .execute(&mut *tx)
        .await?;
    }
    let created = item_by_id(&mut *tx, restaurant, item_id).await?;
    tx.commit().await?;
    Ok(created.ok_or(Refused::NotFound))
}

async fn item_by_id<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    restaurant: Uuid,
    item_id: i64,
) -> Result<Option<MenuItemDto>, sqlx::Error> {
    let item = with_item_json!(
        "SELECT ",
        r#" AS "item!: Json<MenuItemDto>" FROM menu_items i WHERE i.id = $1 AND i.restaurant_id = $2"#,
        item_id,
        restaurant
    )
    .fetch_optional(executor)
    .await?;
    Ok(item.map(|Json(item)| item))
}

/// Applies a PATCH to an item of this restaurant and reads it back.
#[tracing::instrument(name = "db.menu.update_item", skip_all)]
pub async fn update_item(
    db: &PgPool,
    restaurant: Uuid,
    item_id: i64,
    changes: &ItemChanges,
) -> Written<MenuItemDto> {
    let updated = routed(
        sqlx::query_scalar!(
            "UPDATE menu_items SET
                name = COALESCE($3, name),
                description = COALESCE($4, description),
                image_url = CASE WHEN $5 THEN $6 ELSE image_url END,
                sort_order = COALESCE($7, sort_order),
                is_active = COALESCE($8, is_active),
                station_id = CASE WHEN $9 THEN $10 ELSE station_id END
             WHERE id = $1 AND restaurant_id = $2
             RETURNING id",
            item_id,
            restaurant,
            changes.name.as_ref().map(|name| name.as_str()),
            changes.description.as_ref().map(|text| text.as_str()),
            changes.image_url.is_some(),
            changes
                .image_url
                .as_ref()
                .and_then(|url| url.as_ref().map(|url| url.as_str())),
            changes.sort_order,
            changes.is_active,
            changes.station_id.is_some(),
            changes.station_id.flatten()
        )
        .fetch_optional(db)
        .await,
    )?;
    match updated {
        Ok(Some(id)) => Ok(item_by_id(db, restaurant, id)
            .await?
            .ok_or(Refused::NotFound)),
        Ok(None) => Ok(Err(Refused::NotFound)),
        Err(refused) => Ok(Err(refused)),
    }
}

#[derive(Debug)]
pub struct Variant {
    pub id: i64,
    pub label: String,
    pub price: Decimal,
    pub is_default: bool,
}

/// Applies a PATCH to a variant of one of this restaurant's items. Making a variant the
/// default clears the flag on its siblings in the same transaction.
#[tracing::instrument(name = "db.menu.update_variant", skip_all)]
pub async fn update_variant(
    db: &PgPool,
    restaurant: Uuid,
    variant_id: i64,
    changes: &VariantChanges,
) -> Result<Option<Variant>, sqlx::Error> {
    let mut tx = db.begin().await?;
    // Lock the item first: two concurrent "make me the default" on sibling variants then queue
    // up instead of deadlocking on each other's rows. NO KEY: a confirm's foreign-key check on
    // the item (KEY SHARE, taken while it holds its restaurant's sequence lock) must not wait.
    sqlx::query!(
        "SELECT 1 AS locked FROM menu_items WHERE id = (SELECT item_id FROM menu_variants WHERE id = $1)
         FOR NO KEY UPDATE",
        variant_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let updated = sqlx::query!(
        "UPDATE menu_variants v SET
            label = COALESCE($3, v.label),
            price = COALESCE($4, v.price),
            is_default = COALESCE($5, v.is_default)
         FROM menu_items i
         WHERE v.id = $1 AND i.id = v.item_id AND i.restaurant_id = $2
         RETURNING v.id, v.label, v.price, v.is_default, v.item_id",
        variant_id,
        restaurant,
        changes.label.as_ref().map(|label| label.as_str()),
        changes.price,
        changes.is_default
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = updated else {
        return Ok(None);
    };
    if changes.is_default == Some(true) {
        sqlx::query!(
            "UPDATE menu_variants SET is_default = false WHERE item_id = $1 AND id <> $2 AND is_default",
            row.item_id,
            row.id
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Some(Variant {
        id: row.id,
        label: row.label,
        price: row.price,
        is_default: row.is_default,
    }))
}

#[derive(Debug)]
pub struct Modifier {
    pub id: i64,
    pub name: String,
    pub price_adjustment: Decimal,
}

#[tracing::instrument(name = "db.menu.update_modifier", skip_all)]
pub async fn update_modifier(
    db: &PgPool,
    restaurant: Uuid,
    modifier_id: i64,
    changes: &ModifierChanges,
) -> Result<Option<Modifier>, sqlx::Error> {
    sqlx::query_as!(
        Modifier,
        "UPDATE menu_modifiers m SET
            name = COALESCE($3, m.name),
            price_adjustment = COALESCE($4, m.price_adjustment)
         FROM menu_items i
         WHERE m.id = $1 AND i.id = m.item_id AND i.restaurant_id = $2
         RETURNING m.id, m.name, m.price_adjustment",
        modifier_id,
        restaurant,
        changes.name.as_ref().map(|name| name.as_str()),
        changes.price_adjustment
    )
    .fetch_optional(db)
    .await
}

/// The customer's menu: active categories and their active items, in `sort_order`, built as
/// one JSON tree by the database. `None` when the slug is unknown.
#[tracing::instrument(name = "db.menu.public_menu", skip_all)]
pub async fn public_menu(db: &PgPool, slug: &Slug) -> Result<Option<PublicMenu>, sqlx::Error> {
    let menu = with_item_json!(
        "SELECT jsonb_build_object('restaurant_name', r.name, 'categories', COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                'id', c.id, 'name', c.name, 'sort_order', c.sort_order,
                'items', COALESCE((
                    SELECT jsonb_agg(",
        r#" - 'category_id' - 'sort_order' - 'is_active' - 'station_id' ORDER BY i.sort_order, i.id)
                    FROM menu_items i WHERE i.category_id = c.id AND i.is_active), '[]'::jsonb)
            ) ORDER BY c.sort_order, c.id)
            FROM menu_categories c WHERE c.restaurant_id = r.id AND c.is_active), '[]'::jsonb))
            AS "menu!: Json<PublicMenu>"
         FROM restaurants r WHERE r.slug = $1"#,
        slug.as_str()
    )
    .fetch_optional(db)
    .await?;
    Ok(menu.map(|Json(menu)| menu))
}

/// The restaurant with this slug, its menu's version and those of `item_ids` that are on its
/// active menu (item and category active), read in one snapshot; `None` when there is no such
/// restaurant. The version is what a confirm priced from these entries is written against
/// (`orders::confirm`).
#[tracing::instrument(name = "db.menu.entries_for_order", skip_all)]
pub async fn entries_for_order(
    db: &PgPool,
    slug: &Slug,
    item_ids: &[i64],
) -> Result<Option<MenuCopy>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT r.id, r.menu_version,
            COALESCE((SELECT jsonb_agg(jsonb_build_object('id', i.id, 'name', i.name,
                'station', (SELECT jsonb_build_object('id', st.id, 'name', st.name) FROM stations st
                            WHERE st.id = COALESCE(i.station_id, c.station_id)),
                'variants', COALESCE((SELECT jsonb_agg(jsonb_build_object('id', v.id, 'label', v.label, 'price', v.price::text))
                    FROM menu_variants v WHERE v.item_id = i.id), '[]'::jsonb),
                'modifiers', COALESCE((SELECT jsonb_agg(jsonb_build_object('id', m.id, 'name', m.name, 'price_adjustment', m.price_adjustment::text))
                    FROM menu_modifiers m WHERE m.item_id = i.id), '[]'::jsonb)))
             FROM menu_items i JOIN menu_categories c ON c.id = i.category_id
             WHERE i.restaurant_id = r.id AND i.id = ANY($2) AND i.is_active AND c.is_active), '[]'::jsonb)
             AS "menu!: Json<Vec<MenuEntry>>"
         FROM restaurants r WHERE r.slug = $1"#,
        slug.as_str(),
        item_ids
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|row| MenuCopy {
        restaurant_id: row.id,
        version: row.menu_version,
        entries: row
            .menu
            .0
            .into_iter()
            .map(|entry| (entry.id, entry))
            .collect(),
    }))
}
