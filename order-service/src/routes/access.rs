use std::marker::PhantomData;

use axum::{extract::FromRequestParts, http::request::Parts};
use shared_types::Slug;
use uuid::Uuid;

use crate::{
    auth::AuthUser,
    domain::roles::{Role, RoleRequirement},
    error::ApiError,
    extract::PathSlug,
    state::AppState,
    storage,
};

/// The caller's access to the restaurant named by the `{slug}` path parameter, checked in
/// API.md's order: 401 without a valid token, 404 for an unknown slug, 403 without a role in
/// `R`. As an extractor it runs before the body is read, so that order holds for every route.
pub struct Access<R> {
    pub user_id: Uuid,
    pub restaurant_id: Uuid,
    pub slug: Slug,
    pub role: Role,
    _requirement: PhantomData<R>,
}

impl<R: RoleRequirement> FromRequestParts<AppState> for Access<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        let PathSlug(slug) = PathSlug::from_request_parts(parts, state).await?;
        let access = storage::restaurants::access(&state.db, &slug, user.user_id)
            .await?
            .ok_or_else(|| ApiError::not_found("Restaurant"))?;
        match access.role {
            Some(role) if R::ALLOWED.contains(&role) => Ok(Access {
                user_id: user.user_id,
                restaurant_id: access.restaurant_id,
                slug,
                role,
                _requirement: PhantomData,
            }),
            _ => Err(ApiError::Forbidden(format!("Only {} may do this.", R::WHO))),
        }
    }
}
