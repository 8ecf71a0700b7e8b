//! Configuration from environment variables only; a malformed value stops the process at
//! start with one line naming the variable.

use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

pub use service_common::env::{ConfigError, LogFormat};
use service_common::env::{Env, error, redact_url};

#[derive(Clone)]
pub struct Config {
    pub amqp_url: String,
    pub listen_addr: SocketAddr,
    pub exchange: String,
    /// Where the ticket public key is fetched when `ticket_public_key_pem` is not set.
    pub order_service_url: String,
    /// Ed25519 public keys (SPKI PEM, one or more blocks) that verify kitchen tickets; when
    /// set, nothing is fetched and nothing replaces them.
    pub ticket_public_key_pem: Option<String>,
    /// Certificates (PEM) trusted beside the system's for an `https://` `order_service_url`.
    pub order_service_ca_file: Option<PathBuf>,
    /// Names this instance's queue, `kitchen-notifier.{instance_id}`.
    pub instance_id: String,
    pub log_format: LogFormat,
    /// Time a client gets to send a request's headers (`HTTP_HEADER_TIMEOUT_SECS`).
    pub header_read_timeout: Duration,
    pub tuning: Tuning,
    /// `METRICS_ADDR`: when set, `/metrics` is served there only, not on `listen_addr`.
    pub metrics_addr: Option<SocketAddr>,
}

/// Timings of the WebSocket protocol and the hub. The defaults are API.md's; tests shorten
/// some of them.
#[derive(Debug, Clone)]
pub struct Tuning {
    pub ping_interval: Duration,
    /// A client silent for this long is closed.
    pub idle_timeout: Duration,
    /// Frames that may wait for one client before it counts as too slow.
    pub client_backlog: usize,
    /// Recent frames kept per restaurant for `?after=` replays...
    pub replay_ring: usize,
    /// ... and at most this many bytes of them (`NOTIFIER_REPLAY_MAX_BYTES`).
    pub replay_ring_bytes: usize,
    /// How long an out-of-order event waits for the missing one before clients get `resync`.
    pub gap_wait: Duration,
    /// How long a restaurant's binding outlives its last client.
    pub unbind_grace: Duration,
    /// Largest frame a client may send.
    pub max_client_frame: usize,
    /// A write to which the client takes no byte for this long closes it without a close
    /// frame (nothing more can be sent). A client that is only slow is closed with `resync`
    /// and 1013 once more than `client_backlog` frames wait for it.
    pub write_timeout: Duration,
    /// The ticket key is refetched (after a signature that does not verify) at most this often.
    pub ticket_key_refetch_interval: Duration,
    /// A socket that was sent no other frame for this long is sent a heartbeat.
    pub heartbeat_interval: Duration,
    /// Sockets this instance holds at most (open or being opened); beyond, handshakes get 503.
    pub max_connections: usize,
    /// A socket open this long is closed with 1001, so the client gets a new ticket (staff
    /// membership is checked again) and reconnects with `after`.
    pub max_socket_lifetime: Duration,
}

/// About 100 MiB of idle sockets at ~5 KiB each, and within a common file-descriptor limit
/// (`ulimit -n` 20,000 on the build machine); raise both together.
pub const DEFAULT_MAX_CONNECTIONS: usize = 20_000;

/// 8 MiB per watched restaurant: 256 frames of ordinary orders (a few KiB each) fit many
/// times over; only orders near order-service's `ORDER_MAX_BYTES` make the ring hold fewer.
pub const DEFAULT_REPLAY_MAX_BYTES: usize = 8 * 1024 * 1024;

/// 12 hours: a kitchen shift, after which a screen proves again that its user is staff.
pub const DEFAULT_MAX_SOCKET_SECS: u64 = 12 * 3600;
/// 30 days: bounds the value so a socket's deadline is always a representable instant.
const MAX_SOCKET_SECS_LIMIT: u64 = 30 * 24 * 3600;

impl Default for Tuning {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            client_backlog: 1024,
            replay_ring: 256,
            replay_ring_bytes: DEFAULT_REPLAY_MAX_BYTES,
            gap_wait: Duration::from_secs(1),
            unbind_grace: Duration::from_secs(30),
            max_client_frame: 4096,
            write_timeout: Duration::from_secs(60),
            ticket_key_refetch_interval: Duration::from_secs(5),
            heartbeat_interval: Duration::from_secs(10),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_socket_lifetime: Duration::from_secs(DEFAULT_MAX_SOCKET_SECS),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("amqp_url", &redact_url(&self.amqp_url))
            .field("listen_addr", &self.listen_addr)
            .field("exchange", &self.exchange)
            .field("order_service_url", &self.order_service_url)
            .field(
                "ticket_public_key",
                &self.ticket_public_key_pem.as_ref().map(|_| "<configured>"),
            )
            .field("order_service_ca_file", &self.order_service_ca_file)
            .field("instance_id", &self.instance_id)
            .field("log_format", &self.log_format)
            .field("metrics_addr", &self.metrics_addr)
            .finish()
    }
}

impl service_common::process::ServiceConfig for Config {
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Config::from_lookup(lookup)
    }

    fn listen_addr(&self) -> SocketAddr {
        self.listen_addr
    }

    fn log_format(&self) -> LogFormat {
        self.log_format
    }
}

impl Config {
    /// Reads the configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let listen_addr = env.parse(
            "LISTEN_ADDR",
            SocketAddr::from(([127, 0, 0, 1], 8081)),
            "expected host:port, e.g. 127.0.0.1:8081",
        )?;
        let order_service_url = env
            .string("ORDER_SERVICE_URL", "http://127.0.0.1:8080")
            .trim_end_matches('/')
            .to_owned();
        if reqwest::Url::parse(&order_service_url).is_err()
            || !order_service_url.starts_with("http")
        {
            return Err(error(
                "ORDER_SERVICE_URL",
                "expected an http(s) URL, e.g. http://127.0.0.1:8080",
            ));
        }
        let ticket_public_key_pem = env.get("TICKET_PUBLIC_KEY");
        if let Some(pem) = &ticket_public_key_pem {
            crate::tickets::parse_configured_keys(pem).ok_or_else(|| {
                error(
                    "TICKET_PUBLIC_KEY",
                    "expected one or more Ed25519 public keys in PEM",
                )
            })?;
        }
        let order_service_ca_file = env.get("ORDER_SERVICE_CA_FILE").map(PathBuf::from);
        if let Some(path) = &order_service_ca_file
            && !path.is_file()
        {
            return Err(error(
                "ORDER_SERVICE_CA_FILE",
                "expected the path of a PEM file of certificates",
            ));
        }
        let instance_id = env.get("NOTIFIER_INSTANCE_ID").unwrap_or_else(|| {
            let id = uuid::Uuid::new_v4().simple().to_string();
            id[..12].to_owned()
        });
        let valid_id = instance_id.len() <= 64
            && instance_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if !valid_id {
            return Err(error(
                "NOTIFIER_INSTANCE_ID",
                "1 to 64 letters, digits, '-', '_' or '.'",
            ));
        }
        let max_connections: usize = env.parse(
            "NOTIFIER_MAX_CONNECTIONS",
            DEFAULT_MAX_CONNECTIONS,
            "expected a whole number of sockets, at least 1",
        )?;
        if max_connections == 0 {
            return Err(error(
                "NOTIFIER_MAX_CONNECTIONS",
                "expected a whole number of sockets, at least 1",
            ));
        }
        const SOCKET_SECS: &str = "expected a whole number of seconds, 1 to 2592000 (30 days)";
        let max_socket_secs: u64 = env.parse(
            "NOTIFIER_MAX_SOCKET_SECS",
            DEFAULT_MAX_SOCKET_SECS,
            SOCKET_SECS,
        )?;
        if !(1..=MAX_SOCKET_SECS_LIMIT).contains(&max_socket_secs) {
            return Err(error("NOTIFIER_MAX_SOCKET_SECS", SOCKET_SECS));
        }
        const REPLAY_BYTES: &str = "expected a whole number of bytes, at least 65536";
        let replay_ring_bytes: usize = env.parse(
            "NOTIFIER_REPLAY_MAX_BYTES",
            DEFAULT_REPLAY_MAX_BYTES,
            REPLAY_BYTES,
        )?;
        if replay_ring_bytes < 64 * 1024 {
            return Err(error("NOTIFIER_REPLAY_MAX_BYTES", REPLAY_BYTES));
        }
        Ok(Config {
            metrics_addr: env.metrics_addr()?,
            amqp_url: env.amqp_url()?,
            listen_addr,
            exchange: env.exchange()?,
            order_service_url,
            ticket_public_key_pem,
            order_service_ca_file,
            instance_id,
            log_format: env.log_format()?,
            header_read_timeout: env.header_read_timeout()?,
            tuning: Tuning {
                max_connections,
                max_socket_lifetime: Duration::from_secs(max_socket_secs),
                replay_ring_bytes,
                ..Tuning::default()
            },
        })
    }

    /// True when the ticket key would be fetched in the clear from another machine: whoever
    /// can answer that request can mint tickets (the README: production sets
    /// `TICKET_PUBLIC_KEY` or uses https).
    pub fn fetches_ticket_key_in_the_clear(&self) -> bool {
        if self.ticket_public_key_pem.is_some() || !self.order_service_url.starts_with("http://") {
            return false;
        }
        let host = reqwest::Url::parse(&self.order_service_url)
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned));
        !matches!(host.as_deref(), Some("localhost" | "127.0.0.1" | "[::1]"))
    }

    pub fn queue_name(&self) -> String {
        format!("kitchen-notifier.{}", self.instance_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_contract() {
        let config = from(&[]).unwrap();
        assert_eq!(config.listen_addr.to_string(), "127.0.0.1:8081");
        assert_eq!(config.amqp_url, "amqp://guest:guest@127.0.0.1:5672/%2f");
        assert_eq!(config.exchange, "kitchen.events");
        assert_eq!(config.order_service_url, "http://127.0.0.1:8080");
        assert!(config.queue_name().starts_with("kitchen-notifier."));
    }

    #[test]
    fn a_key_fetched_in_the_clear_from_another_host_is_flagged() {
        let flagged = |vars: &[(&str, &str)]| from(vars).unwrap().fetches_ticket_key_in_the_clear();
        assert!(!flagged(&[]), "loopback, as in development");
        assert!(flagged(&[(
            "ORDER_SERVICE_URL",
            "http://order-service:8080"
        )]));
        assert!(!flagged(&[(
            "ORDER_SERVICE_URL",
            "https://order-service:8443"
        )]));
        let pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAxKOPXeH7UDCYFOo8L9ji3aEcEQKBkn6onKRzqS9nO2s=\n-----END PUBLIC KEY-----\n";
        assert!(!flagged(&[
            ("ORDER_SERVICE_URL", "http://order-service:8080"),
            ("TICKET_PUBLIC_KEY", pem),
        ]));
    }

    #[test]
    fn protocol_timings_are_api_md_s() {
        let tuning = Tuning::default();
        assert_eq!(tuning.ping_interval, Duration::from_secs(20));
        assert_eq!(tuning.idle_timeout, Duration::from_secs(60));
        assert_eq!(tuning.client_backlog, 1024);
        assert!(tuning.replay_ring >= 256);
        assert_eq!(tuning.max_client_frame, 4096);
        assert_eq!(tuning.heartbeat_interval, Duration::from_secs(10));
        assert_eq!(tuning.max_socket_lifetime, Duration::from_secs(12 * 3600));
    }

    #[test]
    fn the_replay_ring_s_bytes_and_the_metrics_address_are_read() {
        let config = from(&[]).unwrap();
        assert_eq!(config.tuning.replay_ring_bytes, 8 * 1024 * 1024);
        assert_eq!(config.metrics_addr, None);
        let config = from(&[
            ("NOTIFIER_REPLAY_MAX_BYTES", "1048576"),
            ("METRICS_ADDR", "127.0.0.1:9091"),
        ])
        .unwrap();
        assert_eq!(config.tuning.replay_ring_bytes, 1024 * 1024);
        assert_eq!(
            config.metrics_addr,
            Some(SocketAddr::from(([127, 0, 0, 1], 9091)))
        );
    }

    #[test]
    fn the_socket_lifetime_is_read_in_seconds() {
        let config = from(&[("NOTIFIER_MAX_SOCKET_SECS", "90")]).unwrap();
        assert_eq!(config.tuning.max_socket_lifetime, Duration::from_secs(90));
    }

    #[test]
    fn malformed_values_name_their_variable() {
        for (name, value) in [
            ("LISTEN_ADDR", "x"),
            ("AMQP_URL", "nope"),
            ("ORDER_SERVICE_URL", "ftp:/x"),
            ("TICKET_PUBLIC_KEY", "garbage"),
            ("ORDER_SERVICE_CA_FILE", "/no/such/file.pem"),
            ("NOTIFIER_INSTANCE_ID", "a b"),
            ("NOTIFIER_MAX_CONNECTIONS", "0"),
            ("HTTP_HEADER_TIMEOUT_SECS", "x"),
            ("NOTIFIER_MAX_CONNECTIONS", "many"),
            ("NOTIFIER_MAX_SOCKET_SECS", "0"),
            ("NOTIFIER_MAX_SOCKET_SECS", "-5"),
            ("NOTIFIER_MAX_SOCKET_SECS", "12h"),
            ("NOTIFIER_MAX_SOCKET_SECS", "2592001"),
            ("LOG_FORMAT", "yaml"),
            ("NOTIFIER_REPLAY_MAX_BYTES", "1000"),
            ("NOTIFIER_REPLAY_MAX_BYTES", "8M"),
            ("METRICS_ADDR", "localhost"),
        ] {
            let error = from(&[(name, value)]).unwrap_err();
            assert_eq!(error.variable, name, "{error}");
            assert!(!error.to_string().contains('\n'));
        }
    }
}
