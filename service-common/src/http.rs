//! The one error response of both services (API.md, "Errors").

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use shared_types::ErrorBody;

/// Seconds a client is asked to wait before retrying a 503.
pub const RETRY_AFTER_SECS: u64 = 5;

/// `status` with the JSON body `{"detail": …}`. A 503 carries `Retry-After`, so clients back
/// off instead of hammering a dependency that is down; a 401 carries
/// `WWW-Authenticate: <auth_scheme>`, naming the credential the service expects.
pub fn error_response(status: StatusCode, body: ErrorBody, auth_scheme: &'static str) -> Response {
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    match status {
        StatusCode::SERVICE_UNAVAILABLE => {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        StatusCode::UNAUTHORIZED => {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(auth_scheme),
            );
        }
        _ => {}
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_says_when_to_retry_and_unauthorized_names_the_scheme() {
        let busy = error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorBody::new("down"),
            "Bearer",
        );
        assert_eq!(busy.headers()[header::RETRY_AFTER], "5");
        assert_eq!(busy.headers()[header::CONTENT_TYPE], "application/json");
        assert!(!busy.headers().contains_key(header::WWW_AUTHENTICATE));
        let denied = error_response(StatusCode::UNAUTHORIZED, ErrorBody::new("who?"), "Ticket");
        assert_eq!(denied.headers()[header::WWW_AUTHENTICATE], "Ticket");
        assert!(!denied.headers().contains_key(header::RETRY_AFTER));
    }
}
