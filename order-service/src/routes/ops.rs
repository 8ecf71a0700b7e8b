use std::time::Duration;

use axum::{Json, extract::State, response::IntoResponse};
use shared_types::ErrorBody;

use crate::{dto::Health, error::ApiError, state::AppState};

/// 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// 200 while the database answers. The broker does not count: orders are still taken (into
/// the outbox) while it is away.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Health), (status = 503, description = "The database does not answer", body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let probe = sqlx::query_scalar!(r#"SELECT 1 AS "one!""#).fetch_one(&state.db);
    match tokio::time::timeout(Duration::from_secs(2), probe).await {
        Ok(Ok(_)) => Ok(Json(Health {
            status: "ready".into(),
        })),
        _ => Err(ApiError::Unavailable),
    }
}

/// Prometheus text format. When `METRICS_ADDR` is set, served there only, and 404 here.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain"),
              (status = 404, description = "Served on `METRICS_ADDR` instead", body = ErrorBody)))]
pub async fn metrics(State(state): State<AppState>) -> axum::response::Response {
    if !state.metrics_on_main_listener {
        return ApiError::NotFound("Not found.".into()).into_response();
    }
    service_common::metrics::render().await
}
