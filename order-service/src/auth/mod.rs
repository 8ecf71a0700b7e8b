//! Who is calling: password hashing, JWT access/refresh tokens, refresh-token lines, login
//! guessing limits, and the `AuthUser` extractor.

pub mod password;
pub mod sessions;
pub mod throttle;
pub mod tickets;
pub mod tokens;

use std::time::Duration;

use axum::{extract::FromRequestParts, http::header, http::request::Parts};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{error::ApiError, state::AppState, storage};
use tokens::TokenKind;

/// Hourly, deletes the refresh tokens and lines past their expiry and the login failures older
/// than `login_window`: each an index range scan, so the tables stay as small as what is live.
pub async fn run_pruner(db: PgPool, login_window: Duration, stop: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = every.tick() => {}
        }
        match storage::sessions::prune_expired(&db).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "pruned expired refresh tokens and sessions"),
            Err(error) => tracing::warn!(%error, "pruning refresh tokens failed"),
        }
        match storage::login_failures::prune(&db, login_window).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "pruned old login failures"),
            Err(error) => tracing::warn!(%error, "pruning login failures failed"),
        }
    }
}

/// The authenticated caller, from `Authorization: Bearer <access token>`. Verifying the token
/// needs no database round trip.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub user_id: Uuid,
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
            ApiError::Unauthorized("Authentication credentials were not provided.".into())
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| {
                let (scheme, token) = value.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .ok_or_else(|| {
                ApiError::Unauthorized("Expected 'Authorization: Bearer <token>'.".into())
            })?;
        let user_id = state.tokens.verify(token, TokenKind::Access).map_err(|_| {
            ApiError::Unauthorized("The access token is invalid or expired.".into())
        })?;
        Ok(AuthUser { user_id })
    }
}
