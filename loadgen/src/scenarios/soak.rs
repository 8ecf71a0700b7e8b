//! `soak`: a steady fanout load for a long time, sampled window by window, to see latency
//! drift and memory growth that a short run cannot show.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::ensure;
use clap::Args;
use serde::Serialize;
use tokio::sync::watch;

use crate::bookkeeping::lock;
use crate::common::Common;
use crate::load::{FrameReport, HttpSummary, Load, Plan};
use crate::procfs::{CpuLine, Processes, rss_kb};
use crate::report::{Report, Table, cpu_section, frames_section, http_section, ms};
use crate::scenarios::fanout::{Prepared, prepare};
use crate::scenarios::seconds;
use crate::stats::Summary;

#[derive(Args, Clone, Debug, Serialize)]
pub struct SoakArgs {
    #[command(flatten)]
    pub common: Common,
    #[arg(long, default_value_t = 2)]
    pub restaurants: usize,
    #[arg(long, default_value_t = 10)]
    pub sockets_per_restaurant: usize,
    #[arg(long, default_value_t = 8)]
    pub workers: usize,
    /// Orders per second over all workers.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Seconds of load.
    #[arg(long, default_value_t = 600.0)]
    pub duration: f64,
    /// Seconds per sampling window.
    #[arg(long, default_value_t = 10.0)]
    pub sample_secs: f64,
    /// Seconds to wait after the load for frames still on their way.
    #[arg(long, default_value_t = 2.0)]
    pub drain_secs: f64,
    /// Loopback source addresses (127.0.0.2, ...) to spread the sockets over.
    #[arg(long, default_value_t = 4)]
    pub source_ips: u8,
}

/// One sampling window.
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    /// Seconds from the start of the load to the end of the window.
    pub t_secs: f64,
    pub http_per_sec: f64,
    pub http: Summary,
    pub frames: Summary,
    pub order_service_rss_kb: Option<u64>,
    pub notifier_rss_kb: Option<u64>,
}

/// A metric in the first window against the last.
#[derive(Clone, Debug, Serialize)]
pub struct Drift {
    pub first: Option<u64>,
    pub last: Option<u64>,
    pub change_percent: Option<f64>,
}

impl Drift {
    fn new(first: Option<u64>, last: Option<u64>) -> Self {
        let change_percent = first
            .zip(last)
            .filter(|(f, _)| *f > 0)
            .map(|(f, l)| 100.0 * (l as f64 - f as f64) / f as f64);
        Self {
            first,
            last,
            change_percent,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Growth {
    pub first_kb: u64,
    pub last_kb: u64,
    pub growth_kb: i64,
    pub growth_kb_per_hour: f64,
}

#[derive(Debug, Serialize)]
pub struct SoakReport {
    pub scenario: &'static str,
    pub run_id: String,
    pub params: SoakArgs,
    pub restaurants: Vec<String>,
    pub load_seconds: f64,
    /// Both services are one process: their RSS is the same number.
    pub services_share_process: bool,
    pub samples: Vec<Sample>,
    /// Latencies in microseconds: first window against last.
    pub drift: BTreeMap<&'static str, Drift>,
    pub memory: BTreeMap<&'static str, Growth>,
    pub http: HttpSummary,
    pub frames: FrameReport,
    pub cpu: Vec<CpuLine>,
}

impl Report for SoakReport {
    const SCENARIO: &'static str = "soak";

    fn table(&self) -> String {
        let mut windows = Table::new(&[
            "t (s)",
            "req/s",
            "http p50",
            "http p99",
            "frame p50",
            "frame p99",
            "frame max",
            "order-service MiB",
            "notifier MiB",
        ]);
        let mib = |kb: Option<u64>| {
            kb.map_or_else(|| "-".into(), |kb| format!("{:.1}", kb as f64 / 1024.0))
        };
        for s in &self.samples {
            windows.row(vec![
                format!("{:.0}", s.t_secs),
                format!("{:.0}", s.http_per_sec),
                ms(s.http.p50_us),
                ms(s.http.p99_us),
                ms(s.frames.p50_us),
                ms(s.frames.p99_us),
                ms(s.frames.max_us),
                mib(s.order_service_rss_kb),
                mib(s.notifier_rss_kb),
            ]);
        }
        let mut drift = Table::new(&["drift (ms)", "first", "last", "change %"]);
        for (name, d) in &self.drift {
            drift.row(vec![
                (*name).into(),
                ms(d.first),
                ms(d.last),
                d.change_percent
                    .map_or_else(|| "-".into(), |c| format!("{c:+.0}")),
            ]);
        }
        let mut memory = Table::new(&["memory", "first MiB", "last MiB", "growth KiB", "KiB/hour"]);
        for (name, g) in &self.memory {
            memory.row(vec![
                (*name).into(),
                format!("{:.1}", g.first_kb as f64 / 1024.0),
                format!("{:.1}", g.last_kb as f64 / 1024.0),
                g.growth_kb.to_string(),
                format!("{:.0}", g.growth_kb_per_hour),
            ]);
        }
        format!(
            "soak {}: {} orders/s for {:.0} s, {} restaurants x {} sockets\n\n{}\n{}\n{}\n{}\n{}\n{}",
            self.run_id,
            self.params.rate,
            self.load_seconds,
            self.params.restaurants,
            self.params.sockets_per_restaurant,
            windows.render(),
            drift.render(),
            memory.render(),
            http_section(&self.http, self.load_seconds),
            frames_section(&self.frames),
            cpu_section(&self.cpu)
        )
    }
}

/// Takes a sample at the end of every window until `stop`; a last partial window is kept if
/// it is at least half a window long.
async fn sample(
    load: Load,
    processes: Processes,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) -> Vec<Sample> {
    let start = Instant::now();
    let mut window_start = start;
    let mut samples = Vec::new();
    for window in 1u32.. {
        let due = start + every * window;
        let stopping = tokio::select! {
            _ = stop.changed() => true,
            _ = tokio::time::sleep_until(due.into()) => false,
        };
        let length = window_start.elapsed();
        if stopping && length < every / 2 {
            break;
        }
        window_start = Instant::now();
        let http = lock(&load.http).take_window();
        let frames = lock(&load.attribution).take_window();
        let s = Sample {
            t_secs: start.elapsed().as_secs_f64(),
            http_per_sec: http.count() as f64 / length.as_secs_f64().max(1e-9),
            http: http.summary(),
            frames: frames.summary(),
            order_service_rss_kb: processes.order_service.and_then(rss_kb),
            notifier_rss_kb: processes.notifier.and_then(rss_kb),
        };
        eprintln!(
            "loadgen: t={:.0}s {:.0} req/s, http p99 {} ms, frame p99 {} ms",
            s.t_secs,
            s.http_per_sec,
            ms(s.http.p99_us),
            ms(s.frames.p99_us)
        );
        samples.push(s);
        if stopping {
            break;
        }
    }
    samples
}

fn growth(samples: &[Sample], rss: impl Fn(&Sample) -> Option<u64>) -> Option<Growth> {
    let (first, last) = (samples.first()?, samples.last()?);
    let (first_kb, last_kb) = (rss(first)?, rss(last)?);
    let growth_kb = last_kb as i64 - first_kb as i64;
    let hours = (last.t_secs - first.t_secs) / 3600.0;
    Some(Growth {
        first_kb,
        last_kb,
        growth_kb,
        growth_kb_per_hour: if hours > 0.0 {
            growth_kb as f64 / hours
        } else {
            0.0
        },
    })
}

pub async fn run(args: &SoakArgs) -> anyhow::Result<SoakReport> {
    ensure!(args.restaurants > 0, "--restaurants must be at least 1");
    ensure!(args.workers > 0, "--workers must be at least 1");
    ensure!(args.rate > 0.0, "--rate must be above 0");
    let every = seconds("sample-secs", args.sample_secs)?;
    ensure!(!every.is_zero(), "--sample-secs must be above 0");
    let plan = Plan {
        workers: args.workers,
        rate: Some(args.rate),
        duration: Some(seconds("duration", args.duration)?),
        orders: None,
    };
    let drain = seconds("drain-secs", args.drain_secs)?;
    let Prepared {
        run_id,
        processes,
        load,
        kitchen,
        refresher: _refresher,
    } = prepare(
        &args.common,
        args.restaurants,
        args.sockets_per_restaurant,
        args.source_ips,
    )
    .await?;

    let cpu_start = processes.cpu_snapshot();
    let (stop, stopped) = watch::channel(false);
    let sampler = tokio::spawn(sample(load.clone(), processes.clone(), every, stopped));
    let elapsed = load.run(&plan).await;
    let _ = stop.send(true);
    let samples = sampler.await.unwrap_or_default();
    let frames = kitchen
        .drain(&load.api, &load.restaurants, drain, &load.attribution)
        .await;
    let cpu = processes.cpu_snapshot().since(&cpu_start);

    let mut drift = BTreeMap::new();
    if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
        drift.insert(
            "frame p50",
            Drift::new(first.frames.p50_us, last.frames.p50_us),
        );
        drift.insert(
            "frame p99",
            Drift::new(first.frames.p99_us, last.frames.p99_us),
        );
        drift.insert("http p50", Drift::new(first.http.p50_us, last.http.p50_us));
        drift.insert("http p99", Drift::new(first.http.p99_us, last.http.p99_us));
    }
    let mut memory = BTreeMap::new();
    if processes.combined() {
        if let Some(g) = growth(&samples, |s| s.notifier_rss_kb) {
            memory.insert("order-service+notifier", g);
        }
    } else {
        if let Some(g) = growth(&samples, |s| s.order_service_rss_kb) {
            memory.insert("order-service", g);
        }
        if let Some(g) = growth(&samples, |s| s.notifier_rss_kb) {
            memory.insert("kitchen-notifier", g);
        }
    }

    let load_seconds = elapsed.as_secs_f64();
    let http = lock(&load.http).summary(load_seconds);
    Ok(SoakReport {
        scenario: SoakReport::SCENARIO,
        run_id,
        params: args.clone(),
        restaurants: load.restaurants.iter().map(|r| r.slug.clone()).collect(),
        load_seconds,
        services_share_process: processes.combined(),
        samples,
        drift,
        memory,
        http,
        frames,
        cpu,
    })
}
