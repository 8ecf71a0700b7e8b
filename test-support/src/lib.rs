//! Support code for the integration tests of both services.

pub mod api;
pub mod database;
pub mod proxy;

pub use proxy::TcpProxy;
