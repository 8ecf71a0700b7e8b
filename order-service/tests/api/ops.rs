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
async fn graceful_shutdown_finishes_in_flight_requests_and_loses_no_event() {
    let proxy = TcpProxy::start("127.0.0.1:5432".parse().unwrap())
        .await
        .unwrap();
    let port = proxy.port();
    let mut app = spawn_app_with(|config| {
        config.database_url = config.database_url.replace(":5432/", &format!(":{port}/"));
    })
    .await;
    let k = kitchen(&app, "luigis").await;
    let mut tap = test_support::amqp::ExchangeTap::bind(&app.config.exchange, "orders.#").await;
    app.place_order(&k.slug, &k.menu).await;
    // Once its event is out and marked, the relay sits idle and the only database traffic is
    // ours.
    let first: serde_json::Value = serde_json::from_slice(&tap.next().await.data).unwrap();
    assert_eq!(first["seq"], 1);
    test_support::wait_until(
        "the relay to mark the event",
        Duration::from_secs(10),
        || async {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM order_events_unpublished")
                .fetch_one(&app.db)
                .await
                .unwrap()
                == 0
        },
    )
    .await;

    // Hold the database link, send an order, and wait until it is at the database.
    proxy.pause();
    let api = app.api.clone();
    let body = ApiClient::pizza_order(&k.menu);
    let slug = k.slug.clone();
    let in_flight = tokio::spawn(async move { api.confirm(&slug, body).await });
    test_support::wait_until(
        "the request to reach the database",
        Duration::from_secs(10),
        || async { proxy.held() > 0 },
    )
    .await;
    // SIGTERM now: the server stops accepting but lets the request finish.
    app.request_stop();
    proxy.resume();
    let reply = in_flight.await.unwrap();
    assert_eq!(reply.status.as_u16(), 201, "{:?}", reply.body);
    app.shutdown().await.unwrap();
    assert!(
        app.client.get(app.url("/healthz")).send().await.is_err(),
        "no longer accepting"
    );

    // A new instance on the same database publishes whatever is left, once: a marker order's
    // event comes after every earlier event, each exactly once.
    let config = app.config.clone();
    let restarted = spawn_app_with(|c| *c = config.clone()).await;
    restarted.place_order(&k.slug, &k.menu).await;
    let mut seqs = vec![1];
    loop {
        let delivery = tap.next().await;
        let event: serde_json::Value = serde_json::from_slice(&delivery.data).unwrap();
        let seq = event["seq"].as_i64().unwrap();
        seqs.push(seq);
        if seq == 3 {
            break;
        }
    }
    assert_eq!(seqs, vec![1, 2, 3], "every event once, in order");
}

#[test]
fn the_binary_refuses_a_bad_configuration_with_exit_2_and_names_the_variable() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_order-service"))
        .env("LISTEN_ADDR", "not-an-address")
        .env(
            "DATABASE_URL",
            "postgres://app:hunter2@127.0.0.1:5432/kitchen",
        )
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("order-service: invalid LISTEN_ADDR"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("hunter2"),
        "no secret in the message: {stderr}"
    );
}

#[tokio::test]
async fn the_relay_publishes_through_a_list_of_nodes_one_of_which_never_answers() {
    // AMQP_URL lists a node that accepts the connection and never speaks: whichever node the
    // relay starts at, a connect to it gives up after its timeout and the next one is used.
    let silent = TcpProxy::start("127.0.0.1:5672".parse().unwrap())
        .await
        .unwrap();
    silent.pause();
    let list = format!(
        "amqp://guest:guest@127.0.0.1:{}/%2f?connection_timeout=300,amqp://guest:guest@127.0.0.1:5672/%2f",
        silent.port()
    );
    let app = spawn_app_with(|config| config.amqp_url = list).await;
    let k = kitchen(&app, "luigis").await;
    let mut tap = test_support::amqp::ExchangeTap::bind(&app.config.exchange, "orders.#").await;
    app.place_order(&k.slug, &k.menu).await;
    let event: serde_json::Value = serde_json::from_slice(&tap.next().await.data).unwrap();
    assert_eq!(event["seq"], 1);
}

#[tokio::test]
async fn a_malformed_amqp_list_stops_the_start_with_a_line_naming_the_variable() {
    let error = order_service::config::Config::from_lookup(|name| {
        (name == "AMQP_URL").then(|| "amqp://h1:5672,h2:5672/%2f".to_owned())
    })
    .unwrap_err();
    assert_eq!(error.variable, "AMQP_URL");
}
