use axum::{extract::State, http::StatusCode};
use serde::Deserialize;
use shared_types::ErrorBody;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Access;
use crate::{
    auth::AuthUser,
    domain::{
        fields::FieldErrors,
        restaurants::{RestaurantName, new_restaurant_slug},
        roles::{Managers, StaffRole},
        text,
    },
    dto::{MembershipDto, RestaurantDto, StaffDto},
    error::{ApiError, ApiResult},
    extract::{Json, PathParam},
    state::AppState,
    storage::{
        self,
        restaurants::{AddStaff, NotCreated},
    },
    telemetry,
};

#[derive(Deserialize, ToSchema)]
pub struct NewRestaurant {
    /// Not blank, at most 200 characters; stored trimmed.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    name: String,
    /// Lowercase words of letters and digits joined by single hyphens, at most 100
    /// characters; `orders` is reserved.
    #[schema(max_length = 100, pattern = "^(?!orders$)[a-z0-9]+(-[a-z0-9]+)*$")]
    slug: String,
}

#[utoipa::path(post, path = "/api/restaurants/", tag = "restaurants", request_body = NewRestaurant,
    security(("bearer" = [])),
    responses(
        (status = 201, body = RestaurantDto),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "The caller owns `MAX_RESTAURANTS_PER_OWNER` restaurants already", body = ErrorBody),
        (status = 409, description = "Slug taken", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<NewRestaurant>,
) -> ApiResult<(StatusCode, axum::Json<RestaurantDto>)> {
    let mut errors = FieldErrors::default();
    let name = errors.take("name", RestaurantName::parse(&body.name));
    let slug = errors.take("slug", new_restaurant_slug(&body.slug));
    let (name, slug) = errors.or(name.zip(slug))?;
    let max = state.caps.max_restaurants_per_owner;
    let restaurant = storage::restaurants::insert(&state.db, &name, &slug, user.user_id, max)
        .await?
        .map_err(|refused| match refused {
            NotCreated::SlugTaken => {
                ApiError::conflict("A restaurant with this slug already exists.")
            }
            NotCreated::OwnerAtLimit => ApiError::Forbidden(format!(
                "You own {max} restaurants, the most one account may create."
            )),
        })?;
    Ok((
        StatusCode::CREATED,
        axum::Json(RestaurantDto {
            id: restaurant.id,
            name: restaurant.name,
            slug: restaurant.slug,
            created_at: restaurant.created_at,
        }),
    ))
}

#[utoipa::path(get, path = "/api/restaurants/", tag = "restaurants", security(("bearer" = [])),
    responses(
        (status = 200, description = "Where the caller is owner or staff", body = [MembershipDto]),
        (status = 401, body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<axum::Json<Vec<MembershipDto>>> {
    let memberships = storage::restaurants::list_for_user(&state.db, user.user_id).await?;
    Ok(axum::Json(
        memberships
            .into_iter()
            .map(|m| MembershipDto {
                id: m.id,
                name: m.name,
                slug: m.slug,
                role: m.role,
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct NewStaff {
    /// A registered user's email.
    #[schema(pattern = "^[^\\u0000]*$")]
    email: String,
    #[schema(value_type = StaffRoleName)]
    role: String,
}

/// A role a staff member can be given (documentation of `role`, parsed into a `StaffRole`).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum StaffRoleName {
    Manager,
    Kitchen,
}

#[utoipa::path(post, path = "/api/restaurants/{slug}/staff/", tag = "restaurants", request_body = NewStaff,
    params(("slug" = String, Path)), security(("bearer" = [])),
    responses(
        (status = 201, body = StaffDto),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, description = "Unknown restaurant, or no registered user with this email", body = ErrorBody),
        (status = 409, description = "Already staff", body = ErrorBody),
    ))]
pub async fn add_staff(
    State(state): State<AppState>,
    access: Access<Managers>,
    Json(body): Json<NewStaff>,
) -> ApiResult<(StatusCode, axum::Json<StaffDto>)> {
    let mut errors = FieldErrors::default();
    let email = errors.take("email", text::storable(body.email.trim()));
    let role = StaffRole::parse(&body.role);
    if role.is_none() {
        errors.add("role", "must be 'manager' or 'kitchen'");
    }
    let (email, role) = errors.or(email.zip(role))?;
    match storage::restaurants::add_staff(&state.db, access.restaurant_id, email, role).await? {
        AddStaff::Added { user_id, email } => Ok((
            StatusCode::CREATED,
            axum::Json(StaffDto {
                user_id,
                email,
                role: role.as_str().to_owned(),
            }),
        )),
        AddStaff::NoSuchUser => Err(ApiError::NotFound(
            "No registered user has this email.".into(),
        )),
        AddStaff::AlreadyStaff => Err(ApiError::conflict(
            "This user is already staff of this restaurant.",
        )),
    }
}

/// Removes a staff member. Their open kitchen sockets at this restaurant are closed with 4403
/// (a `staff.removed` message, published through the outbox like an event).
#[utoipa::path(delete, path = "/api/restaurants/{slug}/staff/{user_id}/", tag = "restaurants",
    params(("slug" = String, Path), ("user_id" = Uuid, Path)), security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed; their kitchen sockets here are closed with 4403"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn remove_staff(
    State(state): State<AppState>,
    access: Access<Managers>,
    PathParam(path): PathParam<(String, Uuid)>,
) -> ApiResult<StatusCode> {
    let (_, user_id) = path;
    let removed = storage::restaurants::remove_staff(
        &state.db,
        access.restaurant_id,
        &access.slug,
        user_id,
        &telemetry::current_trace_context(),
    )
    .await?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(
            "This user is not staff of this restaurant.".into(),
        ))
    }
}
