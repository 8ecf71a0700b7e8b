//! One module per scenario: its flags, its run, its report.

pub mod fanout;
pub mod http;
pub mod idle;
pub mod soak;

use std::time::Duration;

/// Seconds from a flag, refusing what `Duration` cannot hold.
pub(crate) fn seconds(flag: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| anyhow::anyhow!("--{flag} must be a non-negative number of seconds"))
}
