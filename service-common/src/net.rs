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
