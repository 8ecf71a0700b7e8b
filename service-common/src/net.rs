use std::{io, net::SocketAddr};

use tokio::net::{TcpListener, TcpSocket};

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

/// The listener, with Nagle's algorithm off on every accepted connection. Both services write
/// small messages (a JSON answer, a WebSocket frame) and then wait: with Nagle on, a frame
/// written while the previous one is still unacknowledged waits for the client's delayed ACK,
/// up to 40 ms on Linux (measured: p95 frame delay 42 ms with 100 restaurants before this).
pub fn without_nagle(
    listener: TcpListener,
) -> impl axum::serve::Listener<Io = tokio::net::TcpStream, Addr = SocketAddr> {
    use axum::serve::ListenerExt;
    listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on an accepted connection");
        }
    })
}

#[cfg(test)]
mod tests {
    use axum::serve::Listener as _;

    use super::*;

    #[tokio::test]
    async fn accepted_connections_have_nagle_off() {
        let listener = listen("127.0.0.1:0".parse().expect("an address")).expect("bound");
        let addr = listener.local_addr().expect("an address");
        let mut listener = without_nagle(listener);
        let client = tokio::net::TcpStream::connect(addr);
        let ((stream, _), client) = tokio::join!(listener.accept(), client);
        client.expect("connected");
        assert!(stream.nodelay().expect("readable option"));
    }
}
