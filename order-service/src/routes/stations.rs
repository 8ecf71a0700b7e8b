//! A restaurant's stations (API.md, "Kitchen floor", **Stations**): where its menu entries are
//! made, and so which kitchen screen a line shows up on.

use axum::{extract::State, http::StatusCode};
use serde::Deserialize;
use shared_types::ErrorBody;
use utoipa::ToSchema;

use super::Access;
use crate::{
    domain::{
        fields::FieldErrors,
        roles::{Managers, Staff},
        stations::StationName,
    },
    dto::StationDto,
    error::{ApiError, ApiResult},
    extract::{Json, PathParam},
    state::AppState,
    storage::{
        self,
        stations::{Refused, Station},
    },
};

/// `POST …/stations/` and `PATCH …/stations/{station_id}/`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StationBody {
    /// 1..=50 characters, not blank; unique at the restaurant whatever its case.
    #[schema(
        example = "grill",
        min_length = 1,
        max_length = 50,
        pattern = "^[^\\u0000]*[^\\u0000\\t-\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000]*$"
    )]
    pub name: String,
}

impl TryFrom<StationBody> for StationName {
    type Error = FieldErrors;

    fn try_from(body: StationBody) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = errors.take("name", StationName::parse(body.name));
        errors.or(name)
    }
}

fn dto(station: Station) -> StationDto {
    StationDto {
        id: station.id,
        name: station.name,
    }
}

fn refusal(refused: Refused) -> ApiError {
    match refused {
        Refused::NotFound => ApiError::not_found("Station"),
        Refused::NameTaken => {
            ApiError::conflict("This restaurant already has a station with this name.")
        }
    }
}

#[utoipa::path(post, path = "/api/restaurants/{slug}/stations/", tag = "menu", request_body = StationBody,
    params(("slug" = String, Path)), security(("bearer" = [])),
    responses(
        (status = 201, body = StationDto),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not the owner or a manager", body = ErrorBody),
        (status = 404, description = "Unknown restaurant", body = ErrorBody),
        (status = 409, description = "The name is taken (case-insensitively)", body = ErrorBody),
        (status = 415, body = ErrorBody),
    ))]
pub async fn create_station(
    State(state): State<AppState>,
    access: Access<Managers>,
    Json(body): Json<StationBody>,
) -> ApiResult<(StatusCode, axum::Json<StationDto>)> {
    let name = StationName::try_from(body)?;
    let station = storage::stations::insert(&state.db, access.restaurant_id, &name)
        .await?
        .map_err(refusal)?;
    Ok((StatusCode::CREATED, axum::Json(dto(station))))
}

#[utoipa::path(get, path = "/api/restaurants/{slug}/stations/", tag = "menu",
    params(("slug" = String, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "The restaurant's stations by name (case-insensitively)", body = [StationDto]),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not staff of the restaurant", body = ErrorBody),
        (status = 404, description = "Unknown restaurant", body = ErrorBody),
    ))]
pub async fn list_stations(
    State(state): State<AppState>,
    access: Access<Staff>,
) -> ApiResult<axum::Json<Vec<StationDto>>> {
    let stations = storage::stations::list(&state.db, access.restaurant_id).await?;
    Ok(axum::Json(stations.into_iter().map(dto).collect()))
}

#[utoipa::path(patch, path = "/api/restaurants/{slug}/stations/{station_id}/", tag = "menu", request_body = StationBody,
    params(("slug" = String, Path), ("station_id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 200, description = "Renamed; order lines keep the name they were confirmed with", body = StationDto),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not the owner or a manager", body = ErrorBody),
        (status = 404, description = "Unknown restaurant, or no such station at it", body = ErrorBody),
        (status = 409, description = "Another station has this name (case-insensitively)", body = ErrorBody),
        (status = 415, body = ErrorBody),
    ))]
pub async fn rename_station(
    State(state): State<AppState>,
    access: Access<Managers>,
    PathParam(path): PathParam<(String, i64)>,
    Json(body): Json<StationBody>,
) -> ApiResult<axum::Json<StationDto>> {
    let (_, station_id) = path;
    let name = StationName::try_from(body)?;
    let station = storage::stations::rename(&state.db, access.restaurant_id, station_id, &name)
        .await?
        .map_err(refusal)?;
    Ok(axum::Json(dto(station)))
}

#[utoipa::path(delete, path = "/api/restaurants/{slug}/stations/{station_id}/", tag = "menu",
    params(("slug" = String, Path), ("station_id" = i64, Path)), security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted: the categories and items routed to it fall back to no station; order lines keep theirs"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "Not the owner or a manager", body = ErrorBody),
        (status = 404, description = "Unknown restaurant, or no such station at it", body = ErrorBody),
    ))]
pub async fn delete_station(
    State(state): State<AppState>,
    access: Access<Managers>,
    PathParam(path): PathParam<(String, i64)>,
) -> ApiResult<StatusCode> {
    let (_, station_id) = path;
    if storage::stations::delete(&state.db, access.restaurant_id, station_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(refusal(Refused::NotFound))
    }
}
