//! Starts an order-service in-process on port 0 against the local PostgreSQL, with a database
//! and an exchange of its own that are removed afterwards, and speaks to it over real HTTP.

use std::sync::{Arc, LazyLock};

use order_service::{
    auth::{
        password::PasswordHasher,
        tokens::{TokenKeys, TokenKind, unix_now},
    },
    config::{Config, LogFormat},
    startup::Application,
};
use sqlx::PgPool;
use test_support::{amqp::TestExchange, database::TestDatabase};

pub use test_support::api::{ApiClient, Kitchen};

pub const JWT_SECRET: &str = "integration-test-secret-integration-test-secret";

static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var("TEST_LOG").is_ok() {
        let _ = order_service::telemetry::init(LogFormat::Text);
    }
});

pub struct TestApp {
    pub api: ApiClient,
    pub db: PgPool,
    pub config: Config,
    /// The app's password hasher: tests count its verifications.
    pub passwords: PasswordHasher,
    /// Where `/metrics` is served when `METRICS_ADDR` is set.
    pub metrics_port: Option<u16>,
    /// Removed when the test is done (see `test_support::cleanup`); shared by the instances
    /// started with [`TestApp::another_instance`].
    database: Arc<TestDatabase>,
    exchange: Arc<TestExchange>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub fn test_config(database_url: &str, exchange: &str) -> Config {
    let mut config = Config::from_lookup(|_| None).expect("default config");
    config.database_url = database_url.to_owned();
    config.listen_addr = "127.0.0.1:0".parse().unwrap();
    config.jwt_secret = JWT_SECRET.into();
    config.database_max_connections = 10;
    // An exchange of its own, so parallel tests never hear each other's events.
    config.exchange = exchange.to_owned();
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns the app after `adjust` has had its say on the configuration (a proxied database
/// URL, say). The database name is fresh, so the service creates and migrates it.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    LazyLock::force(&TRACING);
    let database = Arc::new(TestDatabase::new());
    let exchange = Arc::new(TestExchange::new());
    let mut config = test_config(&database.url(), &exchange);
    adjust(&mut config);
    start(config, database, exchange).await
}

async fn start(
    config: Config,
    database: Arc<TestDatabase>,
    exchange: Arc<TestExchange>,
) -> TestApp {
    let app = Application::build(config.clone())
        .await
        .expect("app builds");
    let port = app.port();
    let metrics_port = app.metrics_port();
    let db = app.db().clone();
    let passwords = app.passwords().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    TestApp {
        api: ApiClient::new(format!("http://127.0.0.1:{port}")),
        db,
        passwords,
        metrics_port,
        database,
        exchange,
        config,
        stop: Some(stop),
        server: Some(server),
    }
}

impl TestApp {
    /// Another order-service instance with this one's configuration, so on the same database
    /// (and exchange), as replicas behind a load balancer are.
    pub async fn another_instance(&self) -> TestApp {
        let mut config = self.config.clone();
        config.listen_addr = "127.0.0.1:0".parse().unwrap();
        start(config, self.database.clone(), self.exchange.clone()).await
    }

    /// Signals shutdown without waiting for it.
    pub fn request_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Stops the service as SIGTERM would; resolves when it has finished shutting down.
    pub async fn shutdown(&mut self) -> anyhow::Result<()> {
        self.request_stop();
        match self.server.take() {
            Some(server) => server.await?,
            None => Ok(()),
        }
    }
}

impl std::ops::Deref for TestApp {
    type Target = ApiClient;
    fn deref(&self) -> &ApiClient {
        &self.api
    }
}

/// How many rows `table` has.
pub async fn count_rows(app: &TestApp, table: &str) -> i64 {
    let sql = format!("SELECT count(*) FROM {table}");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(&app.db)
        .await
        .unwrap()
}

pub async fn kitchen(app: &TestApp, slug: &str) -> Kitchen {
    app.api.kitchen(slug).await
}

pub fn expired_access_token(user: uuid::Uuid) -> String {
    let now = unix_now();
    TokenKeys::new(JWT_SECRET)
        .issue_with_expiry(user, TokenKind::Access, now - 3600, now - 1800)
        .unwrap()
}
