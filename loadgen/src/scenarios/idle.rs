//! `idle`: how many quiet kitchen sockets the notifier holds, how fast it accepts them, and
//! what each costs it in resident memory.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::ensure;
use clap::Args;
use futures_util::{StreamExt, stream};
use serde::Serialize;

use crate::api::Api;
use crate::common::{Common, run_id};
use crate::procfs::{CpuLine, Processes, raise_fd_limit, rss_kb};
use crate::report::{Report, Table, cpu_section, ms};
use crate::scenarios::seconds;
use crate::setup::{Refresher, provision};
use crate::sockets::{self, Endpoint};
use crate::stats::{Histogram, Summary};

#[derive(Args, Clone, Debug, Serialize)]
pub struct IdleArgs {
    #[command(flatten)]
    pub common: Common,
    /// Total sockets to reach, step by step, ascending.
    #[arg(long, value_delimiter = ',', default_value = "1000,5000,20000")]
    pub steps: Vec<usize>,
    /// Restaurants the sockets are spread over.
    #[arg(long, default_value_t = 1)]
    pub restaurants: usize,
    /// Loopback source addresses (127.0.0.2, ...) to spread the sockets over.
    #[arg(long, default_value_t = 16)]
    pub source_ips: u8,
    /// Handshakes in flight at once.
    #[arg(long, default_value_t = 200)]
    pub concurrency: usize,
    /// Seconds each step is held (sockets keep reading, so pings are answered) before it is
    /// measured.
    #[arg(long, default_value_t = 5.0)]
    pub hold_secs: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub target: usize,
    /// Handshakes that succeeded in this step.
    pub opened: u64,
    pub handshake_errors: BTreeMap<String, u64>,
    pub handshake_seconds: f64,
    pub handshakes_per_sec: f64,
    pub handshake: Summary,
    /// Sockets (of any step) the server ended during this step.
    pub dropped: u64,
    /// Sockets open after the hold.
    pub open: u64,
    pub notifier_rss_kb: Option<u64>,
    /// Since before the first socket.
    pub rss_growth_kb: Option<i64>,
    pub rss_bytes_per_socket: Option<f64>,
    /// Every handshake succeeded and every socket lasted.
    pub ok: bool,
}

#[derive(Debug, Serialize)]
pub struct IdleReport {
    pub scenario: &'static str,
    pub run_id: String,
    pub params: IdleArgs,
    pub notifier_pid: Option<u32>,
    /// The one-process launcher: the RSS includes order-service.
    pub notifier_shares_process: bool,
    pub fd_limit: u64,
    pub baseline_rss_kb: Option<u64>,
    pub steps: Vec<Step>,
    /// The largest step held without any error.
    pub largest_ok: usize,
    pub cpu: Vec<CpuLine>,
}

impl Report for IdleReport {
    const SCENARIO: &'static str = "idle";

    fn table(&self) -> String {
        let mut table = Table::new(&[
            "sockets",
            "opened",
            "errors",
            "dropped",
            "handshakes/s",
            "hs p50 ms",
            "hs p99 ms",
            "notifier RSS MiB",
            "bytes/socket",
        ]);
        for step in &self.steps {
            table.row(vec![
                step.target.to_string(),
                step.opened.to_string(),
                step.handshake_errors.values().sum::<u64>().to_string(),
                step.dropped.to_string(),
                format!("{:.0}", step.handshakes_per_sec),
                ms(step.handshake.p50_us),
                ms(step.handshake.p99_us),
                step.notifier_rss_kb
                    .map_or_else(|| "-".into(), |kb| format!("{:.1}", kb as f64 / 1024.0)),
                step.rss_bytes_per_socket
                    .map_or_else(|| "-".into(), |b| format!("{b:.0}")),
            ]);
        }
        let errors: Vec<String> = self
            .steps
            .iter()
            .flat_map(|s| {
                s.handshake_errors
                    .iter()
                    .map(move |(k, v)| format!("{}: {k} x{v}", s.target))
            })
            .collect();
        format!(
            "idle {}: largest step held without errors: {}{}\n\n{}{}\n{}",
            self.run_id,
            self.largest_ok,
            if self.notifier_shares_process {
                " (RSS is of the one process running both services)"
            } else {
                ""
            },
            table.render(),
            if errors.is_empty() {
                String::new()
            } else {
                format!("handshake errors: {}\n", errors.join("; "))
            },
            cpu_section(&self.cpu)
        )
    }
}

pub async fn run(args: &IdleArgs) -> anyhow::Result<IdleReport> {
    ensure!(!args.steps.is_empty(), "--steps needs at least one count");
    ensure!(
        args.steps.windows(2).all(|w| w[0] < w[1]),
        "--steps must ascend"
    );
    ensure!(args.restaurants > 0, "--restaurants must be at least 1");
    let hold = seconds("hold-secs", args.hold_secs)?;
    let largest = args.steps.iter().copied().max().unwrap_or(0);

    let processes = Processes::discover(&args.common);
    let fd_limit = raise_fd_limit(largest as u64 + 1024);
    if fd_limit < largest as u64 + 64 {
        eprintln!("loadgen: open-file limit {fd_limit} is below the largest step");
    }
    let api = Api::new(&args.common.order_service)?;
    let endpoint = Endpoint::resolve(
        &args.common.notifier,
        args.common.first_source_ip,
        args.source_ips,
    )
    .await?;
    let run_id = run_id();
    let restaurants = provision(&api, &run_id, args.restaurants).await?;
    let _refresher = Refresher::start(&api, &restaurants);
    let rss = || processes.notifier.and_then(rss_kb);
    let baseline_rss_kb = rss();

    let cpu_start = processes.cpu_snapshot();
    let dropped = Arc::new(AtomicU64::new(0));
    let mut holders = Vec::new();
    let mut steps = Vec::new();
    let mut largest_ok = 0;
    for &target in &args.steps {
        let dropped_before = dropped.load(Ordering::Relaxed);
        let first = holders.len();
        let mut handshake = Histogram::new();
        let mut handshake_errors = BTreeMap::new();
        let start = Instant::now();
        let mut attempts = stream::iter(first..target)
            .map(|n| {
                let restaurant = &restaurants[n % restaurants.len()];
                let endpoint = &endpoint;
                async move {
                    // Fetched again every 30 s, well within the ticket's 60.
                    let ticket = match restaurant.tickets.get().await {
                        Ok(ticket) => ticket,
                        Err(_) => return (Err("ticket".to_owned()), Duration::ZERO),
                    };
                    let begun = Instant::now();
                    let result = endpoint
                        .connect(&restaurant.slug, &ticket, sockets::small_buffers())
                        .await;
                    (result, begun.elapsed())
                }
            })
            .buffer_unordered(args.concurrency.max(1));
        while let Some((result, took)) = attempts.next().await {
            match result {
                Ok(ws) => {
                    handshake.record(took.as_micros() as u64);
                    holders.push(tokio::spawn(sockets::hold(ws, dropped.clone())));
                }
                Err(label) => *handshake_errors.entry(label).or_default() += 1,
            }
        }
        drop(attempts);
        let handshake_seconds = start.elapsed().as_secs_f64();
        tokio::time::sleep(hold).await;

        let dropped_now = dropped.load(Ordering::Relaxed);
        let open = (holders.len() as u64).saturating_sub(dropped_now);
        let notifier_rss_kb = rss();
        let rss_growth_kb = notifier_rss_kb
            .zip(baseline_rss_kb)
            .map(|(now, before)| now as i64 - before as i64);
        let opened = (holders.len() - first) as u64;
        let ok = handshake_errors.is_empty() && open == target as u64;
        steps.push(Step {
            target,
            opened,
            handshake_errors,
            handshake_seconds,
            handshakes_per_sec: opened as f64 / handshake_seconds.max(1e-9),
            handshake: handshake.summary(),
            dropped: dropped_now - dropped_before,
            open,
            notifier_rss_kb,
            rss_growth_kb,
            rss_bytes_per_socket: rss_growth_kb
                .filter(|_| open > 0)
                .map(|kb| kb as f64 * 1024.0 / open as f64),
            ok,
        });
        eprintln!(
            "loadgen: step {target}: {open} open, {:.0} handshakes/s",
            opened as f64 / handshake_seconds.max(1e-9)
        );
        if !ok {
            break;
        }
        largest_ok = target;
    }
    let cpu = processes.cpu_snapshot().since(&cpu_start);
    for holder in holders {
        holder.abort();
    }

    Ok(IdleReport {
        scenario: IdleReport::SCENARIO,
        run_id,
        params: args.clone(),
        notifier_pid: processes.notifier,
        notifier_shares_process: processes.combined(),
        fd_limit,
        baseline_rss_kb,
        steps,
        largest_ok,
        cpu,
    })
}
