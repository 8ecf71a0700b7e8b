//! Support code for the integration tests of both services.

pub mod amqp;
pub mod api;
pub mod cleanup;
pub mod cluster;
pub mod database;
pub mod metrics;
pub mod proxy;
pub mod ws;

pub use proxy::TcpProxy;

use std::time::{Duration, Instant};

/// Polls `condition` every 50 ms until it holds; fails the test after `limit`. For states
/// that have no event to await (readiness, a reconnect).
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
