//! A stuck tablet (API.md: "A client that cannot keep up (more than 1,024 frames waiting for
//! it) is sent resync and closed with code 1013"): decided by what waits for the client, not
//! by how long one write takes.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::TcpSocket;
use tokio_tungstenite::{MaybeTlsStream, tungstenite::Message};

use crate::helpers::{event_with_padding, spawn_notifier_with};

#[tokio::test]
async fn a_client_that_stops_reading_gets_its_frames_then_resync_and_1013() {
    // The notifier's real timings: the 60 s stall limit, the 1,024-frame backlog.
    let notifier = spawn_notifier_with(|config| {
        config.tuning.unbind_grace = Duration::from_millis(200);
    })
    .await;
    let ticket = notifier.keys.ticket("luigis");
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket
        .connect(format!("127.0.0.1:{}", notifier.port).parse().unwrap())
        .await
        .unwrap();
    let (mut stuck, _) = tokio_tungstenite::client_async(
        notifier.socket_url("luigis", &format!("?ticket={ticket}")),
        MaybeTlsStream::Plain(stream),
    )
    .await
    .unwrap();
    let mut watcher = notifier.connect("luigis").await;
    let publisher = notifier.publisher().await;
    // 1,500 events of ~5 KB while the tablet reads nothing.
    for seq in 1..=1500 {
        publisher
            .publish(&event_with_padding("luigis", seq, "confirmed", 10))
            .await;
    }
    for seq in 1..=1500 {
        assert_eq!(
            watcher.next_json().await["seq"],
            seq,
            "the others are not slowed"
        );
    }
    // The tablet comes back 20 s later (the scenario of the report: past the old 10 s write
    // timeout, within the 60 s stall limit).
    tokio::time::sleep(Duration::from_secs(20)).await;
    let mut frames = 0;
    let mut last_seq = 0;
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), stuck.next())
            .await
            .expect("the notifier says something within 10 s")
            .expect("a close frame before the end of the stream")
            .expect("no error before the close frame");
        match message {
            Message::Text(text) => {
                let frame: serde_json::Value = serde_json::from_str(&text).unwrap();
                if frame["event"] == "resync" {
                    break;
                }
                let seq = frame["seq"].as_i64().unwrap();
                assert_eq!(seq, last_seq + 1, "in order until the resync");
                last_seq = seq;
                frames += 1;
            }
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected frames then resync, got {other:?}"),
        }
    }
    assert!(
        frames < 1500,
        "it fell behind: {frames} frames before the resync"
    );
    let close = loop {
        match stuck.next().await {
            Some(Ok(Message::Close(close))) => break close,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected the close frame after resync, got {other:?}"),
        }
    };
    assert_eq!(close.map(|c| u16::from(c.code)), Some(1013));
}
