//! An events exchange of the test's own, deleted when the test is done, and a tap on it: a queue
//! of the test's own, bound with a pattern, to check what was published exactly as a
//! third-party consumer would see it.

use std::time::Duration;

use futures_util::StreamExt;
use lapin::{
    Connection, ConnectionProperties, Consumer,
    message::Delivery,
    options::{BasicConsumeOptions, ExchangeDeleteOptions, QueueBindOptions},
    types::FieldTable,
};

pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// Every test exchange's name starts with this and a dot.
pub const EXCHANGE_PREFIX: &str = "test.kitchen";
/// Every tap queue's name starts with this and a dot.
pub const TAP_PREFIX: &str = "test-tap";

/// The name of an exchange of the test's own, `test.kitchen.<uuid>`, so parallel tests never
/// hear each other's events. Whoever uses it first declares it (both services do on start);
/// it is deleted when the test is done (see [`crate::cleanup`]), bindings and all.
pub struct TestExchange {
    pub name: String,
}

impl TestExchange {
    pub fn new() -> Self {
        Self {
            name: crate::cleanup::unique_name(EXCHANGE_PREFIX, '.'),
        }
    }
}

impl Default for TestExchange {
    fn default() -> Self {
        Self::new()
    }
}

impl std::ops::Deref for TestExchange {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}

impl Drop for TestExchange {
    fn drop(&mut self) {
        let name = self.name.clone();
        crate::cleanup::remove_later(format!("exchange {name}"), move || delete_exchange(name));
    }
}

/// Deletes `name` (a missing one is no error to RabbitMQ).
pub async fn delete_exchange(name: String) -> Result<(), String> {
    let connection = Connection::connect(AMQP_URL, ConnectionProperties::default())
        .await
        .map_err(|error| error.to_string())?;
    let deleted = async {
        let channel = connection.create_channel().await?;
        channel
            .exchange_delete(name.as_str().into(), ExchangeDeleteOptions::default())
            .await
    }
    .await
    .map_err(|error| error.to_string());
    let _ = connection.close(200, "test done".into()).await;
    deleted
}

pub struct ExchangeTap {
    _connection: Connection,
    consumer: Consumer,
}

impl ExchangeTap {
    /// Binds a fresh exclusive queue to `exchange` (declared if missing) with `pattern`. Being
    /// exclusive, the queue goes with the tap's connection (when the tap is dropped, at the
    /// latest when the test process ends), so no test leaves one behind.
    pub async fn bind(exchange: &str, pattern: &str) -> Self {
        Self::bind_at(AMQP_URL, exchange, pattern).await
    }

    /// As [`ExchangeTap::bind`], on the broker at `amqp_url`.
    pub async fn bind_at(amqp_url: &str, exchange: &str, pattern: &str) -> Self {
        let connection = Connection::connect(amqp_url, ConnectionProperties::default())
            .await
            .expect("broker reachable");
        let channel = connection.create_channel().await.unwrap();
        service_common::amqp::declare_exchange(&channel, exchange)
            .await
            .unwrap();
        let queue = crate::cleanup::unique_name(TAP_PREFIX, '.');
        service_common::amqp::declare_connection_queue(&channel, &queue)
            .await
            .unwrap();
        channel
            .queue_bind(
                queue.as_str().into(),
                exchange.into(),
                pattern.into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let consumer = channel
            .basic_consume(
                queue.as_str().into(),
                "".into(),
                BasicConsumeOptions {
                    no_ack: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await
            .unwrap();
        Self {
            _connection: connection,
            consumer,
        }
    }

    /// The next message; fails the test after `limit` without one.
    pub async fn next_within(&mut self, limit: Duration) -> Delivery {
        tokio::time::timeout(limit, self.consumer.next())
            .await
            .expect("a message in time")
            .expect("consumer open")
            .expect("delivery")
    }

    /// The next message, or `None` after `limit` without one.
    pub async fn try_next_within(&mut self, limit: Duration) -> Option<Delivery> {
        let next = tokio::time::timeout(limit, self.consumer.next())
            .await
            .ok()?;
        Some(next.expect("consumer open").expect("delivery"))
    }

    pub async fn next(&mut self) -> Delivery {
        self.next_within(Duration::from_secs(20)).await
    }
}
