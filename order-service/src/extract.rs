//! Extractors that turn axum's own rejections into the API's JSON errors.

use axum::{
    extract::{FromRequest, FromRequestParts, RawPathParams, Request, rejection::JsonRejection},
    http::{StatusCode, request::Parts},
    response::Response,
};
use serde::de::DeserializeOwned;
use shared_types::{ErrorBody, Slug};

use crate::error::{ApiError, error_response};

/// `axum::Json`, but a bad body answers 400 (syntax, type, missing field), 413 (too large) or
/// 415 (not JSON) in the API's error format.
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(error_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorBody::new("Expected a body with Content-Type: application/json."),
            ));
        }
        let bytes = match axum::body::Bytes::from_request(req, state).await {
            Ok(bytes) => bytes,
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(error_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    ErrorBody::new("The request body is larger than 64 KiB."),
                ));
            }
            Err(rejection) => {
                return Err(error_response(
                    StatusCode::BAD_REQUEST,
                    ErrorBody::new(format!(
                        "The body could not be read: {}",
                        rejection.body_text()
                    )),
                ));
            }
        };
        // Every body of this API is an object. serde reads a struct from a JSON array too
        // (`["a@example.com", "pw"]` as a login), which would let a body of the wrong type
        // through as if it were right: refuse anything but an object, for every route.
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first.is_some_and(|b| *b != b'{') {
            return Err(error_response(
                StatusCode::BAD_REQUEST,
                ErrorBody::new("Invalid request body: expected a JSON object."),
            ));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

/// `application/json` or any `+json` type, as axum's own `Json` accepts.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn json_rejection(rejection: JsonRejection) -> Response {
    let (status, detail) = match &rejection {
        JsonRejection::MissingJsonContentType(_) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Expected a body with Content-Type: application/json.".to_owned(),
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => (
            StatusCode::PAYLOAD_TOO_LARGE,
            "The request body is larger than 64 KiB.".to_owned(),
        ),
        JsonRejection::JsonSyntaxError(_) => (
            StatusCode::BAD_REQUEST,
            format!("The body is not valid JSON: {}", inner_text(&rejection)),
        ),
        _ => (
            StatusCode::BAD_REQUEST,
            format!("Invalid request body: {}", inner_text(&rejection)),
        ),
    };
    error_response(status, ErrorBody::new(detail))
}

/// The serde message without axum's generic prefix.
fn inner_text(rejection: &JsonRejection) -> String {
    let text = rejection.body_text();
    match text.split_once(": ") {
        Some((prefix, rest)) if prefix.starts_with("Failed to") => rest.to_owned(),
        _ => text,
    }
}

/// A path parameter that does not parse (a non-UUID order id, say) cannot name an existing
/// resource, so it answers 404 rather than leaking routing details.
pub struct PathParam<T>(pub T);

impl<S, T> FromRequestParts<S> for PathParam<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| PathParam(value))
            .map_err(|_| ApiError::not_found("Resource"))
    }
}

/// The `{slug}` path parameter, parsed. A malformed slug cannot name a restaurant, so it is the
/// same 404 as an unknown one.
pub struct PathSlug(pub Slug);

impl<S: Send + Sync> FromRequestParts<S> for PathSlug {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found("Restaurant"))?;
        params
            .iter()
            .find(|(name, _)| *name == "slug")
            .and_then(|(_, value)| Slug::parse(value).ok())
            .map(PathSlug)
            .ok_or_else(|| ApiError::not_found("Restaurant"))
    }
}

/// `axum::extract::Query` with a 400 in the API's format.
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection| {
                let text = rejection.body_text();
                let text = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                ApiError::bad_request(format!("Invalid query string: {text}."))
            })
    }
}
