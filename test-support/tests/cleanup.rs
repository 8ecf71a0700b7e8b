//! A test's exchange and database are gone once its runtime has ended, whether the test passed
//! or panicked.

use std::{future::Future, str::FromStr};

use lapin::{
    Connection, ConnectionProperties, ExchangeKind, options::ExchangeDeclareOptions,
    types::FieldTable,
};
use sqlx::{
    Connection as _,
    postgres::{PgConnectOptions, PgConnection},
};
use test_support::{
    amqp::{AMQP_URL, TestExchange},
    database::{SERVER, TestDatabase},
};

/// Runs `test` as `#[tokio::test]` does: on a runtime that is dropped when it returns or panics.
/// Returns what it returned, or `None` if it panicked.
fn as_a_test<T: Send + 'static>(test: impl Future<Output = T> + Send + 'static) -> Option<T> {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(test)
    })
    .join()
    .ok()
}

async fn exchange_exists(name: &str) -> bool {
    let connection = Connection::connect(AMQP_URL, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    let passive = ExchangeDeclareOptions {
        passive: true,
        durable: true,
        ..Default::default()
    };
    let exists = channel
        .exchange_declare(
            name.into(),
            ExchangeKind::Topic,
            passive,
            FieldTable::default(),
        )
        .await
        .is_ok();
    let _ = connection.close(200, "done".into()).await;
    exists
}

async fn declare(exchange: &TestExchange) {
    let connection = Connection::connect(AMQP_URL, ConnectionProperties::default())
        .await
        .unwrap();
    let channel = connection.create_channel().await.unwrap();
    service_common::amqp::declare_exchange(&channel, exchange)
        .await
        .unwrap();
    // Left open, as a service's would be when the test ends.
    std::mem::forget(connection);
}

async fn admin() -> PgConnection {
    PgConnection::connect_with(&PgConnectOptions::from_str(&format!("{SERVER}/postgres")).unwrap())
        .await
        .unwrap()
}

async fn database_exists(name: &str) -> bool {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&mut admin().await)
        .await
        .unwrap()
}

/// Creates the database and keeps a session on it open, as a service under test would.
async fn create(database: &TestDatabase) -> PgConnection {
    let statement = format!("CREATE DATABASE \"{}\"", database.name);
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
        .execute(&mut admin().await)
        .await
        .unwrap();
    PgConnection::connect(&database.url()).await.unwrap()
}

#[test]
fn the_exchange_and_database_of_a_passing_test_are_removed() {
    let (exchange, database) = as_a_test(async {
        let exchange = TestExchange::new();
        declare(&exchange).await;
        assert!(exchange_exists(&exchange).await);
        let database = TestDatabase::new();
        let session = create(&database).await;
        assert!(database_exists(&database.name).await);
        // The service's session outlives the guard, as a task would.
        tokio::spawn(async move {
            let _session = session;
            std::future::pending::<()>().await;
        });
        (exchange.name.clone(), database.name.clone())
    })
    .expect("the test passes");
    assert!(exchange.starts_with("test.kitchen."), "{exchange}");
    assert!(database.starts_with("kitchen_test_"), "{database}");
    let (exchange_left, database_left) = as_a_test(async move {
        (
            exchange_exists(&exchange).await,
            database_exists(&database).await,
        )
    })
    .unwrap();
    assert!(!exchange_left, "the exchange is still there");
    assert!(!database_left, "the database is still there");
}

#[test]
fn the_exchange_and_database_of_a_failing_test_are_removed() {
    let (names, named) = std::sync::mpsc::channel();
    let outcome = as_a_test(async move {
        let exchange = TestExchange::new();
        declare(&exchange).await;
        let database = TestDatabase::new();
        let _session = create(&database).await;
        names
            .send((exchange.name.clone(), database.name.clone()))
            .unwrap();
        panic!("the test fails");
    });
    assert!(outcome.is_none(), "the test panicked");
    let (exchange, database) = named.recv().unwrap();
    let (exchange_left, database_left) = as_a_test(async move {
        (
            exchange_exists(&exchange).await,
            database_exists(&database).await,
        )
    })
    .unwrap();
    assert!(!exchange_left, "the exchange is still there");
    assert!(!database_left, "the database is still there");
}

#[test]
fn outside_a_runtime_the_guard_removes_at_once() {
    let exchange = TestExchange::new();
    let name = exchange.name.clone();
    as_a_test(async move {
        declare(&exchange).await;
        // Moved out of the runtime: dropped below, on a plain thread.
        exchange
    })
    .map(drop)
    .unwrap();
    assert!(!as_a_test(async move { exchange_exists(&name).await }).unwrap());
}
