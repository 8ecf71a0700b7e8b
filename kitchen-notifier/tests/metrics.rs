//! The values the notifier reports at `/metrics`, not only their names: `ws_connections` is the
//! number of sockets open, the counters count what happened.
//!
//! A test binary of its own (its own process), holding one test: the metrics recorder is
//! process-global and these series carry no instance label, so in the `notifier` binary, whose
//! tests run in parallel, every notifier would write the same `ws_connections` gauge (each sets
//! it to its own count) and add to the same counters, and no value could be asserted. Here one
//! notifier is the only writer, so every value is exact. (Comparing deltas under a lock would
//! need every test of the `notifier` binary to take that lock, since any of them opens
//! sockets.)

#[path = "notifier/helpers.rs"]
#[allow(dead_code, unused_imports)]
mod helpers;

use std::time::Duration;

use helpers::{TestNotifier, event, spawn_notifier, wait_until};
use test_support::metrics::{expect_value, value};

async fn scrape(notifier: &TestNotifier) -> String {
    let response = reqwest::get(format!("{}/metrics", notifier.base()))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.text().await.unwrap()
}

/// Waits until `series` reads `expected` (a socket's end is counted after its close went out,
/// so there is no event to await).
async fn wait_for_value(notifier: &TestNotifier, series: &str, expected: f64) {
    wait_until(
        &format!("{series} to be {expected}"),
        Duration::from_secs(10),
        || async { value(&scrape(notifier).await, series) == Some(expected) },
    )
    .await;
}

#[tokio::test]
async fn metrics_count_the_sockets_open_and_what_was_sent() {
    let notifier = spawn_notifier().await;
    let mut luigis = Vec::new();
    for _ in 0..3 {
        luigis.push(notifier.connect("luigis").await);
    }
    let mut marios = notifier.connect("marios").await;
    notifier.refused("luigis", "").await;
    let publisher = notifier.publisher().await;
    publisher.publish(&event("luigis", 1, "confirmed")).await;
    publisher.publish(&event("marios", 1, "confirmed")).await;
    // A socket is counted before it is sent anything, so after a frame on each, all are in.
    for client in &mut luigis {
        assert_eq!(client.next_json().await["seq"], 1);
    }
    assert_eq!(marios.next_json().await["seq"], 1);

    let text = scrape(&notifier).await;
    assert_eq!(expect_value(&text, "ws_connections"), 4.0, "{text}");
    assert_eq!(
        expect_value(&text, "ws_handshakes_total{result=\"101\"}"),
        4.0
    );
    assert_eq!(
        expect_value(&text, "ws_handshakes_total{result=\"401\"}"),
        1.0
    );
    assert_eq!(expect_value(&text, "notifier_watched_restaurants"), 2.0);
    assert_eq!(
        expect_value(&text, "events_consumed_total{outcome=\"sent\"}"),
        2.0
    );
    assert_eq!(expect_value(&text, "ws_frames_sent_total"), 4.0);
    assert_eq!(expect_value(&text, "broker_connected"), 1.0);

    // Sockets that leave are no longer counted; a restaurant without any is no longer watched
    // (after the unbind grace).
    luigis.pop().unwrap().close().await;
    wait_for_value(&notifier, "ws_connections", 3.0).await;
    marios.close().await;
    wait_for_value(&notifier, "ws_connections", 2.0).await;
    wait_for_value(&notifier, "notifier_watched_restaurants", 1.0).await;
    let text = scrape(&notifier).await;
    assert_eq!(
        expect_value(&text, "ws_handshakes_total{result=\"101\"}"),
        4.0
    );
}
