use chrono::{DateTime, Utc};
use sqlx::{PgPool, types::Json};
use uuid::Uuid;

use shared_types::{Slug, StaffEventKind, StaffRemoved};

use super::{is_unique_violation, now_micros};
use crate::{
    domain::{
        restaurants::RestaurantName,
        roles::{Role, StaffRole},
    },
    telemetry::TraceContext,
};

#[derive(Debug, Clone)]
pub struct Restaurant {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub created_at: DateTime<Utc>,
}

/// Why a restaurant was not created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotCreated {
    SlugTaken,
    /// The owner has `max_per_owner` restaurants already.
    OwnerAtLimit,
}

/// Inserts a restaurant owned by `owner`, unless the slug is taken or the owner already owns
/// `max_per_owner`. The owner's user row is locked first, and the count read in a statement
/// after that (so in a snapshot that sees every create committed before the lock was given):
/// concurrent creates by one owner take turns, and none goes past the limit.
#[tracing::instrument(name = "db.restaurants.insert", skip_all)]
pub async fn insert(
    db: &PgPool,
    name: &RestaurantName,
    slug: &Slug,
    owner: Uuid,
    max_per_owner: u32,
) -> Result<Result<Restaurant, NotCreated>, sqlx::Error> {
    let mut tx = db.begin().await?;
    sqlx::query!("SELECT id FROM users WHERE id = $1 FOR UPDATE", owner)
        .fetch_optional(&mut *tx)
        .await?;
    let result = sqlx::query_as!(
        Restaurant,
        r#"WITH r AS (
            INSERT INTO restaurants (id, name, slug, owner_id)
            SELECT $1, $2, $3, $4
            WHERE (SELECT count(*) FROM restaurants WHERE owner_id = $4) < $5
            RETURNING id, name, slug, created_at),
         s AS (INSERT INTO restaurant_sequences (restaurant_id) SELECT id FROM r)
         SELECT id AS "id!", name AS "name!", slug AS "slug!", created_at AS "created_at!" FROM r"#,
        Uuid::now_v7(),
        name.as_str(),
        slug.as_str(),
        owner,
        i64::from(max_per_owner)
    )
    .fetch_optional(&mut *tx)
    .await;
    match result {
        Ok(Some(restaurant)) => {
            tx.commit().await?;
            Ok(Ok(restaurant))
        }
        Ok(None) => Ok(Err(NotCreated::OwnerAtLimit)),
        Err(e) if is_unique_violation(&e, "restaurants_slug_key") => Ok(Err(NotCreated::SlugTaken)),
        Err(e) => Err(e),
    }
}

#[derive(Debug, Clone)]
pub struct Membership {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub role: String,
}

/// The restaurants where `user` is owner or staff, oldest first.
#[tracing::instrument(name = "db.restaurants.list_for_user", skip_all)]
pub async fn list_for_user(db: &PgPool, user: Uuid) -> Result<Vec<Membership>, sqlx::Error> {
    sqlx::query_as!(
        Membership,
        r#"SELECT id AS "id!", name AS "name!", slug AS "slug!", role AS "role!" FROM (
            SELECT r.id, r.name, r.slug, 'owner' AS role, r.created_at FROM restaurants r WHERE r.owner_id = $1
            UNION ALL
            SELECT r.id, r.name, r.slug, s.role, r.created_at FROM staff s JOIN restaurants r ON r.id = s.restaurant_id
            WHERE s.user_id = $1 AND r.owner_id <> $1) m
         ORDER BY created_at, id"#,
        user
    )
    .fetch_all(db)
    .await
}

/// A restaurant looked up by slug, with the caller's role there (if any).
#[derive(Debug, Clone)]
pub struct RestaurantAccess {
    pub restaurant_id: Uuid,
    pub role: Option<Role>,
}

#[tracing::instrument(name = "db.restaurants.access", skip_all)]
pub async fn access(
    db: &PgPool,
    slug: &Slug,
    user: Uuid,
) -> Result<Option<RestaurantAccess>, sqlx::Error> {
    let row = sqlx::query!(
        r#"SELECT r.id, CASE WHEN r.owner_id = $2 THEN 'owner' ELSE s.role END AS "role?"
         FROM restaurants r LEFT JOIN staff s ON s.restaurant_id = r.id AND s.user_id = $2
         WHERE r.slug = $1"#,
        slug.as_str(),
        user
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|row| RestaurantAccess {
        restaurant_id: row.id,
        role: row.role.as_deref().and_then(Role::parse),
    }))
}

#[tracing::instrument(name = "db.restaurants.id_by_slug", skip_all)]
pub async fn id_by_slug(db: &PgPool, slug: &Slug) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!("SELECT id FROM restaurants WHERE slug = $1", slug.as_str())
        .fetch_optional(db)
        .await
}

pub enum AddStaff {
    Added { user_id: Uuid, email: String },
    NoSuchUser,
    AlreadyStaff,
}

#[tracing::instrument(name = "db.restaurants.add_staff", skip_all)]
pub async fn add_staff(
    db: &PgPool,
    restaurant: Uuid,
    email: &str,
    role: StaffRole,
) -> Result<AddStaff, sqlx::Error> {
    let user = sqlx::query!(
        r#"SELECT u.id, u.email, r.owner_id = u.id AS "is_owner!" FROM users u, restaurants r
         WHERE lower(u.email) = lower($1) AND r.id = $2"#,
        email,
        restaurant
    )
    .fetch_optional(db)
    .await?;
    let Some(user) = user else {
        return Ok(AddStaff::NoSuchUser);
    };
    if user.is_owner {
        return Ok(AddStaff::AlreadyStaff);
    }
    let (user_id, email) = (user.id, user.email);
    let inserted = sqlx::query!(
        "INSERT INTO staff (restaurant_id, user_id, role) VALUES ($1, $2, $3)
         ON CONFLICT (restaurant_id, user_id) DO NOTHING",
        restaurant,
        user_id,
        role.as_str()
    )
    .execute(db)
    .await?;
    Ok(if inserted.rows_affected() == 1 {
        AddStaff::Added { user_id, email }
    } else {
        AddStaff::AlreadyStaff
    })
}

/// Removes a staff row and, in the same statement (so the same transaction), writes its
/// `staff.removed` message to the staff outbox, which the relay publishes even if the broker
/// is down right now; false when there was no such row (and nothing is written).
#[tracing::instrument(name = "db.restaurants.remove_staff", skip_all)]
pub async fn remove_staff(
    db: &PgPool,
    restaurant: Uuid,
    slug: &Slug,
    user: Uuid,
    trace_context: &TraceContext,
) -> Result<bool, sqlx::Error> {
    let message = StaffRemoved {
        event: StaffEventKind::StaffRemoved,
        event_id: Uuid::now_v7(),
        restaurant: slug.clone(),
        user_id: user,
        occurred_at: now_micros(),
    };
    let written = sqlx::query_scalar!(
        "WITH removed AS (
            DELETE FROM staff WHERE restaurant_id = $1 AND user_id = $2 RETURNING user_id)
         INSERT INTO staff_outbox (event_id, restaurant_id, routing_key, payload, trace_context,
                                   occurred_at)
         SELECT $3, $1, $4, $5, $6, $7 FROM removed
         RETURNING event_id",
        restaurant,
        user,
        message.event_id,
        message.routing_key(),
        Json(&message) as _,
        Json(trace_context) as _,
        message.occurred_at,
    )
    .fetch_optional(db)
    .await?;
    Ok(written.is_some())
}
