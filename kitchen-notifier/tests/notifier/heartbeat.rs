//! Heartbeats: `{"event":"heartbeat","seq":S,"at":…}` after a quiet interval on a socket, with
//! the restaurant's highest `seq` the notifier has seen.

use std::time::{Duration, Instant};

use crate::helpers::{event, fast_tuning, spawn_notifier_with};

const BEAT: Duration = Duration::from_millis(400);

async fn notifier() -> crate::helpers::TestNotifier {
    spawn_notifier_with(|config| {
        config.tuning = kitchen_notifier::config::Tuning {
            heartbeat_interval: BEAT,
            ..fast_tuning()
        };
    })
    .await
}

fn assert_heartbeat(frame: &serde_json::Value) {
    assert_eq!(frame["event"], "heartbeat", "{frame}");
    let at = frame["at"].as_str().expect("at is a string");
    chrono::DateTime::parse_from_rfc3339(at).expect("at is RFC 3339");
    assert!(at.ends_with('Z'), "UTC: {at}");
}

#[tokio::test]
async fn a_quiet_socket_gets_heartbeats_with_null_before_any_event() {
    let notifier = notifier().await;
    let mut client = notifier.connect("luigis").await;
    let opened = Instant::now();
    let first = client.next_json().await;
    assert_heartbeat(&first);
    assert_eq!(first["seq"], serde_json::Value::Null);
    assert!(opened.elapsed() >= BEAT - Duration::from_millis(50));
    // And again, one interval later: heartbeats go on while nothing else does.
    let before = Instant::now();
    let second = client.next_json().await;
    assert_heartbeat(&second);
    let gap = before.elapsed();
    assert!(gap >= BEAT - Duration::from_millis(50), "{gap:?}");
}

#[tokio::test]
async fn a_heartbeat_carries_the_highest_seq_seen() {
    let notifier = notifier().await;
    let mut client = notifier.connect("luigis").await;
    let publisher = notifier.publisher().await;
    for seq in 1..=3 {
        publisher.publish(&event("luigis", seq, "confirmed")).await;
    }
    for seq in 1..=3 {
        assert_eq!(client.next_json().await["seq"], seq);
    }
    let last_frame = Instant::now();
    let beat = client.next_json().await;
    assert_heartbeat(&beat);
    assert_eq!(beat["seq"], 3);
    assert!(last_frame.elapsed() >= BEAT - Duration::from_millis(50));

    // A socket opened later learns the restaurant's seq from its first heartbeat.
    let mut late = notifier.connect("luigis").await;
    let beat = late.next_json().await;
    assert_heartbeat(&beat);
    assert_eq!(beat["seq"], 3);
}

#[tokio::test]
async fn no_heartbeat_while_frames_flow() {
    let notifier = notifier().await;
    let mut client = notifier.connect("luigis").await;
    let publisher = notifier.publisher().await;
    // An event every quarter interval for three intervals: never a quiet interval.
    for seq in 1..=12 {
        publisher.publish(&event("luigis", seq, "confirmed")).await;
        let frame = client.next_json().await;
        assert_eq!(frame["seq"], seq, "{frame}");
        assert_ne!(frame["event"], "heartbeat");
        tokio::time::sleep(BEAT / 4).await;
    }
    // Then quiet: the heartbeat comes.
    assert_heartbeat(&client.next_json().await);
}
