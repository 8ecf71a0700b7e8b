//! Refresh-token lines (`auth_sessions`) and their tokens (`refresh_tokens`). Every change is
//! one statement, so two requests racing with one token cannot both win.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

/// Starts a line for `user` with its first refresh token.
#[tracing::instrument(name = "db.sessions.start", skip_all)]
pub async fn start(
    db: &PgPool,
    user: Uuid,
    jti: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH session AS (
             INSERT INTO auth_sessions (id, user_id, expires_at) VALUES ($1, $2, $4)
             RETURNING id
         )
         INSERT INTO refresh_tokens (jti, session_id, expires_at) SELECT $3, id, $4 FROM session",
        Uuid::now_v7(),
        user,
        jti,
        expires_at
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Spends the refresh token `presented` and adds `next` to its line, if `presented` is
/// unspent, unexpired and its line not revoked; the line's user, or `None` (nothing changed).
/// The row lock of the UPDATE serializes racers: a second one waits, then finds the token spent.
#[tracing::instrument(name = "db.sessions.rotate", skip_all)]
pub async fn rotate(
    db: &PgPool,
    presented: Uuid,
    next: Uuid,
    next_expires_at: DateTime<Utc>,
) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"WITH spent AS (
               UPDATE refresh_tokens t SET spent_at = now()
               FROM auth_sessions s
               WHERE t.jti = $1 AND t.spent_at IS NULL AND t.expires_at > now()
                 AND s.id = t.session_id AND s.revoked_at IS NULL
               RETURNING t.session_id, s.user_id
           ), extended AS (
               UPDATE auth_sessions SET expires_at = $3
               WHERE id = (SELECT session_id FROM spent)
           ), added AS (
               INSERT INTO refresh_tokens (jti, session_id, expires_at)
               SELECT $2, session_id, $3 FROM spent
           )
           SELECT user_id AS "user_id!" FROM spent"#,
        presented,
        next,
        next_expires_at
    )
    .fetch_optional(db)
    .await
}

/// Revokes the line of `jti` if that token was already spent: someone presents a token that
/// was refreshed before, so one of its two holders is not its owner. The line's id, if revoked
/// now.
#[tracing::instrument(name = "db.sessions.revoke_if_spent", skip_all)]
pub async fn revoke_if_spent(db: &PgPool, jti: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "UPDATE auth_sessions s SET revoked_at = now()
         FROM refresh_tokens t
         WHERE t.jti = $1 AND t.spent_at IS NOT NULL
           AND s.id = t.session_id AND s.revoked_at IS NULL
         RETURNING s.id",
        jti
    )
    .fetch_optional(db)
    .await
}

/// Revokes the line of `jti` (a logout); false when no such token is known. Revoking a line
/// already revoked changes nothing and is no error.
#[tracing::instrument(name = "db.sessions.revoke_line", skip_all)]
pub async fn revoke_line(db: &PgPool, jti: Uuid) -> Result<bool, sqlx::Error> {
    let revoked = sqlx::query_scalar!(
        "UPDATE auth_sessions s SET revoked_at = coalesce(s.revoked_at, now())
         FROM refresh_tokens t
         WHERE t.jti = $1 AND s.id = t.session_id
         RETURNING s.id",
        jti
    )
    .fetch_optional(db)
    .await?;
    Ok(revoked.is_some())
}

/// Deletes the tokens and lines past their expiry: nothing of them can refresh any more (their
/// JWTs are expired too). The lines' remaining tokens go with them.
#[tracing::instrument(name = "db.sessions.prune", skip_all)]
pub async fn prune_expired(db: &PgPool) -> Result<u64, sqlx::Error> {
    let tokens = sqlx::query!("DELETE FROM refresh_tokens WHERE expires_at < now()")
        .execute(db)
        .await?
        .rows_affected();
    let sessions = sqlx::query!("DELETE FROM auth_sessions WHERE expires_at < now()")
        .execute(db)
        .await?
        .rows_affected();
    Ok(tokens + sessions)
}
