//! A restaurant's stations. Names are unique per restaurant whatever their case (the unique
//! index `stations_name_key` on `lower(name)`); deleting a station routes its categories and
//! items to none (the foreign keys' `ON DELETE SET NULL (station_id)`), while order lines keep
//! the station they were snapshotted at.

use sqlx::PgPool;
use uuid::Uuid;

use super::is_unique_violation;
use crate::domain::stations::StationName;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Station {
    pub id: i64,
    pub name: String,
}

/// Why a station was not written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No station with this id at this restaurant.
    NotFound,
    /// Another station of the restaurant has this name (case-insensitively).
    NameTaken,
}

/// True when `error` is a menu entry routed to a station that is not one of its restaurant's
/// (or no longer exists): the composite foreign keys of categories and items on
/// (station, restaurant).
pub fn is_unknown_station(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|db| {
        db.code().as_deref() == Some("23503")
            && matches!(
                db.constraint(),
                Some("menu_categories_station_fk" | "menu_items_station_fk")
            )
    })
}

fn name_taken(
    result: Result<Station, sqlx::Error>,
) -> Result<Result<Station, Refused>, sqlx::Error> {
    match result {
        Ok(station) => Ok(Ok(station)),
        Err(e) if is_unique_violation(&e, "stations_name_key") => Ok(Err(Refused::NameTaken)),
        Err(e) => Err(e),
    }
}

#[tracing::instrument(name = "db.stations.insert", skip_all)]
pub async fn insert(
    db: &PgPool,
    restaurant: Uuid,
    name: &StationName,
) -> Result<Result<Station, Refused>, sqlx::Error> {
    name_taken(
        sqlx::query_as!(
            Station,
            "INSERT INTO stations (restaurant_id, name) VALUES ($1, $2) RETURNING id, name",
            restaurant,
            name.as_str()
        )
        .fetch_one(db)
        .await,
    )
}

/// The restaurant's stations by name, case-insensitively (names are unique that way, so the
/// order is total).
#[tracing::instrument(name = "db.stations.list", skip_all)]
pub async fn list(db: &PgPool, restaurant: Uuid) -> Result<Vec<Station>, sqlx::Error> {
    sqlx::query_as!(
        Station,
        "SELECT id, name FROM stations WHERE restaurant_id = $1 ORDER BY lower(name)",
        restaurant
    )
    .fetch_all(db)
    .await
}

#[tracing::instrument(name = "db.stations.rename", skip_all)]
pub async fn rename(
    db: &PgPool,
    restaurant: Uuid,
    station_id: i64,
    name: &StationName,
) -> Result<Result<Station, Refused>, sqlx::Error> {
    let renamed = sqlx::query_as!(
        Station,
        "UPDATE stations SET name = $3 WHERE id = $1 AND restaurant_id = $2 RETURNING id, name",
        station_id,
        restaurant,
        name.as_str()
    )
    .fetch_optional(db)
    .await
    .transpose();
    match renamed {
        None => Ok(Err(Refused::NotFound)),
        Some(result) => name_taken(result),
    }
}

/// Deletes a station of this restaurant; false when there is none with this id.
#[tracing::instrument(name = "db.stations.delete", skip_all)]
pub async fn delete(db: &PgPool, restaurant: Uuid, station_id: i64) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query!(
        "DELETE FROM stations WHERE id = $1 AND restaurant_id = $2",
        station_id,
        restaurant
    )
    .execute(db)
    .await?;
    Ok(deleted.rows_affected() == 1)
}
