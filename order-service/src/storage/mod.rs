//! All SQL lives here, one module per table family. Queries are checked at run time (and by the
//! integration tests), so building needs no database.

pub mod events;
pub mod menu;
pub mod orders;
pub mod restaurants;
pub mod users;

/// True when `error` is a unique violation of `constraint`.
pub fn is_unique_violation(error: &sqlx::Error, constraint: &str) -> bool {
    error.as_database_error().is_some_and(|db| {
        db.code().as_deref() == Some("23505") && db.constraint() == Some(constraint)
    })
}

/// Now, at the microsecond precision PostgreSQL stores, so an Order built in memory equals the
/// same Order read back.
pub fn now_micros() -> chrono::DateTime<chrono::Utc> {
    let now = chrono::Utc::now();
    chrono::DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}
