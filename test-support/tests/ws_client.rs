//! `Client::expect_silence` against a WebSocket server of the test's own that behaves in one
//! given way: silence passes only on a socket that stays open and quiet.

use std::time::Duration;

use futures_util::SinkExt;
use test_support::ws::Client;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::{
    Message,
    protocol::{CloseFrame, frame::coding::CloseCode},
};

enum Server {
    /// Keeps the socket open and says nothing until the test ends.
    Quiet,
    /// Sends a ping, then keeps quiet.
    Pings,
    /// Sends one text frame.
    Speaks,
    /// Closes with a close frame, as the notifier does to a client it drops.
    Closes,
    /// Drops the TCP connection without a close frame, as a crashed server would.
    Vanishes,
}

/// A client connected to a server that behaves as `server` says once the handshake is done;
/// the server holds its socket until the returned sender is dropped.
async fn client_of(server: Server) -> (Client, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (done, test_done) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut socket = tokio_tungstenite::accept_async(tcp).await.unwrap();
        match server {
            Server::Quiet => {}
            Server::Pings => socket.send(Message::Ping("hi".into())).await.unwrap(),
            Server::Speaks => socket
                .send(Message::Text(r#"{"event":"order.confirmed"}"#.into()))
                .await
                .unwrap(),
            Server::Closes => {
                let frame = CloseFrame {
                    code: CloseCode::Again,
                    reason: "".into(),
                };
                socket.close(Some(frame)).await.unwrap();
            }
            Server::Vanishes => return,
        }
        let _ = test_done.await;
        drop(socket);
    });
    let client = Client::connect(&format!("ws://127.0.0.1:{port}/")).await;
    (client, done)
}

#[tokio::test]
async fn a_quiet_open_socket_is_silent() {
    let (mut client, _done) = client_of(Server::Quiet).await;
    client.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn pings_do_not_break_the_silence() {
    let (mut client, _done) = client_of(Server::Pings).await;
    client.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
#[should_panic(expected = "unexpected frame")]
async fn a_frame_breaks_the_silence() {
    let (mut client, _done) = client_of(Server::Speaks).await;
    client.expect_silence(Duration::from_secs(5)).await;
}

#[tokio::test]
#[should_panic(expected = "the socket was closed")]
async fn a_socket_the_server_closed_is_not_silent() {
    let (mut client, _done) = client_of(Server::Closes).await;
    client.expect_silence(Duration::from_secs(5)).await;
}

#[tokio::test]
#[should_panic(expected = "instead of staying silent")]
async fn a_socket_whose_connection_dropped_is_not_silent() {
    let (mut client, _done) = client_of(Server::Vanishes).await;
    client.expect_silence(Duration::from_secs(5)).await;
}
