//! Starts the system for a test: order-service instances on a database of the test's own,
//! kitchen-notifier instances that fetch the ticket key from order-service, all on one
//! exchange of the test's own.

use std::{sync::LazyLock, time::Duration};

use kitchen_notifier::config::Tuning;
use sqlx::PgPool;
use test_support::{
    amqp::TestExchange, api::ApiClient, database::TestDatabase, wait_until, ws::Client,
};

static LOGS: LazyLock<()> = LazyLock::new(|| {
    if std::env::var("TEST_LOG").is_ok() {
        service_common::logging::init(service_common::env::LogFormat::Text);
    }
});

pub const JWT_SECRET: &str = "end-to-end-test-secret-end-to-end-test-secret";

/// Its exchange and database are removed when the test is done (see `test_support::cleanup`).
pub struct System {
    pub exchange: TestExchange,
    pub database: TestDatabase,
    pub db: Option<PgPool>,
}

impl System {
    pub fn new() -> Self {
        LazyLock::force(&LOGS);
        Self {
            exchange: TestExchange::new(),
            database: TestDatabase::new(),
            db: None,
        }
    }

    pub fn order_service_config(&self) -> order_service::config::Config {
        let mut config = order_service::config::Config::from_lookup(|_| None).unwrap();
        config.database_url = self.database.url();
        config.listen_addr = "127.0.0.1:0".parse().unwrap();
        config.exchange = self.exchange.name.clone();
        config.jwt_secret = JWT_SECRET.into();
        config.database_max_connections = 10;
        config
    }

    /// An order-service in this runtime.
    pub async fn order_service(&mut self) -> OrderService {
        self.order_service_with(|_| {}).await
    }

    pub async fn order_service_with(
        &mut self,
        adjust: impl FnOnce(&mut order_service::config::Config),
    ) -> OrderService {
        let mut config = self.order_service_config();
        adjust(&mut config);
        let app = order_service::startup::Application::build(config)
            .await
            .expect("order-service starts");
        let api = ApiClient::new(format!("http://127.0.0.1:{}", app.port()));
        self.db.get_or_insert_with(|| app.db().clone());
        let server = tokio::spawn(async move {
            let _ = app.run_until(std::future::pending()).await;
        });
        OrderService {
            api,
            _server: server,
        }
    }

    /// A kitchen-notifier in this runtime, getting its ticket key from `keys_from`.
    pub async fn notifier(&self, keys_from: &ApiClient) -> Notifier {
        self.notifier_fetching_keys_from(&keys_from.base).await
    }

    /// A kitchen-notifier that fetches its ticket key from `order_service_url`.
    pub async fn notifier_fetching_keys_from(&self, order_service_url: &str) -> Notifier {
        self.notifier_with(order_service_url, |_| {}).await
    }

    pub async fn notifier_with(
        &self,
        order_service_url: &str,
        tune: impl FnOnce(&mut Tuning),
    ) -> Notifier {
        let mut config = self.notifier_config(order_service_url);
        tune(&mut config.tuning);
        Self::notifier_from(config).await
    }

    /// The configuration of a notifier on this test's exchange, on a free port.
    pub fn notifier_config(&self, order_service_url: &str) -> kitchen_notifier::config::Config {
        let mut config = kitchen_notifier::config::Config::from_lookup(|_| None).unwrap();
        config.listen_addr = "127.0.0.1:0".parse().unwrap();
        config.exchange = self.exchange.name.clone();
        config.order_service_url = order_service_url.to_owned();
        config.tuning = Tuning {
            unbind_grace: Duration::from_millis(500),
            ..Tuning::default()
        };
        config
    }

    /// A kitchen-notifier in this runtime, started from `config`, once it is ready.
    pub async fn notifier_from(config: kitchen_notifier::config::Config) -> Notifier {
        let app = kitchen_notifier::startup::Application::build(config)
            .await
            .expect("notifier starts");
        let port = app.port();
        let server = tokio::spawn(async move {
            let _ = app.run_until(std::future::pending()).await;
        });
        let notifier = Notifier {
            port,
            _server: server,
        };
        wait_until(
            "the notifier to be ready",
            Duration::from_secs(20),
            || async {
                reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
                    .await
                    .is_ok_and(|r| r.status().as_u16() == 200)
            },
        )
        .await;
        notifier
    }

    pub fn db(&self) -> &PgPool {
        self.db.as_ref().expect("an order-service was started")
    }
}

pub struct OrderService {
    pub api: ApiClient,
    _server: tokio::task::JoinHandle<()>,
}

impl Drop for OrderService {
    fn drop(&mut self) {
        self._server.abort();
    }
}

pub struct Notifier {
    pub port: u16,
    _server: tokio::task::JoinHandle<()>,
}

impl Notifier {
    pub async fn connect(&self, slug: &str, ticket: &str, after: Option<i64>) -> Client {
        let after = after.map(|seq| format!("&after={seq}")).unwrap_or_default();
        Client::connect(&format!(
            "ws://127.0.0.1:{}/ws/kitchen/{slug}/?ticket={ticket}{after}",
            self.port
        ))
        .await
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self._server.abort();
    }
}

/// An order-service on a thread and runtime of its own, so a test can kill it the way a crash
/// would: every task stops and every connection drops at once, nothing shuts down gracefully.
pub struct Killable {
    kill: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Killable {
    pub fn start(config: order_service::config::Config) -> Self {
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (kill, killed) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let app = order_service::startup::Application::build(config)
                    .await
                    .unwrap();
                let _ = port_tx.send(app.port());
                tokio::select! {
                    _ = app.run_until(std::future::pending()) => {}
                    _ = killed => {}
                }
            });
            runtime.shutdown_background();
        });
        port_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("instance started");
        Self {
            kill: Some(kill),
            thread: Some(thread),
        }
    }

    pub fn kill(&mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Killable {
    fn drop(&mut self) {
        self.kill();
    }
}

/// How many sessions hold the relay's advisory lock (0 or 1).
pub async fn relay_leaders(db: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(db)
    .await
    .unwrap()
}
