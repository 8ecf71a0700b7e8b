//! Flags every scenario takes: where the system is and where the report goes.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

#[derive(Args, Clone, Debug, Serialize)]
pub struct Common {
    /// Base URL of order-service.
    #[arg(
        long,
        env = "LOADGEN_ORDER_SERVICE",
        default_value = "http://127.0.0.1:8080"
    )]
    pub order_service: String,
    /// Base URL of kitchen-notifier.
    #[arg(long, env = "LOADGEN_NOTIFIER", default_value = "ws://127.0.0.1:8081")]
    pub notifier: String,
    /// PID of order-service (default: found by name in /proc).
    #[arg(long)]
    pub order_service_pid: Option<u32>,
    /// PID of kitchen-notifier (default: found by name in /proc).
    #[arg(long)]
    pub notifier_pid: Option<u32>,
    /// Where to write the JSON report (default: loadgen-<scenario>.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The first loopback source address is 127.0.0.N: several loadgen processes take
    /// disjoint ranges (with `--source-ips`), so they never compete for ephemeral ports.
    #[arg(long, default_value_t = 2)]
    pub first_source_ip: u8,
}

impl Common {
    /// The defaults, pointed at the given services (for tests and library callers).
    pub fn new(order_service: impl Into<String>, notifier: impl Into<String>) -> Self {
        Self {
            order_service: order_service.into(),
            notifier: notifier.into(),
            order_service_pid: None,
            notifier_pid: None,
            out: None,
            first_source_ip: 2,
        }
    }
}

/// A short random id that keeps this run's users and restaurants apart from earlier runs.
pub fn run_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}
