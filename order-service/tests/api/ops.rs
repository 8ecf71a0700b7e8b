use std::time::{Duration, Instant};

use test_support::TcpProxy;

use crate::helpers::{ApiClient, kitchen, spawn_app, spawn_app_with};

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    app.get("/healthz", None).await.expect(200);
    app.get("/readyz", None).await.expect(200);
}

#[tokio::test]
async fn database_down_means_503_with_retry_after_and_not_ready() {
    let proxy = TcpProxy::start("127.0.0.1:5432".parse().unwrap())
        .await
        .unwrap();
    let port = proxy.port();
    let app = spawn_app_with(|config| {
        config.database_url = config.database_url.replace(":5432/", &format!(":{port}/"));
    })
    .await;
    let k = kitchen(&app, "luigis").await;

    proxy.cut();
    let reply = app.get("/readyz", None).await;
    assert_eq!(
        reply
            .headers
            .get("retry-after")
            .map(|v| v.to_str().unwrap()),
        Some("5")
    );
    reply.expect_error(503);
    app.get("/healthz", None).await.expect(200);
    let reply = app.confirm(&k.slug, ApiClient::pizza_order(&k.menu)).await;
    assert!(reply.headers.contains_key("retry-after"), "{reply:?}");
    reply.expect_error(503);

    proxy.restore();
    // The pool reconnects by itself; wait for readiness to come back.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if app.get("/readyz", None).await.status.as_u16() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "service did not become ready again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.place_order(&k.slug, &k.menu).await;
}

#[tokio::test]
async fn metrics_in_prometheus_text_format() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    app.place_order(&k.slug, &k.menu).await;
    test_support::wait_until(
        "the event to be published",
        Duration::from_secs(20),
        || async {
            let left: i64 =
                sqlx::query_scalar("SELECT count(*) FROM order_events WHERE published_at IS NULL")
                    .fetch_one(&app.db)
                    .await
                    .unwrap();
            left == 0
        },
    )
    .await;
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    for metric in [
        "http_requests_total{method=\"POST\",route=\"/api/order/{slug}/confirm/\",status=\"201\"}",
        "http_request_duration_seconds_bucket",
        "outbox_events_published_total",
        "outbox_backlog",
        "outbox_oldest_unpublished_age_seconds",
        "outbox_relay_active",
    ] {
        assert!(text.contains(metric), "{metric} missing from:\n{text}");
    }
}
