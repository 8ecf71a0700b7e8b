use sqlx::PgPool;
use uuid::Uuid;

use super::is_unique_violation;
use crate::domain::accounts::{Email, PersonName};

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

pub struct NewUser<'a> {
    pub email: &'a Email,
    /// The Argon2id PHC string.
    pub password_hash: &'a str,
    pub first_name: &'a PersonName,
    pub last_name: &'a PersonName,
}

/// Inserts a user; `None` when the email (compared case-insensitively) is taken.
#[tracing::instrument(name = "db.users.insert", skip_all)]
pub async fn insert(db: &PgPool, user: NewUser<'_>) -> Result<Option<User>, sqlx::Error> {
    let result = sqlx::query_as!(
        User,
        "INSERT INTO users (id, email, password_hash, first_name, last_name)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING id, email, first_name, last_name",
        Uuid::now_v7(),
        user.email.as_str(),
        user.password_hash,
        user.first_name.as_str(),
        user.last_name.as_str()
    )
    .fetch_one(db)
    .await;
    match result {
        Ok(user) => Ok(Some(user)),
        Err(e) if is_unique_violation(&e, "users_email_lower_key") => Ok(None),
        Err(e) => Err(e),
    }
}

/// What a login is checked against.
pub struct Credentials {
    pub id: Uuid,
    /// The Argon2id PHC string.
    pub password_hash: String,
}

/// The id and password hash of the user with this email, if any. (The email is whatever the
/// client typed: an unknown or malformed one simply matches nobody.)
#[tracing::instrument(name = "db.users.find_credentials", skip_all)]
pub async fn find_credentials(
    db: &PgPool,
    email: &str,
) -> Result<Option<Credentials>, sqlx::Error> {
    sqlx::query_as!(
        Credentials,
        "SELECT id, password_hash FROM users WHERE lower(email) = lower($1)",
        email
    )
    .fetch_optional(db)
    .await
}
