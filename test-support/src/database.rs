//! A PostgreSQL database of a test's own: a fresh name on the local server (the service under
//! test creates and migrates it), dropped when the test is done (see [`crate::cleanup`]).

use std::str::FromStr;

use sqlx::{
    ConnectOptions, Connection,
    postgres::{PgConnectOptions, PgConnection},
};

pub const SERVER: &str = "postgres://postgres@127.0.0.1:5432";

/// Every test database's name starts with this.
pub const PREFIX: &str = "kitchen_test";

pub struct TestDatabase {
    pub name: String,
}

impl TestDatabase {
    pub fn new() -> Self {
        Self {
            name: crate::cleanup::unique_name(PREFIX, '_'),
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
        let name = self.name.clone();
        crate::cleanup::remove_later(format!("database {name}"), move || drop_database(name));
    }
}

/// `DROP DATABASE … WITH (FORCE)`: sessions a service left open do not keep it.
pub async fn drop_database(name: String) -> Result<(), String> {
    let options = PgConnectOptions::from_str(&format!("{SERVER}/postgres"))
        .map_err(|error| error.to_string())?
        .disable_statement_logging();
    let mut admin = PgConnection::connect_with(&options)
        .await
        .map_err(|error| error.to_string())?;
    let statement = format!(
        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
        name.replace('"', "\"\"")
    );
    let dropped = sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
        .execute(&mut admin)
        .await
        .map(drop)
        .map_err(|error| error.to_string());
    let _ = admin.close().await;
    dropped
}
