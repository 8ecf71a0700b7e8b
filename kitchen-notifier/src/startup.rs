use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    broker::Broker, config::Config, hub::Hub, routes, state::AppState, tickets::TicketVerifier,
};

/// How long sockets get to say goodbye on shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

pub struct Application {
    listener: TcpListener,
    /// `/metrics` alone, when `METRICS_ADDR` is set.
    metrics_listener: Option<TcpListener>,
    state: AppState,
    header_read_timeout: Duration,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        service_common::metrics::install();
        let listener = service_common::net::listen(config.listen_addr)
            .with_context(|| format!("cannot listen on {}", config.listen_addr))?;
        let broker = Broker::new(&config.amqp_url, &config.exchange, &config.queue_name())
            .map_err(|why| anyhow::anyhow!("AMQP_URL: {why}"))?;
        let hub = Hub::new(broker.clone(), config.tuning.clone());
        if config.fetches_ticket_key_in_the_clear() {
            tracing::warn!(
                order_service_url = %config.order_service_url,
                "the ticket key is fetched over plain http from another host: whoever can answer \
                 that request can mint tickets; set TICKET_PUBLIC_KEY or use an https \
                 ORDER_SERVICE_URL"
            );
        }
        let tickets = TicketVerifier::new(
            config.ticket_public_key_pem.as_deref(),
            &config.order_service_url,
            config.order_service_ca_file.as_deref(),
            config.tuning.ticket_key_refetch_interval,
        )
        .context("cannot set up ticket verification (TICKET_PUBLIC_KEY, ORDER_SERVICE_CA_FILE)")?;
        let metrics_listener = config
            .metrics_addr
            .map(|addr| {
                service_common::net::listen(addr)
                    .with_context(|| format!("cannot listen on METRICS_ADDR {addr}"))
            })
            .transpose()?;
        Ok(Self {
            listener,
            metrics_listener,
            header_read_timeout: config.header_read_timeout,
            state: AppState {
                hub,
                broker,
                tickets: Arc::new(tickets),
                tuning: config.tuning,
                sockets: TaskTracker::new(),
                shutdown: CancellationToken::new(),
                connected_sockets: Default::default(),
            },
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

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown`, then closes every socket with 1001 and stops the broker link.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state;
        let background = CancellationToken::new();
        let broker = tokio::spawn(
            state
                .broker
                .clone()
                .run(state.hub.clone(), background.clone()),
        );
        let hub = state.hub.clone();
        let key = tokio::spawn(state.tickets.clone().fetch_until_loaded(background.clone()));
        let stop_sockets = state.shutdown.clone();
        let sockets = state.sockets.clone();
        tracing::info!(local = %self.listener.local_addr()?, queue = state.broker.queue(), "kitchen-notifier listening");
        let router = routes::router(state, self.metrics_listener.is_none());
        let stop_metrics = CancellationToken::new();
        let metrics_server = self.metrics_listener.map(|listener| {
            tokio::spawn(service_common::metrics::serve_alone(
                listener,
                stop_metrics.clone(),
                self.header_read_timeout,
            ))
        });
        let served = service_common::net::serve(
            self.listener,
            router,
            async move {
                shutdown.await;
                // The HTTP server does not see upgraded connections: close them ourselves.
                stop_sockets.cancel();
            },
            self.header_read_timeout,
        )
        .await;
        stop_metrics.cancel();
        if let Some(metrics_server) = metrics_server {
            let _ = metrics_server.await;
        }
        sockets.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, sockets.wait())
            .await
            .is_err()
        {
            tracing::warn!("some sockets did not close in time");
        }
        background.cancel();
        hub.stop().await;
        let _ = broker.await;
        let _ = key.await;
        served.context("server failed")
    }
}
