//! The broker's nodes (`AMQP_URL`: one URI, or several comma-separated for a cluster) and a
//! connect that cannot hang.
//!
//! lapin takes one host per URI and its async connect ignores `connection_timeout`, so a
//! broker that accepts the TCP connection and never answers would hang a connect for ever.
//! Every connect here is bounded by a real timeout, and tries each node once (starting at a
//! random one, so instances and their exclusive queues spread over a cluster) before the
//! caller backs off.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use lapin::{Connection, ConnectionProperties, uri::AMQPUri};

/// Heartbeat used when a URI does not set one: a stalled broker link is noticed after about
/// two heartbeats instead of RabbitMQ's default of a minute or more.
pub const DEFAULT_HEARTBEAT_SECS: u16 = 10;
/// How long one node may take to accept a connection (TCP, AMQP handshake, login), unless its
/// URI sets `connection_timeout` (milliseconds).
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 5_000;

/// Parses one AMQP URI, adding the default heartbeat and connection timeout where it has none.
pub fn uri(url: &str) -> Result<AMQPUri, String> {
    let url = url.trim();
    if !(url.starts_with("amqp://") || url.starts_with("amqps://")) {
        return Err("expected amqp://user:password@host:port/vhost".into());
    }
    // lapin reads `[::1]` as "localhost" and cannot reach other IPv6 literals: refuse rather
    // than connect somewhere else.
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    if after_scheme
        .rsplit('@')
        .next()
        .is_some_and(|authority| authority.starts_with('['))
    {
        return Err("IPv6 literals are not supported; use a host name".into());
    }
    let mut uri: AMQPUri = url.parse()?;
    if uri.authority.host.contains(',') {
        return Err("one host per URI: list several nodes as full URIs".into());
    }
    uri.query.heartbeat.get_or_insert(DEFAULT_HEARTBEAT_SECS);
    uri.query
        .connection_timeout
        .get_or_insert(DEFAULT_CONNECT_TIMEOUT_MS);
    Ok(uri)
}

/// Splits `AMQP_URL` into its URIs. A comma separates URIs (each starts with `amqp://` or
/// `amqps://`); a comma inside a password must be written `%2C`.
pub fn parse_list(list: &str) -> Result<Vec<AMQPUri>, String> {
    let uris = list
        .split(',')
        .map(|part| {
            uri(part).map_err(|e| {
                if part.trim().is_empty() {
                    "an empty entry in the list".to_owned()
                } else {
                    format!("{e} (each entry a full URI; write a comma in a password as %2C)")
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if uris.is_empty() {
        return Err("expected at least one amqp:// URI".into());
    }
    Ok(uris)
}

/// `host:port` of a URI, for logs (never the credentials).
pub fn node_name(uri: &AMQPUri) -> String {
    format!("{}:{}", uri.authority.host, uri.authority.port)
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{node}: no answer within {timeout:?}")]
    TimedOut { node: String, timeout: Duration },
    #[error("{node}: {source}")]
    Failed {
        node: String,
        #[source]
        source: lapin::Error,
    },
}

/// The nodes one service connects to, and where the next connect starts.
pub struct BrokerNodes {
    uris: Vec<AMQPUri>,
    next: AtomicUsize,
}

impl std::fmt::Debug for BrokerNodes {
    // By hand: a URI's Debug would show its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.uris.iter().map(node_name))
            .finish()
    }
}

impl BrokerNodes {
    pub fn parse(list: &str) -> Result<Self, String> {
        let uris = parse_list(list)?;
        let start = random_index(uris.len());
        Ok(Self {
            uris,
            next: AtomicUsize::new(start),
        })
    }

    pub fn len(&self) -> usize {
        self.uris.len()
    }

    pub fn is_empty(&self) -> bool {
        self.uris.is_empty()
    }

    /// Connects to the first node that answers, trying each once, each within its connect
    /// timeout. The next call starts at the node after the one connected to: a reconnect after
    /// losing a node tries the others first. Returns the connection and the node's name; the
    /// error is the last node's.
    pub async fn connect(
        &self,
        properties: ConnectionProperties,
    ) -> Result<(Connection, String), ConnectError> {
        let start = self.next.load(Ordering::Relaxed);
        let mut last_error = None;
        for index in attempt_order(start, self.uris.len()) {
            let uri = &self.uris[index];
            match connect_one(uri, properties.clone()).await {
                Ok(connection) => {
                    self.next
                        .store((index + 1) % self.uris.len(), Ordering::Relaxed);
                    return Ok((connection, node_name(uri)));
                }
                Err(error) => {
                    if self.uris.len() > 1 {
                        // The caller warns if no node answers.
                        tracing::info!(%error, "broker node unreachable; trying the next");
                    }
                    last_error = Some(error);
                }
            }
        }
        self.next
            .store((start + 1) % self.uris.len(), Ordering::Relaxed);
        Err(last_error.unwrap_or_else(|| ConnectError::TimedOut {
            node: "none".into(),
            timeout: Duration::ZERO,
        }))
    }
}

/// One node, bounded by its URI's `connection_timeout`.
pub async fn connect_one(
    uri: &AMQPUri,
    properties: ConnectionProperties,
) -> Result<Connection, ConnectError> {
    let timeout = Duration::from_millis(
        uri.query
            .connection_timeout
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT_MS),
    );
    match tokio::time::timeout(timeout, Connection::connect_uri(uri.clone(), properties)).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(source)) => Err(ConnectError::Failed {
            node: node_name(uri),
            source,
        }),
        Err(_) => Err(ConnectError::TimedOut {
            node: node_name(uri),
            timeout,
        }),
    }
}

/// Each node once, from `start` round the list.
fn attempt_order(start: usize, len: usize) -> impl Iterator<Item = usize> {
    (0..len).map(move |offset| (start + offset) % len)
}

fn random_index(len: usize) -> usize {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0;
    }
    (u64::from_le_bytes(bytes) % len.max(1) as u64) as usize
}

/// How long one broker operation (a declare, a bind, an ack, a publish's send, a close) may
/// take before the link counts as lost.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// Bounds one broker operation by [`OPERATION_TIMEOUT`]. lapin answers an operation when its
/// frame is written, and one sent just as the connection fails can stay unanswered for ever:
/// its frame is queued after lapin dropped the pending ones, on a socket nobody writes any
/// more (seen: a notifier stuck in an ack after a TCP cut, never reconnecting). A timeout turns
/// that into the error the caller already handles by reconnecting.
pub async fn bounded<T>(
    operation: impl std::future::Future<Output = lapin::Result<T>>,
) -> lapin::Result<T> {
    match tokio::time::timeout(OPERATION_TIMEOUT, operation).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("the broker did not answer within {OPERATION_TIMEOUT:?}"),
        )
        .into()),
    }
}

/// Declares the durable topic exchange the events go to. Both services declare it, so either
/// may start first.
pub async fn declare_exchange(channel: &lapin::Channel, name: &str) -> lapin::Result<()> {
    channel
        .exchange_declare(
            name.into(),
            lapin::ExchangeKind::Topic,
            lapin::options::ExchangeDeclareOptions {
                durable: true,
                ..Default::default()
            },
            lapin::types::FieldTable::default(),
        )
        .await
}

/// Declares a queue that lives as long as the channel's connection: exclusive to it and
/// deleted with it, so a consumer that goes leaves nothing behind on the broker.
pub async fn declare_connection_queue(
    channel: &lapin::Channel,
    name: &str,
) -> lapin::Result<lapin::Queue> {
    channel
        .queue_declare(
            name.into(),
            lapin::options::QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            lapin::types::FieldTable::default(),
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_operation_that_is_never_answered_fails_after_the_timeout() {
        let started = tokio::time::Instant::now();
        let never = bounded(std::future::pending::<lapin::Result<()>>()).await;
        let error = never.expect_err("a pending operation ends in an error");
        assert!(
            matches!(error.kind(), lapin::ErrorKind::IOError(io) if io.kind() == std::io::ErrorKind::TimedOut),
            "{error}"
        );
        assert_eq!(started.elapsed(), OPERATION_TIMEOUT);
        // An answered operation passes through.
        assert_eq!(bounded(async { Ok(7) }).await.ok(), Some(7));
    }

    #[test]
    fn keeps_explicit_heartbeat() {
        assert_eq!(
            uri("amqp://h/%2f?heartbeat=3").unwrap().query.heartbeat,
            Some(3)
        );
        assert_eq!(uri("amqp://h/%2f").unwrap().query.heartbeat, Some(10));
        assert!(uri("http://h").is_err());
    }

    #[test]
    fn a_list_is_comma_separated_full_uris() {
        let nodes = parse_list(
            "amqp://u:p@rmq1:5681/%2f, amqp://u:p@rmq2:5682/%2f,amqps://u:p@rmq3:5683/%2f",
        )
        .unwrap();
        let names: Vec<_> = nodes.iter().map(node_name).collect();
        assert_eq!(names, ["rmq1:5681", "rmq2:5682", "rmq3:5683"]);
        // One URI stays valid.
        assert_eq!(
            parse_list("amqp://guest:guest@127.0.0.1:5672/%2f")
                .unwrap()
                .len(),
            1
        );
        // A password's comma is written %2C.
        let uri = &parse_list("amqp://u:a%2Cb@h:5672/%2f").unwrap()[0];
        assert_eq!(uri.authority.userinfo.password, "a,b");
    }

    #[test]
    fn the_traps_of_lapin_s_parser_are_refused() {
        for bad in [
            // lapin: an error, a host named "h1,h2", or a vhost swallowing the second URI.
            "amqp://h1:5672,h2:5672/%2f",
            "amqp://h1,h2/%2f",
            "amqp://u:a,b@h:5672/%2f",
            "amqp://h1/%2f,",
            ",amqp://h1/%2f",
            "amqp://[::1]:5672/%2f",
            "",
        ] {
            assert!(parse_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_node_is_tried_once_from_the_start() {
        assert_eq!(attempt_order(2, 3).collect::<Vec<_>>(), [2, 0, 1]);
        assert_eq!(attempt_order(0, 1).collect::<Vec<_>>(), [0]);
        for _ in 0..50 {
            assert!(random_index(3) < 3);
        }
    }
}
