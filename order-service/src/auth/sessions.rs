//! Refresh tokens that rotate (API.md, Auth). A login starts a line; each refresh spends the
//! token presented and issues the line's next one. A spent token presented again means two
//! parties hold the line, one of them a thief, so the whole line is revoked: the newer token
//! stops working too. Logout revokes the line of the token it is given.

use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    auth::tokens::{TokenKeys, TokenKind},
    dto::TokenPair,
    error::{ApiError, ApiResult},
    storage::sessions,
};

fn invalid() -> ApiError {
    ApiError::Unauthorized("The refresh token is invalid or expired.".into())
}

/// A new line for `user`: an access token and the line's first refresh token.
pub async fn start(db: &PgPool, tokens: &TokenKeys, user: Uuid) -> ApiResult<TokenPair> {
    let refresh = tokens.issue_refresh(user)?;
    sessions::start(db, user, refresh.jti, refresh.expires_at).await?;
    Ok(TokenPair {
        access: tokens.issue(user, TokenKind::Access)?,
        refresh: refresh.token,
    })
}

/// Spends `presented` for a new pair of its line; 401 if it is not a live refresh token, and a
/// spent one revokes its line.
pub async fn refresh(db: &PgPool, tokens: &TokenKeys, presented: &str) -> ApiResult<TokenPair> {
    let claims = tokens
        .claims(presented, TokenKind::Refresh)
        .map_err(|_| invalid())?;
    let next = tokens.issue_refresh(claims.sub)?;
    match sessions::rotate(db, claims.jti, next.jti, next.expires_at).await? {
        Some(user) => Ok(TokenPair {
            access: tokens.issue(user, TokenKind::Access)?,
            refresh: next.token,
        }),
        None => {
            if let Some(session) = sessions::revoke_if_spent(db, claims.jti).await? {
                metrics::counter!("auth_refresh_reuse_total").increment(1);
                tracing::warn!(
                    %session,
                    user = %claims.sub,
                    "a spent refresh token was presented again; its line is revoked"
                );
            }
            Err(invalid())
        }
    }
}

/// Revokes the line of `presented`: it, and every token refreshed from it, no longer refresh.
/// 401 if it is no refresh token of ours; a line revoked already is no error.
pub async fn logout(db: &PgPool, tokens: &TokenKeys, presented: &str) -> ApiResult<()> {
    let claims = tokens
        .claims(presented, TokenKind::Refresh)
        .map_err(|_| invalid())?;
    if sessions::revoke_line(db, claims.jti).await? {
        Ok(())
    } else {
        Err(invalid())
    }
}
