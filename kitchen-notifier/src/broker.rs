//! The notifier's link to RabbitMQ: one exclusive, auto-delete queue named after the instance,
//! bound to `orders.{slug}.*` (order events) and `staff.{slug}.*` (staff removals) for each
//! watched restaurant. On losing the broker it reports
//! not-ready, reconnects with capped, jittered backoff, re-declares the queue, re-binds every
//! watched restaurant and then tells every client to resync.

use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use futures_util::{StreamExt, future::BoxFuture};
use lapin::{
    Channel, Connection, ConnectionProperties, Consumer,
    options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions, QueueBindOptions},
    types::FieldTable,
};
use service_common::amqp::{BrokerNodes, bounded};
use shared_types::Slug;
use tokio_util::sync::CancellationToken;

use crate::link::{BindError, BrokerLink, Ingested, LinkEvents};

/// Routing keys of messages about a restaurant's staff start with this (`staff.{slug}.removed`);
/// every other key this queue is bound to is an order event's.
const STAFF_PREFIX: &str = "staff.";

pub struct Broker {
    /// The broker's nodes; every connect and reconnect goes round them.
    nodes: BrokerNodes,
    exchange: String,
    /// `kitchen-notifier.<instance>.<connection>`: a fresh name per connection, so a reconnect
    /// never waits for the broker to reap the previous connection's exclusive queue.
    queue_prefix: String,
    queue: Mutex<String>,
    connection_name: String,
    channel: Mutex<Option<Channel>>,
    connected: AtomicBool,
    reconnects: AtomicU64,
    /// The restaurants bound, to bind again on a new connection's queue. Its lock also
    /// serializes bind, unbind and re-bind on the channel.
    bindings: tokio::sync::Mutex<HashSet<Slug>>,
}

impl Broker {
    /// `amqp_url`: `AMQP_URL`, one URI or several comma-separated.
    pub fn new(amqp_url: &str, exchange: &str, queue: &str) -> Result<Arc<Self>, String> {
        Ok(Arc::new(Self {
            nodes: BrokerNodes::parse(amqp_url)?,
            exchange: exchange.to_owned(),
            queue_prefix: queue.to_owned(),
            queue: Mutex::new(queue.to_owned()),
            connection_name: format!("kitchen-notifier ({queue})"),
            channel: Mutex::new(None),
            connected: AtomicBool::new(false),
            reconnects: AtomicU64::new(0),
            bindings: tokio::sync::Mutex::new(HashSet::new()),
        }))
    }

    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::SeqCst)
    }

    /// The current queue's name.
    pub fn queue(&self) -> String {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn channel(&self) -> Option<Channel> {
        self.channel
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The binding keys of one restaurant: its order events and its staff messages. Both are
    /// bound before a subscriber's handshake completes, and unbound together.
    fn binding_keys(slug: &Slug) -> [String; 2] {
        [
            format!("orders.{slug}.*"),
            format!("{STAFF_PREFIX}{slug}.*"),
        ]
    }

    async fn bind_on(&self, channel: &Channel, slug: &Slug) -> Result<(), lapin::Error> {
        for key in Self::binding_keys(slug) {
            bounded(channel.queue_bind(
                self.queue().as_str().into(),
                self.exchange.as_str().into(),
                key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            ))
            .await?;
        }
        Ok(())
    }

    async fn bind_slug(&self, slug: &Slug) -> Result<(), BindError> {
        let mut bindings = self.bindings.lock().await;
        let channel = self.channel().ok_or(BindError::Disconnected)?;
        self.bind_on(&channel, slug)
            .await
            .map_err(|error| BindError::Failed(error.to_string()))?;
        bindings.insert(slug.clone());
        Ok(())
    }

    async fn unbind_slug(&self, slug: &Slug) -> Result<(), BindError> {
        let mut bindings = self.bindings.lock().await;
        bindings.remove(slug);
        // Without a connection there is no queue, so nothing to unbind.
        let Some(channel) = self.channel() else {
            return Ok(());
        };
        for key in Self::binding_keys(slug) {
            bounded(channel.queue_unbind(
                self.queue().as_str().into(),
                self.exchange.as_str().into(),
                key.as_str().into(),
                FieldTable::default(),
            ))
            .await
            .map_err(|error| BindError::Failed(error.to_string()))?;
        }
        Ok(())
    }

    async fn connect(&self) -> anyhow::Result<(Connection, Channel, Consumer)> {
        let properties = ConnectionProperties::default()
            .with_connection_name(self.connection_name.as_str().into());
        // Each node once, each bounded; a lost node's successor is tried first, so the new
        // queue (exclusive, so on the node connected to) lands on a live node.
        let (connection, node) = self.nodes.connect(properties).await?;
        tracing::info!(%node, "broker connection open");
        let channel = bounded(connection.create_channel()).await?;
        let generation = self.reconnects.load(Ordering::Relaxed);
        let queue = format!("{}.{generation}", self.queue_prefix);
        *self.queue.lock().unwrap_or_else(PoisonError::into_inner) = queue.clone();
        bounded(channel.basic_qos(512, BasicQosOptions::default())).await?;
        bounded(service_common::amqp::declare_exchange(
            &channel,
            &self.exchange,
        ))
        .await?;
        bounded(service_common::amqp::declare_connection_queue(
            &channel, &queue,
        ))
        .await?;
        let consumer = bounded(channel.basic_consume(
            queue.as_str().into(),
            format!("{queue}-consumer").as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        ))
        .await?;
        Ok((connection, channel, consumer))
    }

    /// Keeps the link up until `stop`, handing every delivery to `events`.
    pub async fn run(self: Arc<Self>, events: Arc<dyn LinkEvents>, stop: CancellationToken) {
        let mut failures = 0u32;
        loop {
            if stop.is_cancelled() {
                return;
            }
            match self.connect().await {
                Ok((connection, channel, consumer)) => {
                    failures = 0;
                    let rebound = self.rebind_all(&channel).await;
                    if let Err(error) = rebound {
                        tracing::warn!(%error, "re-binding failed; reconnecting");
                        let _ = bounded(connection.close(200, "rebind failed".into())).await;
                    } else {
                        // Events may have passed while the link was down (no-op on the first
                        // connection: no one is subscribed yet).
                        events.restored();
                        tracing::info!(queue = %self.queue(), "connected to the broker");
                        self.consume(consumer, events.as_ref(), &stop).await;
                        self.connected.store(false, Ordering::SeqCst);
                        metrics::gauge!("broker_connected").set(0.0);
                        *self.channel.lock().unwrap_or_else(PoisonError::into_inner) = None;
                        if stop.is_cancelled() {
                            let _ = bounded(connection.close(200, "shutting down".into())).await;
                            return;
                        }
                        self.reconnects.fetch_add(1, Ordering::Relaxed);
                        metrics::counter!("broker_reconnects_total", "service" => "kitchen-notifier").increment(1);
                        tracing::warn!("lost the broker connection; reconnecting");
                    }
                }
                Err(error) => {
                    failures += 1;
                    self.reconnects.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        error = format!("{error:#}"),
                        attempt = failures,
                        "cannot connect to the broker"
                    );
                }
            }
            let wait = service_common::backoff::backoff(
                failures,
                Duration::from_millis(200),
                Duration::from_secs(10),
            );
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Binds every bound restaurant on the new channel, then makes it the current one.
    async fn rebind_all(&self, channel: &Channel) -> Result<(), lapin::Error> {
        let bindings = self.bindings.lock().await;
        for slug in bindings.iter() {
            self.bind_on(channel, slug).await?;
        }
        *self.channel.lock().unwrap_or_else(PoisonError::into_inner) = Some(channel.clone());
        self.connected.store(true, Ordering::SeqCst);
        metrics::gauge!("broker_connected").set(1.0);
        Ok(())
    }

    async fn consume(
        &self,
        mut consumer: Consumer,
        events: &dyn LinkEvents,
        stop: &CancellationToken,
    ) {
        loop {
            let next = tokio::select! {
                _ = stop.cancelled() => return,
                next = consumer.next() => next,
            };
            match next {
                Some(Ok(delivery)) => {
                    // Continues the trace of the request that made the change.
                    let span = tracing::info_span!(
                        "kitchen event consume",
                        otel.name = %format!("{} process", delivery.routing_key),
                        otel.kind = "consumer",
                        messaging.system = "rabbitmq",
                        messaging.rabbitmq.destination.routing_key = %delivery.routing_key,
                    );
                    service_common::telemetry::set_parent(
                        &span,
                        service_common::telemetry::context_from_amqp(
                            delivery.properties.headers().as_ref(),
                        ),
                    );
                    let staff = delivery.routing_key.as_str().starts_with(STAFF_PREFIX);
                    let ingested = span.in_scope(|| {
                        if staff {
                            events.deliver_staff(&delivery.data)
                        } else {
                            events.deliver(&delivery.data)
                        }
                    });
                    metrics::counter!("events_consumed_total", "outcome" => ingested.as_str())
                        .increment(1);
                    if ingested == Ingested::Malformed {
                        tracing::warn!(routing_key = %delivery.routing_key, "dropped a malformed event");
                    }
                    if let Err(error) = bounded(delivery.ack(BasicAckOptions::default())).await {
                        tracing::warn!(%error, "ack failed");
                        return;
                    }
                }
                Some(Err(error)) => {
                    tracing::warn!(%error, "consumer failed");
                    return;
                }
                None => return,
            }
        }
    }
}

impl BrokerLink for Broker {
    fn bind<'a>(&'a self, slug: &'a Slug) -> BoxFuture<'a, Result<(), BindError>> {
        Box::pin(self.bind_slug(slug))
    }

    fn unbind<'a>(&'a self, slug: &'a Slug) -> BoxFuture<'a, Result<(), BindError>> {
        Box::pin(self.unbind_slug(slug))
    }
}
