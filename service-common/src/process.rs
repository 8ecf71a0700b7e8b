//! What both services' `main` does around their own start-up, so they start, log and stop
//! alike: answer the `healthcheck` subcommand, read the configuration (exit 2 on a bad value,
//! before anything else happens), install logging and tracing, run until SIGTERM or Ctrl-C,
//! flush the traces, and exit 1 if the service failed.

use std::{fmt, future::Future, net::SocketAddr};

use crate::env::{ConfigError, LogFormat};

/// A service's configuration, as `run` needs it.
pub trait ServiceConfig: fmt::Debug + Sized {
    /// Reads the configuration through `lookup`, so tests need not touch the process
    /// environment.
    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError>;

    fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn listen_addr(&self) -> SocketAddr;
    fn log_format(&self) -> LogFormat;
    /// Said once logging is up: settings that work but are not fit for production.
    fn warnings(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

/// Runs the service `name`: `serve` gets the configuration and returns when the service has
/// stopped (on `crate::shutdown::signal()`, or failing).
pub async fn run<C, F, Fut>(name: &'static str, serve: F)
where
    C: ServiceConfig,
    F: FnOnce(C) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    crate::healthcheck::run_if_requested(|| C::from_env().ok().map(|c| c.listen_addr()));
    let config = match C::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{name}: {error}");
            std::process::exit(2);
        }
    };
    let telemetry = crate::telemetry::init(config.log_format(), name);
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
    // The configuration's Debug output redacts secrets and credentials.
    tracing::info!(?config, "starting {name}");
    let result = serve(config).await;
    telemetry.shutdown();
    if let Err(error) = result {
        tracing::error!(error = format!("{error:#}"), "{name} stopped");
        std::process::exit(1);
    }
}
