//! Configuration from environment variables only (API.md, "Operations"). A malformed value
//! stops the process at start with one line naming the variable; secrets are never echoed.

use std::{fmt, net::SocketAddr, num::NonZeroU32, path::PathBuf, str::FromStr, time::Duration};

use secrecy::{ExposeSecret, SecretString};
pub use service_common::env::{ConfigError, LogFormat};
use service_common::env::{Env, error, redact_url};
use sqlx::postgres::PgConnectOptions;

use crate::auth::throttle::LoginLimits;

#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub database_max_connections: u32,
    pub amqp_url: String,
    pub listen_addr: SocketAddr,
    pub exchange: String,
    /// HMAC secret for access and refresh tokens.
    pub jwt_secret: SecretString,
    /// True when `JWT_SECRET` was unset and a random secret was made at start.
    pub jwt_secret_generated: bool,
    /// PEM (PKCS#8) Ed25519 private key that signs kitchen WebSocket tickets; `None` generates
    /// one at start (fine for one instance, wrong for several).
    pub ticket_private_key_pem: Option<SecretString>,
    pub event_retention: Duration,
    pub log_format: LogFormat,
    /// Web origins (`https://host[:port]`) whose pages may call the API from a browser. The
    /// service's own pages are same-origin and need none; by default no other page may.
    pub cors_allowed_origins: Vec<String>,
    /// Time a client gets to send a request's headers (`HTTP_HEADER_TIMEOUT_SECS`).
    pub header_read_timeout: Duration,
    /// The notifier's address as a browser reaches it (`ws://` or `wss://`, no trailing `/`):
    /// written into the pages and allowed by their Content-Security-Policy.
    pub notifier_public_url: String,
    /// Development only: serve the pages from this folder (`WEB_DIR`, normally
    /// `order-service/web`) instead of the copy built into the binary, so an edit shows on
    /// reload without a rebuild.
    pub web_dir: Option<PathBuf>,
    /// Failed logins allowed per email and per client address within a window: API.md's 10,
    /// 100 and 15 minutes. Not an environment variable (the contract fixes them); tests set
    /// smaller ones.
    pub login_limits: LoginLimits,
    /// `METRICS_ADDR`: when set, `/metrics` is served there only, not on `listen_addr`.
    pub metrics_addr: Option<SocketAddr>,
    /// Confirms per minute allowed per client address and per restaurant; `None` is no limit.
    pub confirm_rates: ConfirmRates,
    /// Largest an Order may be, serialized as JSON (`ORDER_MAX_BYTES`).
    pub order_max_bytes: usize,
    /// An events page stops before its events' payloads pass this (`EVENTS_PAGE_MAX_BYTES`).
    pub events_page_max_bytes: u64,
    /// Restaurants one account may own (`MAX_RESTAURANTS_PER_OWNER`).
    pub max_restaurants_per_owner: u32,
    /// How often the outbox relay looks for unpublished rows without being woken: the safety
    /// net for a lost wake. Not an environment variable; tests set a long one to see that the
    /// wakes alone deliver.
    pub outbox_poll_interval: Duration,
}

/// Confirms per minute, per client address and per restaurant (`None`: unlimited).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfirmRates {
    pub per_address: Option<NonZeroU32>,
    pub per_restaurant: Option<NonZeroU32>,
}

/// 120 confirms a minute from one address: a venue's guest Wi-Fi shares one address among all
/// its customers, and even a food court behind one NAT does not order twice a second.
pub const DEFAULT_CONFIRM_RATE_PER_ADDRESS: u32 = 120;
/// 240 orders a minute at one restaurant: four a second, far beyond a busy kitchen's peak.
pub const DEFAULT_CONFIRM_RATE_PER_RESTAURANT: u32 = 240;
/// 64 KiB: a large real order (30 lines with a few modifiers and notes) is about 15 KiB.
pub const DEFAULT_ORDER_MAX_BYTES: usize = 64 * 1024;
/// 4 MiB per events page: hundreds of ordinary events, and at least 64 of the largest.
pub const DEFAULT_EVENTS_PAGE_MAX_BYTES: u64 = 4 * 1024 * 1024;
/// 20 restaurants per account: a chain owner with more asks for a higher limit.
pub const DEFAULT_MAX_RESTAURANTS_PER_OWNER: u32 = 20;

impl fmt::Debug for Config {
    // Hand-written so credentials in URLs never reach a log line (the secrets redact
    // themselves).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("database_max_connections", &self.database_max_connections)
            .field("amqp_url", &redact_url(&self.amqp_url))
            .field("listen_addr", &self.listen_addr)
            .field("exchange", &self.exchange)
            .field("jwt_secret", &self.jwt_secret)
            .field("ticket_private_key_pem", &self.ticket_private_key_pem)
            .field("event_retention", &self.event_retention)
            .field("log_format", &self.log_format)
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("notifier_public_url", &self.notifier_public_url)
            .field("web_dir", &self.web_dir)
            .field("login_limits", &self.login_limits)
            .field("metrics_addr", &self.metrics_addr)
            .field("confirm_rates", &self.confirm_rates)
            .field("order_max_bytes", &self.order_max_bytes)
            .field("events_page_max_bytes", &self.events_page_max_bytes)
            .field("max_restaurants_per_owner", &self.max_restaurants_per_owner)
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

    fn warnings(&self) -> Vec<&'static str> {
        if self.jwt_secret_generated {
            vec![
                "JWT_SECRET is not set: signing tokens with a random secret made at start. Tokens \
                 will not survive a restart nor work across instances; set JWT_SECRET for that.",
            ]
        } else {
            Vec::new()
        }
    }
}

impl Config {
    /// Reads the configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(lookup);
        let database_url = env.string("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kitchen");
        let postgres_scheme =
            database_url.starts_with("postgres://") || database_url.starts_with("postgresql://");
        if !postgres_scheme || PgConnectOptions::from_str(&database_url).is_err() {
            return Err(error(
                "DATABASE_URL",
                "expected postgres://user[:password]@host[:port]/database",
            ));
        }
        let database_max_connections: u32 = env.parse(
            "DATABASE_MAX_CONNECTIONS",
            20,
            "expected a whole number from 1 to 1000",
        )?;
        if !(1..=1000).contains(&database_max_connections) {
            return Err(error(
                "DATABASE_MAX_CONNECTIONS",
                "expected a whole number from 1 to 1000",
            ));
        }
        let listen_addr = env.parse(
            "LISTEN_ADDR",
            SocketAddr::from(([127, 0, 0, 1], 8080)),
            "expected host:port, e.g. 127.0.0.1:8080",
        )?;
        let (jwt_secret, jwt_secret_generated) = match env.get("JWT_SECRET") {
            Some(secret) => (SecretString::from(secret), false),
            None => (
                random_secret()
                    .ok_or_else(|| error("JWT_SECRET", "not set, and no randomness to make one"))?,
                true,
            ),
        };
        if jwt_secret.expose_secret().len() < 32 {
            return Err(error("JWT_SECRET", "must be at least 32 bytes long"));
        }
        if let Some(reason) = weak_secret(jwt_secret.expose_secret()) {
            return Err(error(
                "JWT_SECRET",
                format!("{reason}; make one with `openssl rand -hex 32`"),
            ));
        }
        let ticket_private_key_pem = env.get("TICKET_PRIVATE_KEY").map(SecretString::from);
        if let Some(pem) = &ticket_private_key_pem {
            crate::auth::tickets::TicketSigner::from_pem(pem.expose_secret())
                .map_err(|e| error("TICKET_PRIVATE_KEY", e.to_string()))?;
        }
        let retention_days: u64 = env.parse(
            "EVENT_RETENTION_DAYS",
            7,
            "expected a whole number of days, at least 7",
        )?;
        if retention_days < 7 {
            return Err(error(
                "EVENT_RETENTION_DAYS",
                "expected a whole number of days, at least 7",
            ));
        }
        let cors_allowed_origins = match env.get("CORS_ALLOWED_ORIGINS") {
            None => Vec::new(),
            Some(list) => parse_origins(&list).ok_or_else(|| {
                error(
                    "CORS_ALLOWED_ORIGINS",
                    "expected comma-separated origins such as https://kitchen.example.com",
                )
            })?,
        };
        let notifier_public_url = env.string("NOTIFIER_PUBLIC_URL", "ws://127.0.0.1:8081");
        let notifier_public_url = websocket_origin(&notifier_public_url)
            .map(|_| notifier_public_url.trim_end_matches('/').to_owned())
            .ok_or_else(|| {
                error(
                    "NOTIFIER_PUBLIC_URL",
                    "expected ws://host[:port] or wss://host[:port], as a browser reaches the notifier",
                )
            })?;
        let web_dir = env.get("WEB_DIR").map(PathBuf::from);
        if let Some(dir) = &web_dir
            && !dir.is_dir()
        {
            return Err(error("WEB_DIR", "expected a folder (order-service/web)"));
        }
        const RATE: &str = "expected a whole number of confirms per minute (0: no limit)";
        let confirm_rates = ConfirmRates {
            per_address: NonZeroU32::new(env.parse(
                "CONFIRM_RATE_PER_ADDRESS",
                DEFAULT_CONFIRM_RATE_PER_ADDRESS,
                RATE,
            )?),
            per_restaurant: NonZeroU32::new(env.parse(
                "CONFIRM_RATE_PER_RESTAURANT",
                DEFAULT_CONFIRM_RATE_PER_RESTAURANT,
                RATE,
            )?),
        };
        // Below 4 KiB not even a small order fits; above 16 MiB every copy (event, replay ring,
        // events page) is a burden again.
        const ORDER_BYTES: &str = "expected a whole number of bytes from 4096 to 16777216";
        let order_max_bytes: usize =
            env.parse("ORDER_MAX_BYTES", DEFAULT_ORDER_MAX_BYTES, ORDER_BYTES)?;
        if !(4096..=16 * 1024 * 1024).contains(&order_max_bytes) {
            return Err(error("ORDER_MAX_BYTES", ORDER_BYTES));
        }
        const PAGE_BYTES: &str = "expected a whole number of bytes from 65536 to 1073741824";
        let events_page_max_bytes: u64 = env.parse(
            "EVENTS_PAGE_MAX_BYTES",
            DEFAULT_EVENTS_PAGE_MAX_BYTES,
            PAGE_BYTES,
        )?;
        if !(64 * 1024..=1024 * 1024 * 1024).contains(&events_page_max_bytes) {
            return Err(error("EVENTS_PAGE_MAX_BYTES", PAGE_BYTES));
        }
        const RESTAURANTS: &str = "expected a whole number of restaurants, at least 1";
        let max_restaurants_per_owner: u32 = env.parse(
            "MAX_RESTAURANTS_PER_OWNER",
            DEFAULT_MAX_RESTAURANTS_PER_OWNER,
            RESTAURANTS,
        )?;
        if max_restaurants_per_owner == 0 {
            return Err(error("MAX_RESTAURANTS_PER_OWNER", RESTAURANTS));
        }
        Ok(Config {
            metrics_addr: env.metrics_addr()?,
            confirm_rates,
            order_max_bytes,
            events_page_max_bytes,
            max_restaurants_per_owner,
            database_url,
            database_max_connections,
            amqp_url: env.amqp_url()?,
            listen_addr,
            exchange: env.exchange()?,
            jwt_secret,
            jwt_secret_generated,
            ticket_private_key_pem,
            event_retention: Duration::from_secs(retention_days * 24 * 3600),
            log_format: env.log_format()?,
            cors_allowed_origins,
            header_read_timeout: env.header_read_timeout()?,
            notifier_public_url,
            web_dir,
            login_limits: LoginLimits::default(),
            outbox_poll_interval: Duration::from_secs(5),
        })
    }
}

/// The origin (`ws[s]://host[:port]`) of a WebSocket URL with a host and no credentials, as a
/// Content-Security-Policy names it; `None` if `url` is not one. A path is allowed (a notifier
/// behind a proxy under a prefix); a query is not, since the pages append their own path.
pub fn websocket_origin(url: &str) -> Option<String> {
    let uri = url.parse::<axum::http::Uri>().ok()?;
    let scheme = uri.scheme_str().filter(|s| matches!(*s, "ws" | "wss"))?;
    let authority = uri.authority()?;
    let valid =
        !authority.host().is_empty() && !authority.as_str().contains('@') && uri.query().is_none();
    valid.then(|| format!("{scheme}://{}", authority.as_str().to_ascii_lowercase()))
}

/// `scheme://host[:port]` origins, comma-separated; `None` if any is not one.
fn parse_origins(list: &str) -> Option<Vec<String>> {
    list.split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .map(|origin| {
            let uri = origin.parse::<axum::http::Uri>().ok()?;
            let is_origin = matches!(uri.scheme_str(), Some("http" | "https"))
                && uri.authority().is_some_and(|a| !a.as_str().contains('@'))
                && uri.path_and_query().is_none();
            is_origin.then(|| origin.to_owned())
        })
        .collect()
}

/// Why a configured secret is too easy to guess, if it is: a known example, too few distinct
/// characters, or under 128 bits by a per-character frequency estimate (which a random hex or
/// base64 string of 32 bytes passes easily and a repeated phrase does not).
fn weak_secret(secret: &str) -> Option<&'static str> {
    const EXAMPLES: [&str; 4] = ["change-me", "changeme", "change_me", "example"];
    let lower = secret.to_ascii_lowercase();
    if EXAMPLES.iter().any(|example| lower.contains(example)) {
        return Some("is an example value, which anyone can read");
    }
    let mut counts = [0usize; 256];
    for byte in secret.bytes() {
        counts[usize::from(byte)] += 1;
    }
    let distinct = counts.iter().filter(|count| **count > 0).count();
    if distinct < 10 {
        return Some("has too few distinct characters to be secret");
    }
    let length = secret.len() as f64;
    let bits_per_char: f64 = counts
        .iter()
        .filter(|count| **count > 0)
        .map(|count| {
            let p = *count as f64 / length;
            -p * p.log2()
        })
        .sum();
    if bits_per_char * length < 128.0 {
        return Some("is too predictable (under 128 bits)");
    }
    None
}

/// 32 random bytes as hex: a secret nobody else knows, for when none is configured.
fn random_secret() -> Option<SecretString> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into(),
    )
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
        assert_eq!(
            config.database_url,
            "postgres://postgres@127.0.0.1:5432/kitchen"
        );
        assert_eq!(config.amqp_url, "amqp://guest:guest@127.0.0.1:5672/%2f");
        assert_eq!(config.listen_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(config.exchange, "kitchen.events");
        assert_eq!(config.notifier_public_url, "ws://127.0.0.1:8081");
        assert!(config.web_dir.is_none(), "pages come from the binary");
        assert_eq!(config.metrics_addr, None, "/metrics on the main listener");
        assert_eq!(
            config.confirm_rates.per_address.map(NonZeroU32::get),
            Some(120)
        );
        assert_eq!(
            config.confirm_rates.per_restaurant.map(NonZeroU32::get),
            Some(240)
        );
        assert_eq!(config.order_max_bytes, 64 * 1024);
        assert_eq!(config.events_page_max_bytes, 4 * 1024 * 1024);
        assert_eq!(config.max_restaurants_per_owner, 20);
        assert!(config.jwt_secret_generated);
        assert_ne!(
            config.jwt_secret.expose_secret(),
            from(&[]).unwrap().jwt_secret.expose_secret(),
            "random per start"
        );
    }

    #[test]
    fn weak_jwt_secrets_are_refused_at_start() {
        for weak in [
            "a".repeat(64),
            "abababababababababababababababababababab".into(),
            "compose-development-secret-change-me-please".into(),
            "0123456789012345678901234567890123".into(),
        ] {
            let error = from(&[("JWT_SECRET", &weak)]).unwrap_err();
            assert_eq!(error.variable, "JWT_SECRET", "{weak}");
            assert!(
                !error.to_string().contains(&weak),
                "the secret is not echoed"
            );
        }
        let random = random_secret().unwrap();
        assert!(from(&[("JWT_SECRET", random.expose_secret())]).is_ok());
        assert!(
            from(&[(
                "JWT_SECRET",
                "integration-test-secret-integration-test-secret"
            )])
            .is_ok()
        );
    }

    #[test]
    fn malformed_values_name_their_variable() {
        for (name, value) in [
            ("LISTEN_ADDR", "nope"),
            ("DATABASE_URL", "mysql://x"),
            ("AMQP_URL", "http://x"),
            ("JWT_SECRET", "short"),
            ("EVENT_RETENTION_DAYS", "3"),
            ("LOG_FORMAT", "xml"),
            ("DATABASE_MAX_CONNECTIONS", "0"),
            ("CORS_ALLOWED_ORIGINS", "*"),
            ("HTTP_HEADER_TIMEOUT_SECS", "0"),
            ("NOTIFIER_PUBLIC_URL", "http://127.0.0.1:8081"),
            ("NOTIFIER_PUBLIC_URL", "ws://"),
            ("NOTIFIER_PUBLIC_URL", "127.0.0.1:8081"),
            ("NOTIFIER_PUBLIC_URL", "wss://user:secret@kitchen.example"),
            ("NOTIFIER_PUBLIC_URL", "ws://kitchen.example/?ticket=x"),
            ("WEB_DIR", "/no/such/folder"),
            ("METRICS_ADDR", "9090"),
            ("CONFIRM_RATE_PER_ADDRESS", "-1"),
            ("CONFIRM_RATE_PER_RESTAURANT", "lots"),
            ("ORDER_MAX_BYTES", "100"),
            ("EVENTS_PAGE_MAX_BYTES", "1"),
            ("MAX_RESTAURANTS_PER_OWNER", "0"),
            ("CORS_ALLOWED_ORIGINS", "https://a.example/path"),
            (
                "TICKET_PRIVATE_KEY",
                "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----",
            ),
        ] {
            let error = from(&[(name, value)]).unwrap_err();
            assert_eq!(error.variable, name);
            assert!(error.to_string().starts_with(&format!("invalid {name}: ")));
            assert!(!error.to_string().contains('\n'));
        }
    }

    #[test]
    fn zero_turns_a_confirm_rate_off_and_metrics_may_listen_apart() {
        let config = from(&[
            ("CONFIRM_RATE_PER_ADDRESS", "0"),
            ("CONFIRM_RATE_PER_RESTAURANT", "0"),
            ("METRICS_ADDR", "127.0.0.1:9090"),
        ])
        .unwrap();
        assert_eq!(config.confirm_rates.per_address, None);
        assert_eq!(config.confirm_rates.per_restaurant, None);
        assert_eq!(
            config.metrics_addr,
            Some(SocketAddr::from(([127, 0, 0, 1], 9090)))
        );
    }

    #[test]
    fn the_notifier_url_is_kept_and_its_origin_is_what_a_csp_names() {
        let config = from(&[(
            "NOTIFIER_PUBLIC_URL",
            "wss://Kitchen.Example:8443/notifier/",
        )])
        .unwrap();
        assert_eq!(
            config.notifier_public_url, "wss://Kitchen.Example:8443/notifier",
            "without the trailing slash, so the pages can append their path"
        );
        assert_eq!(
            websocket_origin(&config.notifier_public_url).as_deref(),
            Some("wss://kitchen.example:8443")
        );
        assert_eq!(
            websocket_origin("ws://127.0.0.1:8081").as_deref(),
            Some("ws://127.0.0.1:8081")
        );
        assert_eq!(websocket_origin("https://kitchen.example"), None);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let config = from(&[
            ("DATABASE_URL", "postgres://app:hunter2@db/kitchen"),
            ("JWT_SECRET", "a-very-long-secret-value-that-is-secret"),
        ])
        .unwrap();
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("a-very-long-secret"),
            "{shown}"
        );
        assert!(!shown.contains("guest:guest"), "{shown}");
    }
}
