//! Support code for the integration tests of both services.

pub mod api;
pub mod proxy;

pub use proxy::TcpProxy;
