//! `NOTIFIER_MAX_CONNECTIONS`: beyond it, handshakes are refused with 503 and `Retry-After`
//! before anything is upgraded; the sockets already open are unaffected.

use std::time::Duration;

use crate::helpers::{event, spawn_notifier_with, wait_until};

#[tokio::test]
async fn handshakes_beyond_the_cap_get_503_and_open_sockets_carry_on() {
    let notifier = spawn_notifier_with(|config| config.tuning.max_connections = 2).await;
    let mut first = notifier.connect("luigis").await;
    let second = notifier.connect("marios").await;
    let ticket = notifier.keys.ticket("luigis");
    let (status, body) = notifier
        .refused("luigis", &format!("?ticket={ticket}"))
        .await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("as many sockets"),
        "{body}"
    );
    let response = reqwest::Client::new()
        .get(
            notifier
                .socket_url("luigis", &format!("?ticket={ticket}"))
                .replace("ws://", "http://"),
        )
        .header("Connection", "Upgrade")
        .header("Upgrade", "websocket")
        .header("Sec-WebSocket-Version", "13")
        .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    // The open sockets still hear everything.
    let publisher = notifier.publisher().await;
    publisher.publish(&event("luigis", 1, "confirmed")).await;
    assert_eq!(first.next_json().await["seq"], 1);
    // A place that frees up is taken again.
    drop(second);
    wait_until("a place to free up", Duration::from_secs(10), || async {
        let ticket = notifier.keys.ticket("marios");
        tokio_tungstenite::connect_async(
            notifier.socket_url("marios", &format!("?ticket={ticket}")),
        )
        .await
        .is_ok()
    })
    .await;
}
