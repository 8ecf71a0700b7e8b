//! A confirmed-publish channel to the `kitchen.events` topic exchange.

use std::time::Duration;

use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties,
    options::{BasicPublishOptions, ConfirmSelectOptions},
    types::FieldTable,
};
use service_common::amqp::{BrokerNodes, bounded};

pub struct Publisher {
    connection: Connection,
    channel: Channel,
    exchange: String,
}

/// One message to publish.
pub struct Outgoing<'a> {
    pub event_id: String,
    pub routing_key: &'a str,
    pub body: &'a [u8],
    /// AMQP headers: the W3C trace context.
    pub headers: FieldTable,
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error("the broker did not confirm within {0:?}")]
    ConfirmTimeout(Duration),
    #[error("the broker refused (nacked) a message")]
    Nacked,
    #[error("cannot connect: {0}")]
    Connect(#[from] service_common::amqp::ConnectError),
}

impl Publisher {
    /// Connects to the first of `nodes` that answers (each tried once, each bounded).
    pub async fn connect(
        nodes: &BrokerNodes,
        exchange: &str,
        name: &str,
    ) -> Result<Self, PublishError> {
        let properties = ConnectionProperties::default().with_connection_name(name.into());
        let (connection, node) = nodes.connect(properties).await?;
        tracing::debug!(%node, "outbox relay connected");
        let channel = bounded(connection.create_channel()).await?;
        bounded(channel.confirm_select(ConfirmSelectOptions::default())).await?;
        bounded(service_common::amqp::declare_exchange(&channel, exchange)).await?;
        Ok(Self {
            connection,
            channel,
            exchange: exchange.to_owned(),
        })
    }

    pub fn is_connected(&self) -> bool {
        self.connection.status().connected() && self.channel.status().connected()
    }

    /// Publishes `messages` in order, pipelined, then awaits their confirms. Returns how many of
    /// them, from the first, the broker confirmed; an error says why the rest were not.
    pub async fn publish_batch(
        &self,
        messages: &[Outgoing<'_>],
        timeout: Duration,
    ) -> (usize, Option<PublishError>) {
        let mut pending = Vec::with_capacity(messages.len());
        let mut failure = None;
        for message in messages {
            let headers = message.headers.clone();
            let properties = BasicProperties::default()
                .with_content_type("application/json".into())
                .with_delivery_mode(2)
                .with_message_id(message.event_id.as_str().into())
                .with_headers(headers);
            let sent = bounded(self.channel.basic_publish(
                self.exchange.as_str().into(),
                message.routing_key.into(),
                BasicPublishOptions::default(),
                message.body,
                properties,
            ));
            match sent.await {
                Ok(confirm) => pending.push(confirm),
                Err(error) => {
                    failure = Some(PublishError::Broker(error));
                    break;
                }
            }
        }
        let mut confirmed = 0;
        let deadline = tokio::time::Instant::now() + timeout;
        for confirm in pending {
            match tokio::time::timeout_at(deadline, confirm).await {
                Ok(Ok(confirmation)) if confirmation.is_ack() => confirmed += 1,
                Ok(Ok(_)) => {
                    failure.get_or_insert(PublishError::Nacked);
                    break;
                }
                Ok(Err(error)) => {
                    failure.get_or_insert(PublishError::Broker(error));
                    break;
                }
                Err(_) => {
                    failure.get_or_insert(PublishError::ConfirmTimeout(timeout));
                    break;
                }
            }
        }
        (confirmed, failure)
    }

    pub async fn close(self) {
        let _ = bounded(self.channel.close(200, "bye".into())).await;
        let _ = bounded(self.connection.close(200, "bye".into())).await;
    }
}
