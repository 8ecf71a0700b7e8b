//! All SQL lives here, one module per table family. Every query is static and checked at
//! compile time (`query!` and friends) against the schema; the check's results are committed
//! in `.sqlx/` at the workspace root, so building needs no database (with no `DATABASE_URL`
//! set, the macros read `.sqlx/`). After changing a query or a migration, refresh it from the
//! workspace root against a scratch database migrated from `migrations/` (the README has the
//! command): the macros write their data to `SQLX_OFFLINE_DIR` while `DATABASE_URL` is set.

pub mod events;
pub mod line_ids;
pub mod login_failures;
pub mod menu;
pub mod menu_cache;
pub mod order_cache;
pub mod orders;
pub mod restaurants;
pub mod sessions;
pub mod stations;
pub mod stats;
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
