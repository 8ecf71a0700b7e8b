use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{
    Received, event, event_with_padding, spawn_notifier, spawn_notifier_with, wait_until,
};

#[tokio::test]
async fn client_text_is_ignored_and_a_frame_over_4_kib_closes_with_1009() {
    let notifier = spawn_notifier().await;
    let mut client = notifier.connect("luigis").await;
    client.send_text("hello kitchen".into()).await;
    client.send_text("x".repeat(4096)).await;
    let publisher = notifier.publisher().await;
    publisher.publish(&event("luigis", 1, "confirmed")).await;
    assert_eq!(
        client.next_json().await["seq"],
        1,
        "still open after small frames"
    );

    client.send_text("x".repeat(4097)).await;
    match client.next().await {
        Received::Closed(code) => assert_eq!(code, Some(1009)),
        other => panic!("expected close 1009, got {other:?}"),
    }
}

#[tokio::test]
async fn pings_keep_a_live_client_and_silence_closes_it() {
    let notifier = spawn_notifier_with(|config| {
        config.tuning.ping_interval = Duration::from_millis(100);
        config.tuning.idle_timeout = Duration::from_millis(600);
    })
    .await;
    // A client that reads (and so answers pings) stays connected well past the idle timeout.
    let mut live = notifier.connect("luigis").await;
    let mut pings = 0;
    let until = tokio::time::Instant::now() + Duration::from_millis(1500);
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(until, live.stream.next()).await {
        match message {
            Message::Ping(_) => pings += 1,
            Message::Close(frame) => panic!("live client closed: {frame:?}"),
            _ => {}
        }
    }
    assert!(pings >= 5, "pings every 100 ms, got {pings}");
    notifier
        .publisher()
        .await
        .publish(&event("luigis", 1, "confirmed"))
        .await;
    assert_eq!(live.next_json().await["seq"], 1);

    // Keep the live client reading (so answering pings) in the background from here on.
    let live_reader = tokio::spawn(async move {
        while let Some(Ok(message)) = live.stream.next().await {
            if let Message::Close(frame) = message {
                return Some(frame.map(|f| u16::from(f.code)));
            }
        }
        None
    });
    // A client that never answers (it does not read, so it cannot pong) is closed by the
    // server once silent for the idle timeout, while the live one stays.
    let mut silent = notifier.connect("luigis").await;
    let sockets = || {
        notifier
            .state
            .connected_sockets
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    wait_until("both sockets counted", Duration::from_secs(5), || async {
        sockets() == 2
    })
    .await;
    wait_until(
        "the silent socket closed",
        Duration::from_secs(5),
        || async { sockets() == 1 },
    )
    .await;
    assert!(
        !live_reader.is_finished(),
        "the live client is still connected"
    );
    // The silent client's stream ends (with the close frame, or a reset if its pong crossed
    // the close), well within a few seconds.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, silent.stream.next())
            .await
            .expect("stream ends")
        {
            Some(Ok(Message::Close(frame))) => {
                assert_eq!(frame.map(|f| u16::from(f.code)), Some(1000));
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => break,
        }
    }
    live_reader.abort();
}

#[tokio::test]
async fn a_slow_client_gets_resync_and_1013_without_slowing_the_others() {
    // A backlog of 64 lets the fast reader be descheduled for a while on a loaded machine
    // without counting as slow; 600 frames of ~50 KB still overflow what the slow client's
    // socket buffers and backlog hold.
    let notifier = spawn_notifier_with(|config| config.tuning.client_backlog = 64).await;
    let mut slow = notifier.connect("luigis").await;
    let fast = notifier.connect("luigis").await;
    let publisher = notifier.publisher().await;
    const EVENTS: i64 = 600;
    // The fast client reads everything as it comes.
    let reader = tokio::spawn(async move {
        let mut fast = fast;
        for seq in 1..=EVENTS {
            assert_eq!(fast.next_json().await["seq"], seq);
        }
    });
    // ~50 KB frames, more than the socket buffers hold while `slow` does not read.
    for seq in 1..=EVENTS {
        publisher
            .publish(&event_with_padding("luigis", seq, "confirmed", 100))
            .await;
    }
    reader.await.unwrap();
    // Now the slow client reads: some events, then a resync and close 1013.
    let mut seen = 0;
    loop {
        match slow.next().await {
            Received::Json(frame) if frame["event"] == "resync" => break,
            Received::Json(_) => seen += 1,
            Received::Closed(code) => panic!("closed before resync: {code:?}"),
        }
    }
    assert!(seen < EVENTS, "the slow client could not have kept up");
    match slow.next().await {
        Received::Closed(code) => assert_eq!(code, Some(1013)),
        other => panic!("expected close 1013, got {other:?}"),
    }
}

#[tokio::test]
async fn shutdown_closes_clients_with_1001() {
    let notifier = spawn_notifier().await;
    let mut client = notifier.connect("luigis").await;
    notifier.shutdown().await;
    match client.next().await {
        Received::Closed(code) => assert_eq!(code, Some(1001)),
        other => panic!("expected close 1001, got {other:?}"),
    }
}

#[tokio::test]
async fn a_client_ping_is_answered_with_its_payload_and_a_close_is_echoed() {
    let notifier = spawn_notifier().await;
    let mut client = notifier.connect("luigis").await;
    client
        .stream
        .send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .expect("ping sent");
    let until = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(until, client.stream.next())
            .await
            .expect("a pong within 5 s")
        {
            Some(Ok(Message::Pong(payload))) => {
                assert_eq!(&payload[..], b"are you there");
                break;
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a pong, got {other:?}"),
        }
    }
    client.stream.close(None).await.expect("close sent");
    loop {
        match tokio::time::timeout_at(until, client.stream.next())
            .await
            .expect("the close is answered within 5 s")
        {
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(_)) => continue,
            Some(Err(error)) => panic!("expected a clean close, got {error}"),
        }
    }
}
