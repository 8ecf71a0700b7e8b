//! `--broker-tap`: a queue of loadgen's own on the events exchange, so a run can tell how far
//! along the way to the screen an event's time goes: from order-service's decision to the
//! event's stamp in the database, and from that stamp to the message at a broker consumer.
//! (The frame's arrival is measured on the kitchen sockets; see `bookkeeping`.) Everything
//! runs on one machine, so the services' clocks and loadgen's are the same clock.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use anyhow::Context;
use futures_util::StreamExt;
use lapin::{
    Channel, Connection, ConnectionProperties, Consumer,
    options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions},
    types::FieldTable,
};
use serde::{Deserialize, Serialize};

use crate::bookkeeping::{lock, micros_between, wall_time};
use crate::stats::{Histogram, Summary};

/// The two times of an event message this measures from.
#[derive(Deserialize)]
struct Message {
    occurred_at: String,
    order: MessageOrder,
}

#[derive(Deserialize)]
struct MessageOrder {
    updated_at: String,
}

#[derive(Default)]
struct Hops {
    decided_to_stamped: Histogram,
    stamped_to_broker: Histogram,
    decided_to_broker: Histogram,
    unreadable: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct TapReport {
    /// From the order's `updated_at` (decided in order-service) to the event's `occurred_at`
    /// (stamped in the write statement, under the restaurant's lock, before its commit).
    pub decided_to_stamped: Summary,
    /// From that stamp to the message at loadgen's queue: the commit, the relay's wake, its
    /// read, the publish and the broker's routing.
    pub stamped_to_broker: Summary,
    pub decided_to_broker: Summary,
    pub unreadable: u64,
}

/// Every order event on `exchange`, through an exclusive, auto-deleted queue of the broker's
/// naming that goes with the channel's connection. Deliveries need no ack: a measuring
/// consumer that lags should not slow the broker's other queues.
pub async fn order_events(channel: &Channel, exchange: &str) -> anyhow::Result<Consumer> {
    let queue = channel
        .queue_declare(
            "".into(),
            QueueDeclareOptions {
                exclusive: true,
                auto_delete: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    channel
        .queue_bind(
            queue.name().as_str().into(),
            exchange.into(),
            "orders.#".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let consumer = channel
        .basic_consume(
            queue.name().as_str().into(),
            "".into(),
            BasicConsumeOptions {
                no_ack: true,
                ..Default::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok(consumer)
}

pub struct BrokerTap {
    connection: Connection,
    hops: Arc<Mutex<Hops>>,
    consumer: tokio::task::JoinHandle<()>,
}

impl BrokerTap {
    /// Binds an exclusive, auto-deleted queue to `exchange` for every order event; it goes
    /// with the connection.
    pub async fn start(amqp_url: &str, exchange: &str) -> anyhow::Result<Self> {
        let connection = Connection::connect(amqp_url, ConnectionProperties::default())
            .await
            .with_context(|| "--broker-tap: cannot reach the broker")?;
        let channel = connection.create_channel().await?;
        let mut deliveries = order_events(&channel, exchange)
            .await
            .with_context(|| format!("--broker-tap: no exchange {exchange}"))?;
        let hops = Arc::new(Mutex::new(Hops::default()));
        let recorded = hops.clone();
        let consumer = tokio::spawn(async move {
            while let Some(Ok(delivery)) = deliveries.next().await {
                let at = SystemTime::now();
                let times = serde_json::from_slice::<Message>(&delivery.data)
                    .ok()
                    .and_then(|m| {
                        Some((wall_time(&m.order.updated_at)?, wall_time(&m.occurred_at)?))
                    });
                let mut hops = lock(&recorded);
                match times {
                    Some((decided, stamped)) => {
                        hops.decided_to_stamped
                            .record(micros_between(decided, stamped));
                        hops.stamped_to_broker.record(micros_between(stamped, at));
                        hops.decided_to_broker.record(micros_between(decided, at));
                    }
                    None => hops.unreadable += 1,
                }
            }
        });
        Ok(Self {
            connection,
            hops,
            consumer,
        })
    }

    /// What it measured; the queue goes with the connection.
    pub async fn finish(self) -> TapReport {
        self.consumer.abort();
        let _ = self.connection.close(200, "run done".into()).await;
        let hops = lock(&self.hops);
        TapReport {
            decided_to_stamped: hops.decided_to_stamped.summary(),
            stamped_to_broker: hops.stamped_to_broker.summary(),
            decided_to_broker: hops.decided_to_broker.summary(),
            unreadable: hops.unreadable,
        }
    }
}
