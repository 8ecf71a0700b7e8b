//! A deadline that may be absent, for `tokio::select!` loops that wait for something due.

use tokio::time::Instant;

/// Sleeps until `at`; forever without one (so a `select!` branch on it never fires).
pub async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
