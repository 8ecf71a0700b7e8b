//! A tap on the events exchange: a queue of the test's own, bound with a pattern, to check what
//! was published exactly as a third-party consumer would see it.

use std::time::Duration;

use futures_util::StreamExt;
use lapin::{
    Connection, ConnectionProperties, Consumer,
    message::Delivery,
    options::{BasicConsumeOptions, QueueBindOptions, QueueDeclareOptions},
    types::FieldTable,
};

pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

pub struct ExchangeTap {
    _connection: Connection,
    consumer: Consumer,
}

impl ExchangeTap {
    /// Binds a fresh exclusive queue to `exchange` (declared if missing) with `pattern`.
    pub async fn bind(exchange: &str, pattern: &str) -> Self {
        let connection = Connection::connect(AMQP_URL, ConnectionProperties::default())
            .await
            .expect("broker reachable");
        let channel = connection.create_channel().await.unwrap();
        service_common::amqp::declare_exchange(&channel, exchange)
            .await
            .unwrap();
        let queue = format!("test-tap.{}", uuid::Uuid::new_v4().simple());
        channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions {
                    exclusive: true,
                    auto_delete: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
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

    pub async fn next(&mut self) -> Delivery {
        self.next_within(Duration::from_secs(20)).await
    }
}
