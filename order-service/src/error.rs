//! The API's one error type. Every failure leaves as JSON `{"detail": …}` with the status of
//! API.md's table; internal causes are logged, never sent.

use std::collections::BTreeMap;

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};
use shared_types::ErrorBody;

use crate::domain::{fields::FieldErrors, orders::InvalidIdempotencyKey};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{detail}")]
    Validation {
        detail: String,
        errors: BTreeMap<String, Vec<String>>,
    },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    /// 429 with `Retry-After: retry_after_secs` (login guessing).
    #[error("{detail}")]
    TooManyRequests {
        detail: String,
        retry_after_secs: u64,
    },
    #[error("The database is unavailable; try again shortly.")]
    Unavailable,
    /// 503 for a request that lost a race it may win on a retry (`Retry-After` as for any 503).
    #[error("{0}")]
    Busy(String),
    #[error("internal error: {0:#}")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        ApiError::BadRequest(detail.into())
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found."))
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        ApiError::Conflict(detail.into())
    }

    /// One invalid field, as a validation error.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        FieldErrors::one(field, message).into()
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::Validation { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable | ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if is_unavailable(&error) {
            tracing::warn!(error = %error, "database unavailable");
            ApiError::Unavailable
        } else {
            ApiError::Internal(anyhow::Error::new(error))
        }
    }
}

/// Errors that mean "the database cannot be reached right now", as opposed to a bug.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        // A connection cut mid-handshake surfaces as a protocol error.
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        // Class 08: connection exception; 57P0x: the server is shutting down or restarting.
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

impl ApiError {
    /// The body a client is answered with (an internal error's cause stays in the log).
    pub fn body(&self) -> ErrorBody {
        match self {
            ApiError::Internal(_) => ErrorBody::new("Internal server error."),
            ApiError::Validation { detail, errors } => ErrorBody {
                detail: detail.clone(),
                errors: Some(errors.clone()),
            },
            other => ErrorBody::new(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(error) = &self {
            tracing::error!(error = format!("{error:#}"), "request failed");
        }
        let mut response = error_response(self.status(), self.body());
        if let ApiError::TooManyRequests {
            retry_after_secs, ..
        } = self
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after_secs),
            );
        }
        response
    }
}

/// The API's error response: JSON `{"detail": …}`, `Retry-After` on a 503, and the bearer
/// challenge on a 401.
pub fn error_response(status: StatusCode, body: ErrorBody) -> Response {
    service_common::http::error_response(status, body, "Bearer")
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        let errors = errors.into_fields();
        let detail = match errors.iter().next() {
            Some((first, messages)) if errors.len() == 1 => {
                let message = messages.first().map(String::as_str).unwrap_or_default();
                format!("Invalid {first}: {message}.")
            }
            _ => "The request has invalid fields.".to_owned(),
        };
        ApiError::Validation { detail, errors }
    }
}

impl From<InvalidIdempotencyKey> for ApiError {
    fn from(error: InvalidIdempotencyKey) -> Self {
        ApiError::BadRequest(error.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
