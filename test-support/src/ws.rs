//! A kitchen-screen WebSocket client for tests.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, tungstenite::Message};

pub struct Client {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub fn new(stream: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Self {
        Self { stream }
    }

    /// Connects to `url`; panics unless the handshake succeeds.
    pub async fn connect(url: &str) -> Self {
        let (stream, response) = tokio_tungstenite::connect_async(url)
            .await
            .expect("handshake succeeds");
        assert_eq!(response.status().as_u16(), 101);
        Self { stream }
    }
}

/// What a client read next.
#[derive(Debug)]
pub enum Received {
    Json(Value),
    Closed(Option<u16>),
}

impl Client {
    /// The next text frame as JSON, or the close; pings are answered by the library. Fails the
    /// test after 10 s of silence.
    pub async fn next(&mut self) -> Received {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), self.stream.next())
                .await
                .expect("a frame within 10 s");
            match message {
                Some(Ok(Message::Text(text))) => {
                    return Received::Json(serde_json::from_str(&text).unwrap());
                }
                Some(Ok(Message::Close(frame))) => {
                    return Received::Closed(frame.map(|f| u16::from(f.code)));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Received::Closed(None),
            }
        }
    }

    pub async fn next_json(&mut self) -> Value {
        match self.next().await {
            Received::Json(value) => value,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// Asserts that the socket stays open and quiet for `wait`: no text frame, and no close, no
    /// error, no end of the stream either (a closed socket is not a silent one). Pings and
    /// pongs may pass.
    pub async fn expect_silence(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let Ok(message) = tokio::time::timeout_at(deadline, self.stream.next()).await else {
                return;
            };
            match message {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Text(text))) => panic!("unexpected frame: {text}"),
                Some(Ok(Message::Close(frame))) => {
                    panic!("the socket was closed ({frame:?}) instead of staying silent")
                }
                Some(Ok(other)) => panic!("unexpected message: {other:?}"),
                Some(Err(error)) => panic!("the socket failed instead of staying silent: {error}"),
                None => panic!("the socket ended instead of staying silent"),
            }
        }
    }

    /// Closes the socket as a client leaving would (a close frame, code 1000), and waits for
    /// the server's close in return, or the end of the stream.
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
        let drained = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(Ok(message)) = self.stream.next().await {
                if message.is_close() {
                    break;
                }
            }
        });
        drained
            .await
            .expect("the server answers the close within 10 s");
    }

    /// Reads until the server closes the socket, skipping heartbeats (they may come at any
    /// time); returns the close code (`None` for a close without one, or a dropped
    /// connection). Fails the test on any other text frame, or without a close within `limit`.
    pub async fn close_code_within(&mut self, limit: Duration) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let message = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .expect("the server closes the socket in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    assert_eq!(frame["event"], "heartbeat", "unexpected frame: {text}");
                }
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    pub async fn send_text(&mut self, text: String) {
        self.stream.send(Message::Text(text.into())).await.unwrap();
    }
}

/// Attempts a handshake that must be refused; returns its HTTP status.
pub async fn refused(url: &str) -> u16 {
    let attempt = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(url),
    );
    match attempt.await.expect("handshake answered within 10 s") {
        Ok(_) => panic!("handshake unexpectedly succeeded"),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected handshake error: {other}"),
    }
}
