//! Logging setup: `RUST_LOG` filters (default `info`), `LOG_FORMAT=json` gives JSON lines.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::env::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,lapin=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    // A second init (tests start many services in one process) keeps the first subscriber.
    let _ = match format {
        LogFormat::Json => registry
            .with(fmt::layer().json().flatten_event(true))
            .try_init(),
        LogFormat::Text => registry.with(fmt::layer()).try_init(),
    };
}
