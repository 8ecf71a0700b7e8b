use std::time::Duration;

use lapin::ConnectionProperties;
use service_common::amqp::{BrokerNodes, ConnectError};
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

/// A broker that accepts the TCP connection and never answers (a paused proxy).
async fn silent_broker() -> TcpProxy {
    let proxy = TcpProxy::start("127.0.0.1:5672".parse().unwrap())
        .await
        .unwrap();
    proxy.pause();
    proxy
}

#[tokio::test]
async fn a_broker_that_accepts_and_never_answers_cannot_hang_a_connect() {
    let silent = silent_broker().await;
    let url = format!(
        "amqp://guest:guest@127.0.0.1:{}/%2f?connection_timeout=300",
        silent.port()
    );
    let nodes = BrokerNodes::parse(&url).unwrap();
    let attempt = tokio::time::timeout(
        Duration::from_secs(20),
        nodes.connect(ConnectionProperties::default()),
    )
    .await
    .expect("the connect gave up by itself");
    assert!(
        matches!(attempt, Err(ConnectError::TimedOut { .. })),
        "{:?}",
        attempt.err()
    );
    assert!(silent.held() > 0, "the connect did reach the silent broker");

    // Listed beside a live node, the silent one costs one timeout and the connect succeeds,
    // whichever node the list starts at.
    let live = "amqp://guest:guest@127.0.0.1:5672/%2f";
    let nodes = BrokerNodes::parse(&format!("{url},{live}")).unwrap();
    for _ in 0..3 {
        let (connection, node) = nodes
            .connect(ConnectionProperties::default())
            .await
            .unwrap();
        assert_eq!(node, "127.0.0.1:5672");
        connection.close(200, "done".into()).await.unwrap();
    }
}

#[tokio::test]
async fn given_two_nodes_the_notifier_moves_to_the_survivor_and_clients_resync() {
    let a = TcpProxy::start("127.0.0.1:5672".parse().unwrap())
        .await
        .unwrap();
    let b = TcpProxy::start("127.0.0.1:5672".parse().unwrap())
        .await
        .unwrap();
    let node = |proxy: &TcpProxy| {
        format!(
            "amqp://guest:guest@127.0.0.1:{}/%2f?heartbeat=2&connection_timeout=1000",
            proxy.port()
        )
    };
    let list = format!("{},{}", node(&a), node(&b));
    let notifier = spawn_notifier_with(|config| config.amqp_url = list).await;
    let mut client = notifier.connect("luigis").await;
    let publisher = notifier.publisher().await;
    publisher.publish(&event("luigis", 1, "confirmed")).await;
    assert_eq!(client.next_json().await["seq"], 1);

    // Each node goes in turn (the other back by then): whichever the notifier is on, it ends
    // on the survivor, and the second cut always moves it.
    let mut seq = 1;
    for (lost, survivor) in [(&a, &b), (&b, &a)] {
        survivor.restore();
        lost.cut();
        seq += 1;
        // Events published in the last phase may still be arriving: drain them.
        while let Ok(frame) =
            tokio::time::timeout(Duration::from_millis(50), client.next_json()).await
        {
            assert!(
                frame["event"] == "resync" || frame["seq"].as_i64() < Some(seq),
                "{frame}"
            );
        }
        // Until the notifier is back on a node, an event has nowhere to go; keep publishing
        // until one arrives. A `resync` says the link was lost (as after any broker loss).
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let first_after_cut = seq;
        loop {
            publisher.publish(&event("luigis", seq, "preparing")).await;
            match tokio::time::timeout(Duration::from_millis(500), client.next_json()).await {
                Ok(frame) if frame["event"] == "resync" => continue,
                Ok(frame) => {
                    let got = frame["seq"].as_i64().unwrap_or(0);
                    assert!(got >= first_after_cut, "{frame}");
                    break;
                }
                Err(_) => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "no event after the cut"
                    );
                    seq += 1;
                }
            }
        }
        assert_eq!(notifier.readyz().await, 200);
    }
}
