//! A PostgreSQL database of a test's own: a fresh name on the local server (the service under
//! test creates and migrates it), dropped when the test is done.

use std::str::FromStr;

use sqlx::{
    ConnectOptions, Connection,
    postgres::{PgConnectOptions, PgConnection},
};
use uuid::Uuid;

pub const SERVER: &str = "postgres://postgres@127.0.0.1:5432";

pub struct TestDatabase {
    pub name: String,
}

impl TestDatabase {
    pub fn new() -> Self {
        Self {
            name: format!("kitchen_test_{}", Uuid::new_v4().simple()),
        }
    }

    pub fn url(&self) -> String {
        format!("{SERVER}/{}", self.name)
    }
}

impl Default for TestDatabase {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop cannot await: do it on a thread with a runtime of its own.
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                let Ok(options) = PgConnectOptions::from_str(&format!("{SERVER}/postgres")) else {
                    return;
                };
                if let Ok(mut admin) =
                    PgConnection::connect_with(&options.disable_statement_logging()).await
                {
                    let statement = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
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
