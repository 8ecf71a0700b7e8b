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
