use std::time::Duration;

use crate::helpers::{event, spawn_notifier, spawn_notifier_with};

#[tokio::test]
async fn duplicates_are_dropped() {
    let notifier = spawn_notifier().await;
    let mut client = notifier.connect("luigis").await;
    let publisher = notifier.publisher().await;
    let first = event("luigis", 1, "confirmed");
    publisher.publish(&first).await;
    publisher.publish(&first).await;
    publisher.publish(&event("luigis", 2, "preparing")).await;
    assert_eq!(client.next_json().await["seq"], 1);
    assert_eq!(client.next_json().await["seq"], 2);
}

#[tokio::test]
async fn out_of_order_events_are_put_back_in_order() {
    let notifier = spawn_notifier().await;
    let mut client = notifier.connect("luigis").await;
    let publisher = notifier.publisher().await;
    for seq in [1, 3, 4, 2, 5] {
        publisher.publish(&event("luigis", seq, "confirmed")).await;
    }
    for seq in 1..=5 {
        assert_eq!(client.next_json().await["seq"], seq);
    }
}

#[tokio::test]
async fn a_gap_that_does_not_fill_becomes_a_resync() {
    let notifier = spawn_notifier().await;
    let mut client = notifier.connect("luigis").await;
    let publisher = notifier.publisher().await;
    publisher.publish(&event("luigis", 1, "confirmed")).await;
    publisher.publish(&event("luigis", 3, "confirmed")).await;
    assert_eq!(client.next_json().await["seq"], 1);
    // seq 2 never comes: after the wait, a resync, then what was held back.
    assert_eq!(
        client.next_json().await,
        serde_json::json!({"event": "resync"})
    );
    assert_eq!(client.next_json().await["seq"], 3);
    publisher.publish(&event("luigis", 4, "confirmed")).await;
    assert_eq!(client.next_json().await["seq"], 4);
}

#[tokio::test]
async fn after_replays_what_the_notifier_still_holds() {
    let notifier = spawn_notifier().await;
    let mut watcher = notifier.connect("luigis").await;
    let publisher = notifier.publisher().await;
    for seq in 1..=5 {
        publisher.publish(&event("luigis", seq, "confirmed")).await;
    }
    for seq in 1..=5 {
        assert_eq!(watcher.next_json().await["seq"], seq);
    }
    let ticket = notifier.keys.ticket("luigis");
    let mut late = notifier
        .connect_query("luigis", &format!("?ticket={ticket}&after=2"))
        .await;
    for seq in 3..=5 {
        assert_eq!(late.next_json().await["seq"], seq);
    }
    // Then the live stream, without a gap or a repeat.
    publisher.publish(&event("luigis", 6, "confirmed")).await;
    assert_eq!(late.next_json().await["seq"], 6);
    assert_eq!(watcher.next_json().await["seq"], 6);

    // Up to date: nothing replayed.
    let mut current = notifier
        .connect_query("luigis", &format!("?ticket={ticket}&after=6"))
        .await;
    publisher.publish(&event("luigis", 7, "confirmed")).await;
    assert_eq!(current.next_json().await["seq"], 7);
}

#[tokio::test]
async fn after_beyond_what_is_held_gets_resync() {
    let notifier = spawn_notifier_with(|config| config.tuning.replay_ring = 3).await;
    let ticket = notifier.keys.ticket("luigis");
    // A restaurant the notifier has seen nothing of yet.
    let mut fresh = notifier
        .connect_query("luigis", &format!("?ticket={ticket}&after=4"))
        .await;
    assert_eq!(
        fresh.next_json().await,
        serde_json::json!({"event": "resync"})
    );

    let publisher = notifier.publisher().await;
    for seq in 1..=6 {
        publisher.publish(&event("luigis", seq, "confirmed")).await;
    }
    for seq in 1..=6 {
        assert_eq!(fresh.next_json().await["seq"], seq);
    }
    // Only 4..=6 are held: after=1 cannot be answered, after=3 can.
    let mut old = notifier
        .connect_query("luigis", &format!("?ticket={ticket}&after=1"))
        .await;
    assert_eq!(
        old.next_json().await,
        serde_json::json!({"event": "resync"})
    );
    let mut recent = notifier
        .connect_query("luigis", &format!("?ticket={ticket}&after=3"))
        .await;
    for seq in 4..=6 {
        assert_eq!(recent.next_json().await["seq"], seq);
    }
}

#[tokio::test]
async fn malformed_messages_are_dropped_without_harm() {
    let notifier = spawn_notifier().await;
    let mut client = notifier.connect("luigis").await;
    let publisher = notifier.publisher().await;
    publisher
        .publish_raw("orders.luigis.confirmed", b"not json")
        .await;
    publisher
        .publish_raw("orders.luigis.confirmed", br#"{"seq": 1}"#)
        .await;
    publisher.publish(&event("luigis", 1, "confirmed")).await;
    assert_eq!(client.next_json().await["seq"], 1);
    client.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn each_hole_gets_its_own_wait_and_its_own_resync() {
    let notifier = spawn_notifier().await;
    let mut client = notifier.connect("luigis").await;
    let publisher = notifier.publisher().await;
    for seq in [1, 3, 5] {
        publisher.publish(&event("luigis", seq, "confirmed")).await;
    }
    let resync = serde_json::json!({"event": "resync"});
    assert_eq!(client.next_json().await["seq"], 1);
    assert_eq!(client.next_json().await, resync, "2 never came");
    assert_eq!(client.next_json().await["seq"], 3);
    assert_eq!(client.next_json().await, resync, "4 never came");
    assert_eq!(client.next_json().await["seq"], 5);
}
