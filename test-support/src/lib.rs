//! Support code for the integration tests of both services.

pub mod proxy;

pub use proxy::TcpProxy;
