use std::time::Duration;

use crate::helpers::{event, spawn_notifier, wait_until};

#[tokio::test]
async fn every_client_of_a_restaurant_hears_every_event_in_order() {
    let notifier = spawn_notifier().await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(notifier.connect("luigis").await);
    }
    let publisher = notifier.publisher().await;
    for seq in 1..=20 {
        publisher.publish(&event("luigis", seq, "confirmed")).await;
    }
    for client in &mut clients {
        for seq in 1..=20 {
            assert_eq!(client.next_json().await["seq"], seq);
        }
    }
}

#[tokio::test]
async fn a_client_that_fell_behind_gets_its_queued_frames_whole_and_in_order() {
    let notifier = spawn_notifier().await;
    // This client reads nothing while 300 events are published: they queue for it and go out
    // in batches (several frames per write), each frame still whole and in `seq` order.
    let mut behind = notifier.connect("luigis").await;
    let mut watcher = notifier.connect("luigis").await;
    let publisher = notifier.publisher().await;
    for seq in 1..=300 {
        publisher.publish(&event("luigis", seq, "confirmed")).await;
    }
    // Once the other client has all 300, every frame is queued or sent for this one too.
    for seq in 1..=300 {
        assert_eq!(watcher.next_json().await["seq"], seq);
    }
    for seq in 1..=300 {
        assert_eq!(behind.next_json().await["seq"], seq);
    }
}

#[tokio::test]
async fn a_restaurant_hears_nothing_of_another() {
    let notifier = spawn_notifier().await;
    let mut luigis = notifier.connect("luigis").await;
    let mut marios = notifier.connect("marios").await;
    let publisher = notifier.publisher().await;
    publisher.publish(&event("marios", 1, "confirmed")).await;
    publisher.publish(&event("luigis", 1, "confirmed")).await;
    publisher.publish(&event("marios", 2, "preparing")).await;
    let frame = luigis.next_json().await;
    assert_eq!(frame["restaurant"], "luigis");
    assert_eq!(marios.next_json().await["seq"], 1);
    assert_eq!(marios.next_json().await["seq"], 2);
    luigis.expect_silence(Duration::from_millis(300)).await;
    // A restaurant whose name is a prefix of another's is not confused with it.
    let mut luigi = notifier.connect("luigi").await;
    publisher.publish(&event("luigis", 2, "preparing")).await;
    assert_eq!(luigis.next_json().await["seq"], 2);
    luigi.expect_silence(Duration::from_millis(300)).await;
}

#[tokio::test]
async fn the_binding_goes_after_the_last_client_leaves() {
    let notifier = spawn_notifier().await;
    let probe = RouteProbe::connect(&notifier.exchange).await;
    assert!(
        !probe.routed("luigis").await,
        "nothing is bound before a client"
    );
    let client = notifier.connect("luigis").await;
    assert_eq!(
        notifier.state.hub.watched(),
        vec![shared_types::Slug::parse("luigis").unwrap()]
    );
    assert!(
        probe.routed("luigis").await,
        "bound before the handshake completed"
    );
    drop(client);
    wait_until("the feed to be retired", Duration::from_secs(5), || async {
        notifier.state.hub.watched_count() == 0
    })
    .await;
    // The broker itself has no route for the restaurant any more.
    assert!(!probe.routed("luigis").await, "the binding is gone");
    // Coming back binds again.
    let mut client = notifier.connect("luigis").await;
    assert!(probe.routed("luigis").await);
    notifier
        .publisher()
        .await
        .publish(&event("luigis", 7, "ready"))
        .await;
    assert_eq!(client.next_json().await["seq"], 7);
}

/// Asks the broker whether a restaurant's events reach any queue of the test's exchange: a
/// mandatory publish that no binding routes comes back unroutable. The routing key's last
/// word is not a status, so a notifier that receives the probe ignores it as malformed.
struct RouteProbe {
    _connection: lapin::Connection,
    channel: lapin::Channel,
    exchange: String,
}

impl RouteProbe {
    async fn connect(exchange: &str) -> Self {
        let connection = lapin::Connection::connect(crate::helpers::AMQP_URL, Default::default())
            .await
            .unwrap();
        let channel = connection.create_channel().await.unwrap();
        channel.confirm_select(Default::default()).await.unwrap();
        service_common::amqp::declare_exchange(&channel, exchange)
            .await
            .unwrap();
        Self {
            _connection: connection,
            channel,
            exchange: exchange.to_owned(),
        }
    }

    async fn routed(&self, slug: &str) -> bool {
        let confirm = self
            .channel
            .basic_publish(
                self.exchange.as_str().into(),
                format!("orders.{slug}.probe").as_str().into(),
                lapin::options::BasicPublishOptions {
                    mandatory: true,
                    ..Default::default()
                },
                b"probe",
                Default::default(),
            )
            .await
            .unwrap();
        let confirmation = confirm.await.unwrap();
        assert!(confirmation.is_ack());
        confirmation.take_message().is_none()
    }
}

#[tokio::test]
async fn an_event_implausibly_far_ahead_does_not_swallow_the_real_ones() {
    let notifier = spawn_notifier().await;
    let mut client = notifier.connect("luigis").await;
    let publisher = notifier.publisher().await;
    publisher.publish(&event("luigis", 1, "confirmed")).await;
    // A publisher's bug: a seq a million ahead.
    publisher
        .publish(&event("luigis", 1_000_000, "confirmed"))
        .await;
    publisher.publish(&event("luigis", 2, "preparing")).await;
    publisher.publish(&event("luigis", 3, "ready")).await;
    for seq in 1..=3 {
        assert_eq!(client.next_json().await["seq"], seq);
    }
    // The hole after it never fills: a resync, and the bogus event is not delivered.
    assert_eq!(
        client.next_json().await,
        serde_json::json!({"event": "resync"})
    );
    // Real events after it still arrive.
    publisher.publish(&event("luigis", 4, "completed")).await;
    assert_eq!(client.next_json().await["seq"], 4);
}
