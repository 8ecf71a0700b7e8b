//! The values order-service reports at `/metrics`, not only their names.
//!
//! A test binary of its own (its own process), holding one test: the metrics recorder is
//! process-global and these series carry no instance label, so in the `api` binary, whose
//! tests run in parallel, every app's relay would set the same `outbox_relay_active` gauge and
//! add to the same counters, and no value could be asserted. Here one app at a time is the only
//! writer, so every value is exact. (Comparing deltas under a lock would need every test of the
//! `api` binary to take that lock, since any of them starts a relay.)

#[path = "api/helpers.rs"]
#[allow(dead_code, unused_imports)]
mod helpers;

use std::time::Duration;

use helpers::{TestApp, kitchen, spawn_app, spawn_app_with};
use test_support::metrics::{expect_value, value};

async fn scrape(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    response.text().await.unwrap()
}

/// What the process's recorder holds now, without asking a server (for after a shutdown).
fn rendered() -> String {
    service_common::metrics::install()
        .expect("the recorder is installed")
        .render()
}

/// How many sessions hold the relay's advisory lock in the app's database (0 or 1).
async fn relay_leaders(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(&app.db)
    .await
    .unwrap()
}

/// Waits until `series` reads `expected` at the app's `/metrics` (gauges and counters are
/// written after the change a test can see, so there is no event to await).
async fn wait_for_value(app: &TestApp, series: &str, expected: f64) {
    test_support::wait_until(
        &format!("{series} to be {expected}"),
        Duration::from_secs(20),
        || async { value(&scrape(app).await, series) == Some(expected) },
    )
    .await;
}

#[tokio::test]
async fn metrics_report_the_relay_its_backlog_the_requests_and_logins() {
    // 1. An app with the broker: its relay holds the lock and publishes the order's event.
    let mut app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    app.place_order(&k.slug, &k.menu).await;
    wait_for_value(&app, "outbox_events_published_total", 1.0).await;
    let text = scrape(&app).await;
    assert_eq!(relay_leaders(&app).await, 1);
    assert_eq!(
        expect_value(&text, "outbox_relay_active"),
        1.0,
        "the relay holds the lock"
    );
    assert_eq!(
        expect_value(
            &text,
            "http_requests_total{method=\"POST\",route=\"/api/order/{slug}/confirm/\",status=\"201\"}"
        ),
        1.0
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    expect_value(&text, "outbox_backlog");
    expect_value(&text, "outbox_oldest_unpublished_age_seconds");
    // That first event of the restaurant was read from the outbox (the relay had published
    // nothing of it yet); the next one follows on, so it goes from memory, without a read.
    assert_eq!(value(&text, "outbox_events_handed_off_total"), None);
    let order = app.place_order(&k.slug, &k.menu).await;
    wait_for_value(&app, "outbox_events_published_total", 2.0).await;
    app.move_order(&k.cook.access, order["id"].as_str().unwrap(), "preparing")
        .await
        .expect(200);
    wait_for_value(&app, "outbox_events_published_total", 3.0).await;
    let text = scrape(&app).await;
    assert_eq!(expect_value(&text, "outbox_events_handed_off_total"), 2.0);
    // The first confirm read the menu; the second was priced from the instance's copy.
    assert_eq!(
        expect_value(&text, "confirm_menu_reads_total{reason=\"missing\"}"),
        1.0
    );

    // Shut down, the relay lets go of the lock and says so.
    app.shutdown().await.unwrap();
    assert_eq!(expect_value(&rendered(), "outbox_relay_active"), 0.0);

    // 2. An app without a broker: its relay leads, but what is committed waits, and the backlog
    // says how much and for how long.
    let app =
        spawn_app_with(|config| config.amqp_url = "amqp://guest:guest@127.0.0.1:1/%2f".into())
            .await;
    let k = kitchen(&app, "luigis").await;
    app.place_order(&k.slug, &k.menu).await;
    app.place_order(&k.slug, &k.menu).await;
    wait_for_value(&app, "outbox_backlog", 2.0).await;
    let text = scrape(&app).await;
    assert!(
        expect_value(&text, "outbox_oldest_unpublished_age_seconds") > 0.0,
        "{text}"
    );
    assert_eq!(relay_leaders(&app).await, 1);
    assert_eq!(expect_value(&text, "outbox_relay_active"), 1.0);
    // Nothing more was published.
    assert_eq!(expect_value(&text, "outbox_events_published_total"), 3.0);

    // 3. Logins: each password check is counted, a login refused by its guessing limit checks
    // none, and a spent refresh token presented again is counted as reuse. (Nothing above logs
    // in or refreshes, so the values are this app's alone.)
    let app = spawn_app_with(|config| config.login_limits.per_email = 2).await;
    let user = app.register("cook").await;
    let login = |password: &'static str| {
        let body = serde_json::json!({"email": user.email, "password": password});
        let app = &app;
        async move {
            app.post("/api/auth/login/", None, body)
                .await
                .status
                .as_u16()
        }
    };
    assert_eq!(login("wrong-password").await, 401);
    assert_eq!(login("wrong-password").await, 401);
    assert_eq!(login("pizza4ever").await, 429);
    assert_eq!(login("pizza4ever").await, 429);
    let refresh = serde_json::json!({"refresh": user.refresh});
    app.post("/api/auth/refresh/", None, refresh.clone())
        .await
        .expect(200);
    app.post("/api/auth/refresh/", None, refresh)
        .await
        .expect_error(401);
    let text = scrape(&app).await;
    assert_eq!(
        expect_value(&text, "auth_password_verifications_total"),
        2.0
    );
    assert_eq!(expect_value(&text, "auth_logins_throttled_total"), 2.0);
    assert_eq!(expect_value(&text, "auth_refresh_reuse_total"), 1.0);
}
