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

    /// Asserts that nothing arrives within `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        if let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout(wait, self.stream.next()).await
        {
            panic!("unexpected frame: {text}");
        }
    }

    pub async fn send_text(&mut self, text: String) {
        self.stream.send(Message::Text(text.into())).await.unwrap();
    }
}
