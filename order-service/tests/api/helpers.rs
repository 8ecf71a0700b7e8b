//! Starts an order-service in-process on port 0 against the local PostgreSQL, with a database
//! of its own that is dropped afterwards, and speaks to it over real HTTP.

use std::{str::FromStr, sync::LazyLock};

use order_service::{
    auth::tokens::{TokenKeys, TokenKind, unix_now},
    config::{Config, LogFormat},
    startup::Application,
};
use sqlx::{
    ConnectOptions, Connection, PgPool,
    postgres::{PgConnectOptions, PgConnection},
};
use uuid::Uuid;

pub use test_support::api::{ApiClient, Kitchen};

pub const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const JWT_SECRET: &str = "integration-test-secret-integration-test-secret";

static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var("TEST_LOG").is_ok() {
        order_service::telemetry::init(LogFormat::Text);
    }
});

pub struct TestApp {
    pub api: ApiClient,
    pub db: PgPool,
    pub database: String,
    pub config: Config,
    _server: tokio::task::JoinHandle<()>,
}

pub fn test_config(database: &str) -> Config {
    let mut config = Config::from_lookup(|_| None).expect("default config");
    config.database_url = format!("postgres://postgres@127.0.0.1:5432/{database}");
    config.listen_addr = "127.0.0.1:0".parse().unwrap();
    config.jwt_secret = JWT_SECRET.into();
    config.database_max_connections = 10;
    // An exchange of its own, so parallel tests never hear each other's events.
    config.exchange = format!("test.kitchen.{database}");
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns the app after `adjust` has had its say on the configuration (a proxied database
/// URL, say). The database name is fresh, so the service creates and migrates it.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    LazyLock::force(&TRACING);
    let database = format!("kitchen_test_{}", Uuid::new_v4().simple());
    let mut config = test_config(&database);
    adjust(&mut config);
    let app = Application::build(config.clone())
        .await
        .expect("app builds");
    let port = app.port();
    let db = app.db().clone();
    let server = tokio::spawn(async move {
        let _ = app.run_until(std::future::pending()).await;
    });
    TestApp {
        api: ApiClient::new(format!("http://127.0.0.1:{port}")),
        db,
        database,
        config,
        _server: server,
    }
}

impl std::ops::Deref for TestApp {
    type Target = ApiClient;
    fn deref(&self) -> &ApiClient {
        &self.api
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Drop the test database from a thread of its own: Drop cannot await.
        let database = self.database.clone();
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                let options = PgConnectOptions::from_str(ADMIN_URL)
                    .unwrap()
                    .disable_statement_logging();
                if let Ok(mut admin) = PgConnection::connect_with(&options).await {
                    let statement = format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                        .execute(&mut admin)
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

pub async fn kitchen(app: &TestApp, slug: &str) -> Kitchen {
    app.api.kitchen(slug).await
}

pub fn expired_access_token(user: Uuid) -> String {
    let now = unix_now();
    TokenKeys::new(JWT_SECRET)
        .issue_with_expiry(user, TokenKind::Access, now - 3600, now - 1800)
        .unwrap()
}
