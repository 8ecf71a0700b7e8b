//! Kitchen WebSocket clients: connecting (optionally from many loopback source addresses, so
//! tens of thousands of sockets do not run out of ephemeral ports), following a socket's
//! frames for the bookkeeping, or merely holding it open.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, bail};
use futures_util::StreamExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::{self, Message, http::Uri, protocol::WebSocketConfig};

use crate::bookkeeping::{Arrival, Attribution, SocketLog};

pub type Ws = WebSocketStream<TcpStream>;

/// Where the notifier listens, resolved once.
pub struct Endpoint {
    addr: SocketAddr,
    /// `ws://host:port`, as given.
    base: String,
    sources: Vec<IpAddr>,
    next_source: AtomicUsize,
}

impl Endpoint {
    /// `source_ips` > 0 spreads connections over 127.0.0.`first`, the next one, ... when the
    /// notifier is on loopback; each source address has its own ~28k ephemeral ports.
    pub async fn resolve(url: &str, first: u8, source_ips: u8) -> anyhow::Result<Self> {
        let uri: Uri = url.parse().with_context(|| format!("notifier URL {url}"))?;
        if uri.scheme_str() != Some("ws") {
            bail!("notifier URL {url}: only ws:// is supported");
        }
        let host = uri.host().context("notifier URL without host")?;
        let port = uri.port_u16().unwrap_or(80);
        let addr = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
            .await?
            .next()
            .with_context(|| format!("{host} does not resolve"))?;
        let sources = match addr.ip() {
            IpAddr::V4(ip) if ip.is_loopback() => {
                let first = first.clamp(2, 254);
                (0..source_ips.min(255 - first))
                    .map(|n| IpAddr::V4(Ipv4Addr::new(127, 0, 0, first + n)))
                    .collect()
            }
            _ => Vec::new(),
        };
        Ok(Self {
            addr,
            base: format!("ws://{host}:{port}"),
            sources,
            next_source: AtomicUsize::new(0),
        })
    }

    pub fn kitchen_url(&self, slug: &str, ticket: &str) -> String {
        format!("{}/ws/kitchen/{slug}/?ticket={ticket}", self.base)
    }

    /// Opens a kitchen socket; on failure, a short label to count it by ("http 401", ...).
    pub async fn connect(
        &self,
        slug: &str,
        ticket: &str,
        config: WebSocketConfig,
    ) -> Result<Ws, String> {
        let socket = match self.addr {
            SocketAddr::V4(_) => TcpSocket::new_v4(),
            SocketAddr::V6(_) => TcpSocket::new_v6(),
        }
        .map_err(|e| format!("socket: {:?}", e.kind()))?;
        if !self.sources.is_empty() {
            let n = self.next_source.fetch_add(1, Ordering::Relaxed) % self.sources.len();
            socket
                .bind(SocketAddr::new(self.sources[n], 0))
                .map_err(|e| format!("bind: {:?}", e.kind()))?;
        }
        let stream = socket
            .connect(self.addr)
            .await
            .map_err(|e| format!("connect: {:?}", e.kind()))?;
        let _ = stream.set_nodelay(true);
        let url = self.kitchen_url(slug, ticket);
        match tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await {
            Ok((ws, _)) => Ok(ws),
            Err(error) => Err(error_label(&error)),
        }
    }
}

fn error_label(error: &tungstenite::Error) -> String {
    match error {
        tungstenite::Error::Http(response) => format!("http {}", response.status().as_u16()),
        tungstenite::Error::Io(io) => format!("io: {:?}", io.kind()),
        other => other.to_string(),
    }
}

/// Buffers for a socket that reads small frames: the 128 KiB default, times 20,000 sockets,
/// would measure loadgen more than the notifier.
pub fn small_buffers() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
}

/// Reads a socket's frames into its log until `stop` fires or the socket ends. `received`
/// counts fresh frames across all sockets, so the drain knows when everything has arrived.
pub async fn follow(
    mut ws: Ws,
    mut log: SocketLog,
    attribution: Arc<Mutex<Attribution>>,
    received: Arc<AtomicU64>,
    mut stop: watch::Receiver<bool>,
) -> SocketLog {
    loop {
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            message = ws.next() => {
                let at = Instant::now();
                match message {
                    Some(Ok(Message::Text(text))) => {
                        if matches!(
                            log.on_text(&text, at, &attribution),
                            Some(Arrival::InOrder | Arrival::Late)
                        ) {
                            received.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        log.ended = Some(match frame {
                            Some(frame) => format!("close {}", u16::from(frame.code)),
                            None => "close".into(),
                        });
                        break;
                    }
                    // Pings are answered by the library while we read.
                    Some(Ok(_)) => {}
                    Some(Err(error)) => {
                        log.ended = Some(error_label(&error));
                        break;
                    }
                    None => {
                        log.ended = Some("eof".into());
                        break;
                    }
                }
            }
        }
    }
    log
}

/// Keeps a socket open and answering pings; counts it in `dropped` if the server ends it.
pub async fn hold(mut ws: Ws, dropped: Arc<AtomicU64>) {
    loop {
        match ws.next().await {
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Some(Ok(_)) => {}
        }
    }
}
