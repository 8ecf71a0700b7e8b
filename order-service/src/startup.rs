//! Builds the service from its configuration: database (created and migrated if missing),
//! listener, router and background tasks.

use std::{future::Future, str::FromStr, sync::Arc, time::Duration};

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::{
    ConnectOptions, Connection, PgPool,
    postgres::{PgConnectOptions, PgConnection, PgPoolOptions, PgSslMode},
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::{password::PasswordHasher, tickets::TicketSigner, tokens::TokenKeys},
    config::Config,
    domain::rate_limit::ConfirmLimits,
    events::{
        relay::{self, RelaySettings},
        wake::{self, OutboxWake},
    },
    routes::{self, pages::Pages},
    state::{AppState, Caps},
    storage,
    storage::{
        line_ids::{self, LineIds},
        menu_cache::{self, MenuCache},
        order_cache::{self, OrderCache},
    },
};

pub struct Application {
    listener: TcpListener,
    /// `/metrics` alone, when `METRICS_ADDR` is set.
    metrics_listener: Option<TcpListener>,
    state: AppState,
    config: Config,
    relay: RelaySettings,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        service_common::metrics::install();
        let db = connect_database(&config).await?;
        let listener = service_common::net::listen(config.listen_addr)
            .with_context(|| format!("cannot listen on {}", config.listen_addr))?;
        let hashing_threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let tickets = match &config.ticket_private_key_pem {
            Some(pem) => TicketSigner::from_pem(pem.expose_secret())?,
            None => {
                tracing::warn!(
                    "TICKET_PRIVATE_KEY is not set: signing kitchen tickets with a key generated at \
                     start. Fine for one instance; several instances need one shared key."
                );
                TicketSigner::generate()?
            }
        };
        let state = AppState {
            db,
            tokens: Arc::new(TokenKeys::new(config.jwt_secret.expose_secret())),
            passwords: PasswordHasher::new(hashing_threads),
            tickets: Arc::new(tickets),
            pages: Arc::new(Pages::new(
                &config.notifier_public_url,
                config.web_dir.clone(),
            )?),
            login_limits: config.login_limits,
            confirm_limits: Arc::new(ConfirmLimits::new(
                config.confirm_rates.per_address,
                config.confirm_rates.per_restaurant,
            )),
            caps: Caps {
                order_max_bytes: config.order_max_bytes,
                events_page_max_bytes: config.events_page_max_bytes,
                max_restaurants_per_owner: config.max_restaurants_per_owner,
            },
            outbox: OutboxWake::new(),
            orders: Arc::new(OrderCache::new(order_cache::DEFAULT_CAPACITY)),
            menus: Arc::new(MenuCache::new(
                menu_cache::DEFAULT_RESTAURANTS,
                menu_cache::DEFAULT_ENTRIES_PER_RESTAURANT,
                menu_cache::DEFAULT_BUDGET_BYTES,
            )),
            line_ids: Arc::new(LineIds::new(line_ids::DEFAULT_BLOCK)),
            metrics_on_main_listener: config.metrics_addr.is_none(),
        };
        let metrics_listener = service_common::net::listen_metrics(config.metrics_addr)?;
        let mut relay = RelaySettings::new(&config.amqp_url, &config.exchange)
            .map_err(|why| anyhow::anyhow!("AMQP_URL: {why}"))?;
        relay.poll_interval = config.outbox_poll_interval;
        Ok(Self {
            listener,
            metrics_listener,
            state,
            config,
            relay,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The port `/metrics` is served on when `METRICS_ADDR` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_listener
            .as_ref()
            .and_then(|listener| listener.local_addr().ok())
            .map(|addr| addr.port())
    }

    pub fn db(&self) -> &PgPool {
        &self.state.db
    }

    /// The password hasher, whose count of verifications tests read.
    pub fn passwords(&self) -> &PasswordHasher {
        &self.state.passwords
    }

    /// Serves until `shutdown` resolves, then stops accepting, finishes in-flight requests and
    /// stops the background tasks.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let stop = CancellationToken::new();
        let pruner = tokio::spawn(storage::events::run_pruner(
            self.state.db.clone(),
            self.config.event_retention,
            stop.clone(),
        ));
        let auth_pruner = tokio::spawn(crate::auth::run_pruner(
            self.state.db.clone(),
            self.config.login_limits.window,
            stop.clone(),
        ));
        let relay = tokio::spawn(relay::run(
            self.state.db.clone(),
            self.relay.clone(),
            self.state.outbox.clone(),
            stop.clone(),
        ));
        let wake_forwarder = tokio::spawn(wake::run_forwarder(
            self.state.db.connect_options().as_ref().clone(),
            self.state.outbox.clone(),
            stop.clone(),
        ));
        let router = routes::router(self.state.clone(), &self.config.cors_allowed_origins);
        let local = self.listener.local_addr()?;
        tracing::info!(%local, "order-service listening");
        let stopping = CancellationToken::new();
        let metrics_server = self.metrics_listener.map(|listener| {
            tokio::spawn(service_common::metrics::serve_alone(
                listener,
                stopping.clone(),
                self.config.header_read_timeout,
            ))
        });
        let served = service_common::net::serve(
            self.listener,
            router,
            {
                let stopping = stopping.clone();
                async move {
                    shutdown.await;
                    stopping.cancel();
                }
            },
            self.config.header_read_timeout,
        )
        .await;
        stopping.cancel();
        if let Some(metrics_server) = metrics_server {
            let _ = metrics_server.await;
        }
        // In-flight requests are done; let the relay finish its batch, then stop.
        stop.cancel();
        let bounded = Duration::from_secs(10);
        if tokio::time::timeout(bounded, relay).await.is_err() {
            tracing::warn!(
                "the outbox relay did not stop in time; its rows stay for the next relay"
            );
        }
        let _ = tokio::time::timeout(bounded, wake_forwarder).await;
        let _ = tokio::time::timeout(bounded, pruner).await;
        let _ = tokio::time::timeout(bounded, auth_pruner).await;
        self.state.db.close().await;
        served.context("server failed")
    }
}

/// Whether the database is on this machine (a loopback address or a Unix socket) and neither
/// `DATABASE_URL` nor `PGSSLMODE` asks for a TLS mode: sqlx would then try TLS first
/// (`prefer`), which encrypts traffic that never leaves the machine.
fn tls_is_pointless(database_url: &str, pgsslmode_set: bool) -> bool {
    let Ok(options) = PgConnectOptions::from_str(database_url) else {
        return false;
    };
    // Any TLS parameter (`sslmode`, sqlx's `ssl-mode`, a root certificate, …) is a choice.
    let query = database_url.split_once('?').map_or("", |(_, query)| query);
    let mode_asked = query.to_ascii_lowercase().contains("ssl") || pgsslmode_set;
    let host = options.get_host();
    let local = host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    local && !mode_asked
}

/// Connects to `DATABASE_URL`, creating the database if it does not exist yet, and applies the
/// migrations. Retries for a while, so the service may start before PostgreSQL is ready.
pub async fn connect_database(config: &Config) -> anyhow::Result<PgPool> {
    let mut options =
        PgConnectOptions::from_str(&config.database_url).context("invalid DATABASE_URL")?;
    if tls_is_pointless(
        &config.database_url,
        std::env::var_os("PGSSLMODE").is_some(),
    ) {
        // TLS over loopback protects nothing and cost 5-10 % of throughput (docs/BENCHMARKS.md).
        tracing::info!(
            "the database is on this machine: connecting without TLS (set sslmode to choose)"
        );
        options = options.ssl_mode(PgSslMode::Disable);
    }
    let options = options
        .log_statements(tracing::log::LevelFilter::Debug)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
    let mut delay = Duration::from_millis(250);
    let mut attempt = 1;
    loop {
        match create_database_if_missing(&options).await {
            Ok(()) => break,
            Err(error) if attempt < 10 => {
                tracing::warn!(
                    attempt,
                    error = format!("{error:#}"),
                    "database not reachable yet; retrying"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
                attempt += 1;
            }
            Err(error) => return Err(error.context("database not reachable")),
        }
    }
    let pool = PgPoolOptions::new()
        .max_connections(config.database_max_connections)
        .min_connections(1)
        // Short: a request waiting this long for a connection answers 503 instead of hanging.
        .acquire_timeout(Duration::from_secs(3))
        .connect_with(options)
        .await
        .context("cannot connect to the database")?;
    sqlx::migrate!("../migrations")
        .run(&pool)
        .await
        .context("cannot apply migrations")?;
    Ok(pool)
}

async fn create_database_if_missing(options: &PgConnectOptions) -> anyhow::Result<()> {
    let database = options.get_database().unwrap_or("postgres").to_owned();
    match PgConnection::connect_with(options).await {
        Ok(connection) => {
            let _ = connection.close().await;
            return Ok(());
        }
        // 3D000: invalid_catalog_name, the database does not exist.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("3D000") => {}
        Err(e) => return Err(e.into()),
    }
    let mut admin = PgConnection::connect_with(&options.clone().database("postgres")).await?;
    let statement = format!("CREATE DATABASE \"{}\"", database.replace('"', "\"\""));
    match sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
        .execute(&mut admin)
        .await
    {
        Ok(_) => tracing::info!(database, "created database"),
        // 42P04: duplicate_database, another instance created it first.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => {}
        Err(e) => return Err(e.into()),
    }
    let _ = admin.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::tls_is_pointless;

    #[test]
    fn tls_is_left_out_only_on_this_machine_and_when_no_mode_is_asked_for() {
        for local in [
            "postgres://postgres@127.0.0.1:5432/kitchen",
            "postgres://postgres@localhost/kitchen",
            "postgres://postgres@[::1]:5432/kitchen",
            "postgres://postgres@127.0.0.2/kitchen",
            "postgres:///kitchen?host=/var/run/postgresql",
        ] {
            assert!(tls_is_pointless(local, false), "{local}");
            assert!(!tls_is_pointless(local, true), "{local} with PGSSLMODE");
        }
        for remote_or_asked in [
            "postgres://postgres@db.internal:5432/kitchen",
            "postgres://postgres@10.0.0.5/kitchen",
            "postgres://postgres@127.0.0.1/kitchen?sslmode=require",
            "postgres://postgres@localhost/kitchen?SSLMODE=prefer",
            "postgres://postgres@127.0.0.1/kitchen?ssl-mode=verify-full",
            "postgres://postgres@127.0.0.1/kitchen?sslrootcert=/etc/ca.pem",
        ] {
            assert!(
                !tls_is_pointless(remote_or_asked, false),
                "{remote_or_asked}"
            );
        }
    }
}
