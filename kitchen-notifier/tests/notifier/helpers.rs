//! Starts a kitchen-notifier in-process on port 0 with an exchange of its own and a ticket key
//! pair made here; the test itself plays the outbox relay (publishing events to the exchange)
//! and the kitchen screens (WebSocket clients).

use std::{sync::LazyLock, time::Duration};

use ed25519_dalek::{
    SigningKey,
    pkcs8::{EncodePrivateKey, EncodePublicKey, spki::der::pem::LineEnding},
};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use kitchen_notifier::{
    config::{Config, LogFormat, Tuning},
    startup::Application,
    state::AppState,
};
use lapin::{
    BasicProperties, Channel, Connection, ConnectionProperties,
    options::{BasicPublishOptions, ConfirmSelectOptions},
};
use serde_json::{Value, json};
use uuid::Uuid;

use test_support::amqp::TestExchange;
pub use test_support::{
    wait_until,
    ws::{Client, Received},
};

pub const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

static LOGS: LazyLock<()> = LazyLock::new(|| {
    if std::env::var("TEST_LOG").is_ok() {
        service_common::logging::init(LogFormat::Text);
    }
});

pub struct TicketKeys {
    encoding: EncodingKey,
    pub public_pem: String,
}

impl TicketKeys {
    pub fn generate() -> Self {
        let seed: [u8; 32] = [*Uuid::new_v4().as_bytes(), *Uuid::new_v4().as_bytes()]
            .concat()
            .try_into()
            .unwrap();
        let signing = SigningKey::from_bytes(&seed);
        let private_pem = signing.to_pkcs8_pem(LineEnding::LF).unwrap();
        Self {
            encoding: EncodingKey::from_ed_pem(private_pem.as_bytes()).unwrap(),
            public_pem: signing
                .verifying_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap(),
        }
    }

    /// A ticket for `slug` that expires `ttl_secs` from now (negative: already expired).
    pub fn ticket_with_ttl(&self, slug: &str, ttl_secs: i64) -> String {
        let now = chrono::Utc::now().timestamp();
        self.ticket_issued(slug, Uuid::new_v4(), now, now + ttl_secs)
    }

    /// A ticket of `user` for `slug`, issued now.
    pub fn ticket_of(&self, slug: &str, user: Uuid) -> String {
        let now = chrono::Utc::now().timestamp();
        self.ticket_issued(slug, user, now, now + 60)
    }

    /// A ticket of `user` for `slug` with the given `iat` and `exp` (Unix seconds).
    pub fn ticket_issued(&self, slug: &str, user: Uuid, iat: i64, exp: i64) -> String {
        let claims =
            json!({"sub": user, "slug": slug, "aud": "kitchen-ws", "iat": iat, "exp": exp});
        encode(&Header::new(Algorithm::EdDSA), &claims, &self.encoding).unwrap()
    }

    pub fn ticket(&self, slug: &str) -> String {
        self.ticket_with_ttl(slug, 60)
    }

    /// A ticket for `slug` whose header names its key as `kid`, as order-service's do.
    pub fn ticket_named(&self, slug: &str, kid: &str) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({"sub": Uuid::new_v4(), "slug": slug, "aud": "kitchen-ws",
            "iat": now, "exp": now + 60});
        let header = Header {
            kid: Some(kid.to_owned()),
            ..Header::new(Algorithm::EdDSA)
        };
        encode(&header, &claims, &self.encoding).unwrap()
    }
}

pub struct TestNotifier {
    pub port: u16,
    pub exchange: String,
    pub keys: TicketKeys,
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// Where `/metrics` is served when `METRICS_ADDR` is set.
    pub metrics_port: Option<u16>,
    /// Deleted when the test is done (see `test_support::cleanup`).
    _exchange: TestExchange,
}

pub fn fast_tuning() -> Tuning {
    Tuning {
        unbind_grace: Duration::from_millis(200),
        gap_wait: Duration::from_millis(300),
        ..Tuning::default()
    }
}

pub async fn spawn_notifier() -> TestNotifier {
    spawn_notifier_with(|_| {}).await
}

pub async fn spawn_notifier_with(adjust: impl FnOnce(&mut Config)) -> TestNotifier {
    LazyLock::force(&LOGS);
    let keys = TicketKeys::generate();
    let exchange = TestExchange::new();
    let mut config = Config::from_lookup(|_| None).unwrap();
    config.listen_addr = "127.0.0.1:0".parse().unwrap();
    config.exchange = exchange.name.clone();
    config.ticket_public_key_pem = Some(keys.public_pem.clone());
    config.tuning = fast_tuning();
    adjust(&mut config);
    let app = Application::build(config).await.unwrap();
    let port = app.port();
    let metrics_port = app.metrics_port();
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    let notifier = TestNotifier {
        port,
        exchange: exchange.name.clone(),
        keys,
        state,
        stop: Some(stop),
        server,
        metrics_port,
        _exchange: exchange,
    };
    notifier.wait_ready().await;
    notifier
}

impl TestNotifier {
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn socket_url(&self, slug: &str, query: &str) -> String {
        format!("ws://127.0.0.1:{}/ws/kitchen/{slug}/{query}", self.port)
    }

    pub async fn readyz(&self) -> u16 {
        reqwest::get(format!("{}/readyz", self.base()))
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Polls `/readyz` until 200 (the broker link is up), for at most 20 s.
    pub async fn wait_ready(&self) {
        wait_until("notifier ready", Duration::from_secs(20), || async {
            self.readyz().await == 200
        })
        .await;
    }

    /// A client of `slug` with a valid ticket; panics if the handshake fails.
    pub async fn connect(&self, slug: &str) -> Client {
        self.connect_query(slug, &format!("?ticket={}", self.keys.ticket(slug)))
            .await
    }

    /// A client of `slug` with a ticket of `user`; panics if the handshake fails.
    pub async fn connect_as(&self, slug: &str, user: Uuid) -> Client {
        self.connect_query(
            slug,
            &format!("?ticket={}", self.keys.ticket_of(slug, user)),
        )
        .await
    }

    pub async fn connect_query(&self, slug: &str, query: &str) -> Client {
        let (stream, response) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(self.socket_url(slug, query)),
        )
        .await
        .expect("handshake within 10 s")
        .expect("handshake succeeds");
        assert_eq!(response.status().as_u16(), 101);
        Client::new(stream)
    }

    /// Attempts a handshake that must be refused; returns the status and JSON body.
    pub async fn refused(&self, slug: &str, query: &str) -> (u16, Value) {
        let attempt = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(self.socket_url(slug, query)),
        );
        match attempt.await.expect("handshake answered within 10 s") {
            Ok(_) => panic!("handshake unexpectedly succeeded"),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let status = response.status().as_u16();
                let body = response
                    .body()
                    .as_ref()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or(Value::Null);
                (status, body)
            }
            Err(other) => panic!("unexpected handshake error: {other}"),
        }
    }

    pub async fn publisher(&self) -> EventPublisher {
        EventPublisher::connect(&self.exchange).await
    }

    /// Stops the notifier as SIGTERM would, and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let server = std::mem::replace(&mut self.server, tokio::spawn(async { Ok(()) }));
        server.await.unwrap().unwrap();
    }
}

impl Drop for TestNotifier {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Plays order-service's relay: publishes events to the test's exchange.
pub struct EventPublisher {
    _connection: Connection,
    channel: Channel,
    exchange: String,
}

impl EventPublisher {
    pub async fn connect(exchange: &str) -> Self {
        let connection = Connection::connect(AMQP_URL, ConnectionProperties::default())
            .await
            .unwrap();
        let channel = connection.create_channel().await.unwrap();
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .unwrap();
        service_common::amqp::declare_exchange(&channel, exchange)
            .await
            .unwrap();
        Self {
            _connection: connection,
            channel,
            exchange: exchange.to_owned(),
        }
    }

    pub async fn publish(&self, event: &Value) {
        let routing_key = format!(
            "orders.{}.{}",
            event["restaurant"].as_str().unwrap(),
            event["order"]["status"].as_str().unwrap()
        );
        self.publish_raw(&routing_key, &serde_json::to_vec(event).unwrap())
            .await;
    }

    pub async fn publish_raw(&self, routing_key: &str, body: &[u8]) {
        let confirm = self
            .channel
            .basic_publish(
                self.exchange.as_str().into(),
                routing_key.into(),
                BasicPublishOptions::default(),
                body,
                BasicProperties::default().with_content_type("application/json".into()),
            )
            .await
            .unwrap();
        assert!(confirm.await.unwrap().is_ack());
    }
}

/// An event as order-service publishes it (the Order with the kitchen floor's fields).
pub fn event(slug: &str, seq: i64, status: &str) -> Value {
    event_with_padding(slug, seq, status, 0)
}

/// An event whose order has `lines` lines with long special requests, to make big frames.
pub fn event_with_padding(slug: &str, seq: i64, status: &str, lines: usize) -> Value {
    let now = chrono::Utc::now();
    let items: Vec<Value> = (0..lines.max(1))
        .map(|i| {
            json!({"id": i, "menu_item_id": 12, "name": "Pizza", "variant_label": "Large", "variant_price": "14.99",
                   "quantity": 2, "special_requests": if lines > 0 { "x".repeat(500) } else { "well done".into() },
                   "modifiers": [{"id": 3, "name": "Extra Cheese", "price_adjustment": "2.00"}],
                   "station": null, "done_at": null})
        })
        .collect();
    json!({
        "event_id": Uuid::new_v4(),
        "event": if status == "confirmed" { "order.confirmed" } else { "order.status_changed" },
        "seq": seq,
        "occurred_at": now,
        "restaurant": slug,
        "order": {
            "id": Uuid::new_v4(), "restaurant": slug, "status": status, "version": 1,
            "table_identifier": "5", "total_price": "33.98", "language": "en",
            "created_at": now, "updated_at": now, "items": items,
            "rush": false, "recalled_at": null, "status_changed_at": now, "ready_at": null,
            "completed_at": null
        }
    })
}

/// A `staff.removed` as order-service publishes it: `user` is no longer staff of `slug`.
pub fn staff_removed(slug: &str, user: Uuid) -> Value {
    json!({
        "event": "staff.removed",
        "event_id": Uuid::new_v4(),
        "restaurant": slug,
        "user_id": user,
        "occurred_at": chrono::Utc::now(),
    })
}
