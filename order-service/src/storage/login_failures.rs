//! The recent failed logins per email and per client address (`login_failures`), shared by
//! every instance. The email is lower-cased by PostgreSQL's `lower()`, as the users lookup
//! compares it, so no two spellings of one account's email count apart.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// The failures on record for one key of a login attempt, and the database's time.
#[derive(Debug, Clone)]
pub struct Failures {
    pub scope: Scope,
    /// Newest first (the order is not relied on).
    pub failed_at: Vec<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Email,
    Address,
}

impl Scope {
    fn parse(scope: &str) -> Option<Self> {
        match scope {
            "email" => Some(Scope::Email),
            "address" => Some(Scope::Address),
            _ => None,
        }
    }
}

fn rows(rows: Vec<(String, Vec<DateTime<Utc>>, DateTime<Utc>)>) -> Vec<Failures> {
    rows.into_iter()
        .filter_map(|(scope, failed_at, now)| {
            Some(Failures {
                scope: Scope::parse(&scope)?,
                failed_at,
                now,
            })
        })
        .collect()
}

/// What is on record for `email` and `address` (no row, no failures). Reads only, so a flood
/// of attempts at a limited key takes no lock.
#[tracing::instrument(name = "db.login_failures.read", skip_all)]
pub async fn read(db: &PgPool, email: &str, address: &str) -> Result<Vec<Failures>, sqlx::Error> {
    let found = sqlx::query!(
        r#"SELECT scope, failed_at, now() AS "now!" FROM login_failures
           WHERE (scope = 'email' AND subject = lower($1))
              OR (scope = 'address' AND subject = $2)"#,
        email,
        address
    )
    .fetch_all(db)
    .await?;
    Ok(rows(
        found
            .into_iter()
            .map(|row| (row.scope, row.failed_at, row.now))
            .collect(),
    ))
}

/// Records an attempt as a failure of both keys before its password is checked, and returns
/// both keys' failures within `window`, this one included (at most `keep` of them). One
/// upsert: concurrent attempts at a key wait for each other's row lock, so each counts the
/// ones before it. Emails lock before addresses in every statement here, so no two deadlock.
#[tracing::instrument(name = "db.login_failures.record", skip_all)]
pub async fn record(
    db: &PgPool,
    email: &str,
    address: &str,
    window: Duration,
    keep: u32,
) -> Result<Vec<Failures>, sqlx::Error> {
    let recorded = sqlx::query!(
        r#"INSERT INTO login_failures AS f (scope, subject, failed_at, last_failed_at)
           VALUES ('email', lower($1), ARRAY[now()], now()),
                  ('address', $2, ARRAY[now()], now())
           ON CONFLICT (scope, subject) DO UPDATE SET
               failed_at = ARRAY(
                   SELECT at FROM unnest(f.failed_at || now()) AS at
                   WHERE at > now() - make_interval(secs => $3)
                   ORDER BY at DESC LIMIT $4),
               last_failed_at = now()
           RETURNING scope, failed_at, now() AS "now!""#,
        email,
        address,
        window.as_secs_f64(),
        i64::from(keep)
    )
    .fetch_all(db)
    .await?;
    Ok(rows(
        recorded
            .into_iter()
            .map(|row| (row.scope, row.failed_at, row.now))
            .collect(),
    ))
}

/// After a successful login: the email's failures are cleared, and the address gets back the
/// attempt recorded at `recorded_at` (it was no failure).
#[tracing::instrument(name = "db.login_failures.succeeded", skip_all)]
pub async fn succeeded(
    db: &PgPool,
    email: &str,
    address: &str,
    recorded_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // Two statements, in the lock order of `record` (email, then address).
    sqlx::query!(
        "DELETE FROM login_failures WHERE scope = 'email' AND subject = lower($1)",
        email
    )
    .execute(db)
    .await?;
    sqlx::query!(
        "UPDATE login_failures SET failed_at = array_remove(failed_at, $2)
         WHERE scope = 'address' AND subject = $1",
        address,
        recorded_at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Deletes the keys whose last failure is older than `window`: they limit nothing any more.
#[tracing::instrument(name = "db.login_failures.prune", skip_all)]
pub async fn prune(db: &PgPool, window: Duration) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "DELETE FROM login_failures WHERE last_failed_at < now() - make_interval(secs => $1)",
        window.as_secs_f64()
    )
    .execute(db)
    .await?
    .rows_affected())
}
