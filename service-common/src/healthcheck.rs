//! `<binary> healthcheck`: asks the running service's `/readyz` and exits 0 when it answers 200.
//! Container health checks use it, so runtime images need no curl.

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    time::Duration,
};

/// Checks `GET /readyz` on `listen` (a wildcard address means this host).
pub fn probe(listen: SocketAddr) -> bool {
    let mut target = listen;
    if target.ip().is_unspecified() {
        target.set_ip([127, 0, 0, 1].into());
    }
    let Ok(mut stream) = TcpStream::connect_timeout(&target, Duration::from_secs(2)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(3)));
    if stream
        .write_all(b"GET /readyz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

/// Runs the health check if the process was started as `<binary> healthcheck`, and exits.
pub fn run_if_requested(listen: impl FnOnce() -> Option<SocketAddr>) {
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        let healthy = listen().is_some_and(probe);
        std::process::exit(if healthy { 0 } else { 1 });
    }
}
