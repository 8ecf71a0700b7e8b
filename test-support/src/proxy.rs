//! A TCP proxy for fault injection: tests point a service at it instead of PostgreSQL or
//! RabbitMQ, then cut the link (every open connection is dropped and new ones are refused),
//! pause it (bytes are held, as on a stalled network) and restore it, to exercise the service's
//! recovery for real. It can also cut a connection after a given number of bytes towards the
//! client (mid-frame), and it tells which local ports its upstream connections use, so a test
//! can find them on the server (e.g. `rabbitmqctl list_connections peer_port`).

use std::{
    collections::HashSet,
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
    /// Of those, the chunks from clients (requests rather than answers or notifications).
    held_from_clients: AtomicU64,
    /// Bumped on every cut; each connection ends when it changes.
    cuts: watch::Sender<u64>,
    paused: watch::Sender<bool>,
    /// Local ports of the open connections to the upstream.
    upstream_ports: std::sync::Mutex<HashSet<u16>>,
    /// Bytes still forwarded towards clients before their connection is cut; `u64::MAX` = no
    /// limit.
    downstream_budget: AtomicU64,
    /// Every byte forwarded towards clients, from `record_downstream` to the budget's cut.
    recording: std::sync::Mutex<Option<Vec<u8>>>,
    recording_active: AtomicBool,
    /// Set when a connection was cut because the budget was spent.
    downstream_cut: AtomicBool,
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
            held_from_clients: AtomicU64::new(0),
            cuts: watch::channel(0).0,
            paused: watch::channel(false).0,
            upstream_ports: std::sync::Mutex::new(HashSet::new()),
            downstream_budget: AtomicU64::new(u64::MAX),
            recording: std::sync::Mutex::new(None),
            recording_active: AtomicBool::new(false),
            downstream_cut: AtomicBool::new(false),
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
        self.shared.held_from_clients.store(0, Ordering::SeqCst);
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

    /// How many chunks from clients arrived while paused: proof that a client sent something
    /// (a query, a publish) into the held link, whatever the server sent meanwhile.
    pub fn held_from_clients(&self) -> u64 {
        self.shared.held_from_clients.load(Ordering::SeqCst)
    }

    /// The local ports of the proxy's open connections to the upstream: what the upstream
    /// server sees as their peer ports.
    pub fn upstream_ports(&self) -> HashSet<u16> {
        lock(&self.shared.upstream_ports).clone()
    }

    /// Forwards `bytes` more bytes towards the clients, then drops the connection that would
    /// exceed them, in the middle of whatever it was sending. New connections are accepted
    /// again, with no limit.
    pub fn cut_downstream_after(&self, bytes: u64) {
        self.shared.downstream_cut.store(false, Ordering::SeqCst);
        self.shared.downstream_budget.store(bytes, Ordering::SeqCst);
    }

    /// Whether the budget of `cut_downstream_after` was spent and its connection cut.
    pub fn downstream_was_cut(&self) -> bool {
        self.shared.downstream_cut.load(Ordering::SeqCst)
    }

    /// Starts keeping a copy of every byte forwarded towards the clients, until a
    /// `cut_downstream_after` cut.
    pub fn record_downstream(&self) {
        *lock(&self.shared.recording) = Some(Vec::new());
        self.shared.recording_active.store(true, Ordering::SeqCst);
    }

    /// What was forwarded towards the clients from `record_downstream` to the cut.
    pub fn recorded_downstream(&self) -> Vec<u8> {
        lock(&self.shared.recording).clone().unwrap_or_default()
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
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
            let upstream_port = server.local_addr().map(|addr| addr.port()).ok();
            if let Some(port) = upstream_port {
                lock(&shared.upstream_ports).insert(port);
            }
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let mut cut = shared.cuts.subscribe();
            let (client_read, client_write) = client.into_split();
            let (server_read, server_write) = server.into_split();
            tokio::select! {
                _ = pump(client_read, server_write, &shared, Direction::Upstream) => {}
                _ = pump(server_read, client_write, &shared, Direction::Downstream) => {}
                _ = cut.changed() => {}
            }
            if let Some(port) = upstream_port {
                lock(&shared.upstream_ports).remove(&port);
            }
        });
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// From the client to the server.
    Upstream,
    /// From the server to the client.
    Downstream,
}

/// Copies one direction, holding each chunk while the proxy is paused. Towards the client it
/// honours the byte budget (ending the connection when it is spent) and the recording.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    shared: &Shared,
    direction: Direction,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    let mut paused = shared.paused.subscribe();
    loop {
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if *paused.borrow() {
            shared.held.fetch_add(1, Ordering::SeqCst);
            if direction == Direction::Upstream {
                shared.held_from_clients.fetch_add(1, Ordering::SeqCst);
            }
            if paused.wait_for(|p| !*p).await.is_err() {
                return;
            }
        }
        let mut forward = n;
        let mut spent = false;
        if direction == Direction::Downstream {
            let budget = shared.downstream_budget.load(Ordering::SeqCst);
            if budget != u64::MAX {
                forward = n.min(usize::try_from(budget).unwrap_or(usize::MAX));
                spent = forward < n;
                let left = if spent {
                    u64::MAX
                } else {
                    budget - forward as u64
                };
                shared.downstream_budget.store(left, Ordering::SeqCst);
            }
            if shared.recording_active.load(Ordering::SeqCst)
                && let Some(recording) = lock(&shared.recording).as_mut()
            {
                recording.extend_from_slice(&buffer[..forward]);
            }
            if spent {
                shared.recording_active.store(false, Ordering::SeqCst);
                shared.downstream_cut.store(true, Ordering::SeqCst);
            }
        }
        if to.write_all(&buffer[..forward]).await.is_err() || spent {
            let _ = to.flush().await;
            return;
        }
    }
}
