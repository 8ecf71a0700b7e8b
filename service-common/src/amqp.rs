use lapin::uri::AMQPUri;

/// Heartbeat used when `AMQP_URL` does not set one: a stalled broker link is noticed after
/// about two heartbeats instead of RabbitMQ's default of a minute or more.
pub const DEFAULT_HEARTBEAT_SECS: u16 = 10;
pub const DEFAULT_CONNECT_TIMEOUT_MS: u64 = 5_000;

/// Parses an AMQP URL, adding the default heartbeat and connection timeout where it has none.
pub fn uri(url: &str) -> Result<AMQPUri, String> {
    let mut uri: AMQPUri = url.parse()?;
    uri.query.heartbeat.get_or_insert(DEFAULT_HEARTBEAT_SECS);
    uri.query
        .connection_timeout
        .get_or_insert(DEFAULT_CONNECT_TIMEOUT_MS);
    Ok(uri)
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

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_explicit_heartbeat() {
        assert_eq!(
            super::uri("amqp://h/%2f?heartbeat=3")
                .unwrap()
                .query
                .heartbeat,
            Some(3)
        );
        assert_eq!(
            super::uri("amqp://h/%2f").unwrap().query.heartbeat,
            Some(10)
        );
        assert!(super::uri("http://h").is_err());
    }
}
