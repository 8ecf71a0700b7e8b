use std::{future::Future, io, net::SocketAddr, time::Duration};

use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower::ServiceExt as _;

/// Pending connections the kernel may queue for us. Tokio's `TcpListener::bind` uses 1,024,
/// which a burst of reconnecting kitchen screens overflows: the overflow shows as 1 s handshake
/// stalls (SYN retries). The kernel caps it at `net.core.somaxconn`.
const BACKLOG: u32 = 4096;

/// Binds a listener with a deep accept backlog.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// The listener of `METRICS_ADDR`, when set: both services serve `/metrics` on it alone.
pub fn listen_metrics(addr: Option<SocketAddr>) -> anyhow::Result<Option<TcpListener>> {
    addr.map(|addr| {
        listen(addr).map_err(|e| anyhow::anyhow!("cannot listen on METRICS_ADDR {addr}: {e}"))
    })
    .transpose()
}

/// How long a client may take to send a request's headers, and to start its next request on a
/// kept-alive connection, before the connection is closed: a client that drips bytes (or sits
/// on an idle connection) cannot hold a file descriptor for ever.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` (HTTP/1.1 with upgrades, Nagle off) until `shutdown`, then
/// stops accepting and waits for the requests in flight. Unlike `axum::serve`, it bounds the
/// time to read request headers, which also ends idle keep-alive connections.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()>,
    header_read_timeout: Duration,
) -> io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    let connections = TaskTracker::new();
    let stopping = CancellationToken::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, say: back off briefly instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Both services write small messages (a JSON answer, a WebSocket frame) and then
        // wait: with Nagle on, a frame written while the previous one is unacknowledged waits
        // for the client's delayed ACK, up to 40 ms on Linux (measured: p95 frame delay 42 ms
        // with 100 restaurants before this).
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on an accepted connection");
        }
        // The peer's address as axum's `ConnectInfo<SocketAddr>`, as `axum::serve` with
        // `into_make_service_with_connect_info` provides it (order-service limits logins by it).
        let service = TowerToHyperService::new(router.clone().map_request(
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        ));
        let connection = http
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let stopping = stopping.clone();
        connections.spawn(async move {
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                _ = stopping.cancelled() => {
                    // Finish the request in flight, take no more.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = ended {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    stopping.cancel();
    connections.close();
    connections.wait().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts `serve` with a short header timeout; returns its address and a stop switch.
    async fn slow_header_server(
        timeout: Duration,
    ) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let listener = listen("127.0.0.1:0".parse().expect("an address")).expect("bound");
        let addr = listener.local_addr().expect("an address");
        let router = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(
            listener,
            router,
            async move {
                let _ = stopped.await;
            },
            timeout,
        ));
        (addr, stop)
    }

    /// Reads until the server closes the connection; what it sent.
    async fn read_to_close(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
        use tokio::io::AsyncReadExt;
        let mut all = Vec::new();
        let _ = stream.read_to_end(&mut all).await;
        all
    }

    #[tokio::test]
    async fn a_client_dripping_its_headers_is_cut_off() {
        use tokio::io::AsyncWriteExt;
        let (addr, _stop) = slow_header_server(Duration::from_millis(500)).await;
        let mut client = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connected");
        let started = tokio::time::Instant::now();
        let request =
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
        for byte in request {
            if client.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            if started.elapsed() > Duration::from_secs(3) {
                break;
            }
        }
        let answer = tokio::time::timeout(Duration::from_secs(5), read_to_close(&mut client))
            .await
            .expect("the server closed the connection");
        assert!(
            !answer.starts_with(b"HTTP/1.1 200"),
            "the request was never completed in time: {}",
            String::from_utf8_lossy(&answer)
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "closed at the timeout"
        );
    }

    #[tokio::test]
    async fn an_idle_kept_alive_connection_is_closed() {
        use tokio::io::AsyncWriteExt;
        let (addr, _stop) = slow_header_server(Duration::from_millis(500)).await;
        let mut client = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connected");
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("sent");
        let started = tokio::time::Instant::now();
        let answer = tokio::time::timeout(Duration::from_secs(5), read_to_close(&mut client))
            .await
            .expect("the idle connection is closed");
        assert!(
            answer.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
        assert!(started.elapsed() >= Duration::from_millis(400));
    }

    #[tokio::test]
    async fn handlers_see_the_peer_address() {
        use axum::extract::ConnectInfo;
        use tokio::io::AsyncWriteExt;
        let listener = listen("127.0.0.1:0".parse().expect("an address")).expect("bound");
        let addr = listener.local_addr().expect("an address");
        let router = axum::Router::new().route(
            "/",
            axum::routing::get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                peer.to_string()
            }),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(
            listener,
            router,
            async move {
                let _ = stopped.await;
            },
            DEFAULT_HEADER_READ_TIMEOUT,
        ));
        let mut client = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connected");
        let local = client.local_addr().expect("an address");
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("sent");
        let answer = String::from_utf8_lossy(&read_to_close(&mut client).await).into_owned();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with(&local.to_string()), "{answer}");
        let _ = stop.send(());
    }

    #[tokio::test]
    async fn a_prompt_client_is_served() {
        use tokio::io::AsyncWriteExt;
        let (addr, _stop) = slow_header_server(Duration::from_millis(500)).await;
        let mut client = tokio::net::TcpStream::connect(addr)
            .await
            .expect("connected");
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("sent");
        let answer = read_to_close(&mut client).await;
        assert!(answer.starts_with(b"HTTP/1.1 200"));
        assert!(answer.ends_with(b"ok"));
    }
}
