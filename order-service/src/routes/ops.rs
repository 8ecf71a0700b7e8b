use std::time::Duration;

use axum::{Json, extract::State, http::StatusCode};
use serde_json::{Value, json};

use crate::{error::ApiError, state::AppState};

/// 200 while the process runs.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// 200 while the database answers. The broker does not count: orders are still taken (into
/// the outbox) while it is away.
pub async fn readyz(State(state): State<AppState>) -> Result<(StatusCode, Json<Value>), ApiError> {
    let probe = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.db);
    match tokio::time::timeout(Duration::from_secs(2), probe).await {
        Ok(Ok(_)) => Ok((StatusCode::OK, Json(json!({"status": "ready"})))),
        _ => Err(ApiError::Unavailable),
    }
}
