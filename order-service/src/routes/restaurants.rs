use axum::{extract::State, http::StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use shared_types::Slug;
use uuid::Uuid;

use super::Access;
use crate::{
    auth::AuthUser,
    domain::roles::{Managers, StaffRole},
    error::{ApiError, ApiResult, FieldErrors},
    extract::{Json, PathParam},
    state::AppState,
    storage::{self, restaurants::AddStaff},
};

/// Slugs that would collide with fixed path segments (`/api/kitchen/orders/…`).
const RESERVED_SLUGS: &[&str] = &["orders"];

#[derive(Deserialize)]
pub struct NewRestaurant {
    name: String,
    slug: String,
}

pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<NewRestaurant>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    let mut errors = FieldErrors::default();
    if body.name.trim().is_empty() {
        errors.add("name", "must not be blank");
    }
    errors.max_chars(&body.name, 200, "name");
    match Slug::parse(&body.slug) {
        Err(e) => errors.add("slug", e.to_string()),
        Ok(slug) if RESERVED_SLUGS.contains(&slug.as_str()) => errors.add("slug", "is reserved"),
        Ok(_) => {}
    }
    errors.into_result()?;
    let restaurant =
        storage::restaurants::insert(&state.db, body.name.trim(), &body.slug, user.user_id)
            .await?
            .ok_or_else(|| ApiError::conflict("A restaurant with this slug already exists."))?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "id": restaurant.id,
            "name": restaurant.name,
            "slug": restaurant.slug,
            "created_at": restaurant.created_at,
        })),
    ))
}

pub async fn list(State(state): State<AppState>, user: AuthUser) -> ApiResult<axum::Json<Value>> {
    let memberships = storage::restaurants::list_for_user(&state.db, user.user_id).await?;
    let list: Vec<Value> = memberships
        .into_iter()
        .map(|m| json!({"id": m.id, "name": m.name, "slug": m.slug, "role": m.role}))
        .collect();
    Ok(axum::Json(Value::Array(list)))
}

#[derive(Deserialize)]
pub struct NewStaff {
    email: String,
    role: String,
}

pub async fn add_staff(
    State(state): State<AppState>,
    access: Access<Managers>,
    Json(body): Json<NewStaff>,
) -> ApiResult<(StatusCode, axum::Json<Value>)> {
    let role = StaffRole::parse(&body.role)
        .ok_or_else(|| ApiError::field("role", "must be 'manager' or 'kitchen'"))?;
    match storage::restaurants::add_staff(&state.db, access.restaurant_id, body.email.trim(), role)
        .await?
    {
        AddStaff::Added { user_id, email } => Ok((
            StatusCode::CREATED,
            axum::Json(json!({"user_id": user_id, "email": email, "role": role.as_str()})),
        )),
        AddStaff::NoSuchUser => Err(ApiError::NotFound(
            "No registered user has this email.".into(),
        )),
        AddStaff::AlreadyStaff => Err(ApiError::conflict(
            "This user is already staff of this restaurant.",
        )),
    }
}

pub async fn remove_staff(
    State(state): State<AppState>,
    access: Access<Managers>,
    PathParam((_, user_id)): PathParam<(String, Uuid)>,
) -> ApiResult<StatusCode> {
    if storage::restaurants::remove_staff(&state.db, access.restaurant_id, user_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(
            "This user is not staff of this restaurant.".into(),
        ))
    }
}
