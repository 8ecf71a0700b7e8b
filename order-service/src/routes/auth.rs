use axum::{extract::State, http::StatusCode};
use secrecy::SecretString;
use serde::Deserialize;
use shared_types::ErrorBody;
use utoipa::ToSchema;

use crate::{
    auth::{
        sessions,
        throttle::{self, ClientAddress},
    },
    domain::{
        accounts::{Email, Password, PersonName},
        fields::FieldErrors,
        text,
    },
    dto::{Registered, TokenPair, UserDto},
    error::{ApiError, ApiResult},
    extract::Json,
    state::AppState,
    storage::{self, users::NewUser},
};

#[derive(Deserialize, ToSchema)]
pub struct Register {
    #[schema(format = "email", max_length = 254)]
    email: String,
    /// 8..=1024 characters, not all digits.
    #[schema(value_type = String, min_length = 8, max_length = 1024, pattern = "[^0-9]")]
    password: SecretString,
    /// At most 150 characters.
    #[schema(max_length = 150, pattern = "^[^\\u0000]*$")]
    first_name: String,
    #[schema(max_length = 150, pattern = "^[^\\u0000]*$")]
    last_name: String,
}

#[utoipa::path(post, path = "/api/auth/register/", tag = "auth", request_body = Register,
    responses(
        (status = 201, description = "Registered and logged in", body = Registered),
        (status = 400, description = "Invalid field", body = ErrorBody),
        (status = 409, description = "Email taken", body = ErrorBody),
    ))]
pub async fn register(
    State(state): State<AppState>,
    Json(body): Json<Register>,
) -> ApiResult<(StatusCode, axum::Json<Registered>)> {
    let mut errors = FieldErrors::default();
    let email = errors.take("email", Email::parse(&body.email));
    let password = errors.take("password", Password::parse(body.password));
    let first_name = errors.take("first_name", PersonName::parse(body.first_name));
    let last_name = errors.take("last_name", PersonName::parse(body.last_name));
    let parsed = match (email, password, first_name, last_name) {
        (Some(email), Some(password), Some(first), Some(last)) => {
            Some((email, password, first, last))
        }
        _ => None,
    };
    let (email, password, first_name, last_name) = errors.or(parsed)?;

    let hash = state.passwords.hash(password.into_secret()).await?;
    let user = storage::users::insert(
        &state.db,
        NewUser {
            email: &email,
            password_hash: &hash,
            first_name: &first_name,
            last_name: &last_name,
        },
    )
    .await?
    .ok_or_else(|| ApiError::conflict("A user with this email already exists."))?;
    let TokenPair { access, refresh } = sessions::start(&state.db, &state.tokens, user.id).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Registered {
            user: UserDto {
                id: user.id,
                email: user.email,
                first_name: user.first_name,
                last_name: user.last_name,
            },
            access,
            refresh,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct Login {
    #[schema(pattern = "^[^\\u0000]*$")]
    email: String,
    #[schema(value_type = String)]
    password: SecretString,
}

#[utoipa::path(post, path = "/api/auth/login/", tag = "auth", request_body = Login,
    responses(
        (status = 200, body = TokenPair),
        (status = 400, body = ErrorBody),
        (status = 401, description = "Wrong email or password (one message for both)", body = ErrorBody),
        (status = 429, description = "Too many failed logins for this email or from this address \
            within the window, whatever the password; `Retry-After` says in how many seconds to try again",
            body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds until the next attempt may be made"))),
    ))]
pub async fn login(
    State(state): State<AppState>,
    client: ClientAddress,
    Json(body): Json<Login>,
) -> ApiResult<axum::Json<TokenPair>> {
    let mut errors = FieldErrors::default();
    let email = errors.take("email", text::storable(body.email.trim()));
    let email = errors.or(email)?;
    // Before any Argon2 work: a limited attempt costs one read.
    let attempt = throttle::begin(&state.db, &state.login_limits, email, &client).await?;
    let credentials = storage::users::find_credentials(&state.db, email).await?;
    let (user_id, hash) = match credentials {
        Some(found) => (Some(found.id), Some(found.password_hash)),
        None => (None, None),
    };
    // Verifies against a dummy hash when the email is unknown: same time, same answer.
    let valid = state.passwords.verify(body.password, hash).await?;
    match user_id {
        Some(user_id) if valid => {
            attempt.succeeded(&state.db).await?;
            Ok(axum::Json(
                sessions::start(&state.db, &state.tokens, user_id).await?,
            ))
        }
        _ => Err(ApiError::Unauthorized(
            "No active account found with the given credentials.".into(),
        )),
    }
}

#[derive(Deserialize, ToSchema)]
pub struct Refresh {
    refresh: String,
}

#[utoipa::path(post, path = "/api/auth/refresh/", tag = "auth", request_body = Refresh,
    responses(
        (status = 200, description = "A new pair; the refresh token presented is spent", body = TokenPair),
        (status = 400, body = ErrorBody),
        (status = 401, description = "Not a live refresh token. A spent one presented again also \
            revokes every token of its line (descended from the same login)", body = ErrorBody),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<Refresh>,
) -> ApiResult<axum::Json<TokenPair>> {
    Ok(axum::Json(
        sessions::refresh(&state.db, &state.tokens, &body.refresh).await?,
    ))
}

#[utoipa::path(post, path = "/api/auth/logout/", tag = "auth", request_body = Refresh,
    responses(
        (status = 204, description = "That refresh token, and every token of its line, no longer refreshes"),
        (status = 400, body = ErrorBody),
        (status = 401, description = "Not a refresh token of this service", body = ErrorBody),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    Json(body): Json<Refresh>,
) -> ApiResult<StatusCode> {
    sessions::logout(&state.db, &state.tokens, &body.refresh).await?;
    Ok(StatusCode::NO_CONTENT)
}
