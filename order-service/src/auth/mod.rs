//! Who is calling: password hashing, JWT access/refresh tokens, and the `AuthUser` extractor.

pub mod password;
pub mod tickets;
pub mod tokens;

use axum::{extract::FromRequestParts, http::header, http::request::Parts};
use uuid::Uuid;

use crate::{error::ApiError, state::AppState};
use tokens::TokenKind;

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
