use std::time::Duration;

use test_support::TcpProxy;

use crate::helpers::{event, spawn_notifier_with, wait_until};

#[tokio::test]
async fn after_losing_the_broker_it_reconnects_rebinds_and_clients_resync() {
    let proxy = TcpProxy::start("127.0.0.1:5672".parse().unwrap())
        .await
        .unwrap();
    let port = proxy.port();
    let notifier = spawn_notifier_with(|config| {
        config.amqp_url = format!("amqp://guest:guest@127.0.0.1:{port}/%2f?heartbeat=2");
    })
    .await;
    let mut client = notifier.connect("luigis").await;
    let publisher = notifier.publisher().await;
    publisher.publish(&event("luigis", 1, "confirmed")).await;
    assert_eq!(client.next_json().await["seq"], 1);

    proxy.cut();
    wait_until("not ready", Duration::from_secs(10), || async {
        notifier.readyz().await == 503
    })
    .await;
    // Published while the notifier is away: its queue is gone with its connection.
    publisher.publish(&event("luigis", 2, "preparing")).await;
    proxy.restore();
    wait_until("ready again", Duration::from_secs(20), || async {
        notifier.readyz().await == 200
    })
    .await;
    assert_eq!(
        client.next_json().await,
        serde_json::json!({"event": "resync"})
    );
    // The restaurant was re-bound: new events flow again.
    publisher.publish(&event("luigis", 3, "ready")).await;
    assert_eq!(client.next_json().await["seq"], 3);
}

#[tokio::test]
async fn new_restaurants_are_refused_with_503_while_the_broker_is_away() {
    let proxy = TcpProxy::start("127.0.0.1:5672".parse().unwrap())
        .await
        .unwrap();
    let port = proxy.port();
    let notifier = spawn_notifier_with(|config| {
        config.amqp_url = format!("amqp://guest:guest@127.0.0.1:{port}/%2f?heartbeat=2");
    })
    .await;
    proxy.cut();
    wait_until("not ready", Duration::from_secs(10), || async {
        notifier.readyz().await == 503
    })
    .await;
    let ticket = notifier.keys.ticket("luigis");
    let (status, body) = notifier
        .refused("luigis", &format!("?ticket={ticket}"))
        .await;
    assert_eq!(status, 503);
    assert!(body["detail"].is_string());
}
