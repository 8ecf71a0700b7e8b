//! Plumbing shared by `order-service` and `kitchen-notifier`, so both behave alike at start,
//! in their logs, on reconnects and on shutdown.

pub mod amqp;
pub mod backoff;
pub mod env;
pub mod healthcheck;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod net;
pub mod process;
pub mod shutdown;
pub mod telemetry;
pub mod timer;
