//! A TCP proxy for fault injection: tests point a service at it instead of PostgreSQL or
//! RabbitMQ, then cut the link (every open connection is dropped and new ones are refused),
//! pause it (bytes are held, as on a stalled network) and restore it, to exercise the service's
//! recovery for real.

use std::{
    io,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream, tcp::OwnedReadHalf, tcp::OwnedWriteHalf},
    sync::watch,
    task::JoinHandle,
};

struct Shared {
    upstream: std::sync::Mutex<SocketAddr>,
    open: AtomicBool,
    /// Chunks that arrived while paused and are being held.
    held: AtomicU64,
    /// Bumped on every cut; each connection ends when it changes.
    cuts: watch::Sender<u64>,
    paused: watch::Sender<bool>,
}

pub struct TcpProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_task: JoinHandle<()>,
}

impl TcpProxy {
    /// Listens on an ephemeral loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream: std::sync::Mutex::new(upstream),
            open: AtomicBool::new(true),
            held: AtomicU64::new(0),
            cuts: watch::channel(0).0,
            paused: watch::channel(false).0,
        });
        let accept_task = tokio::spawn(accept_loop(listener, shared.clone()));
        Ok(Self {
            addr,
            shared,
            accept_task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Drops every open connection and refuses new ones until `restore`.
    pub fn cut(&self) {
        self.shared.open.store(false, Ordering::SeqCst);
        self.shared.cuts.send_modify(|n| *n += 1);
    }

    pub fn restore(&self) {
        self.shared.open.store(true, Ordering::SeqCst);
        self.resume();
    }

    /// Holds every byte in flight, in both directions, until `resume`.
    pub fn pause(&self) {
        self.shared.paused.send_replace(true);
    }

    pub fn resume(&self) {
        self.shared.paused.send_replace(false);
        self.shared.held.store(0, Ordering::SeqCst);
    }

    /// Sends new connections to `upstream` from now on (a service "restarted" elsewhere).
    pub fn redirect(&self, upstream: SocketAddr) {
        *self
            .shared
            .upstream
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = upstream;
    }

    /// How many chunks arrived while paused: proof that a request reached the held link.
    pub fn held(&self) -> u64 {
        self.shared.held.load(Ordering::SeqCst)
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept_task.abort();
        self.shared.cuts.send_modify(|n| *n += 1);
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if !shared.open.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let shared = shared.clone();
        let upstream = *shared.upstream.lock().unwrap_or_else(|e| e.into_inner());
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(upstream).await else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let mut cut = shared.cuts.subscribe();
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::select! {
                _ = pump(client_read, server_write, &shared) => {}
                _ = pump(server_read, client_write, &shared) => {}
                _ = cut.changed() => {}
            }
        });
    }
}

/// Copies one direction, holding each chunk while the proxy is paused.
async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, shared: &Shared) {
    let mut buffer = vec![0u8; 16 * 1024];
    let mut paused = shared.paused.subscribe();
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if *paused.borrow() {
            shared.held.fetch_add(1, Ordering::SeqCst);
            if paused.wait_for(|p| !*p).await.is_err() {
                return;
            }
        }
        if to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
