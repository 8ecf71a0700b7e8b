//! `fanout`: kitchen sockets on several restaurants while workers push orders through their
//! statuses; how long each event takes to reach each socket, and whether it arrives exactly
//! once and in order.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::ensure;
use clap::Args;
use serde::Serialize;

use crate::api::Api;
use crate::bookkeeping::Attribution;
use crate::common::{Common, run_id};
use crate::load::{FrameReport, HttpSummary, Kitchen, Load, Plan};
use crate::procfs::{CpuLine, Processes, raise_fd_limit};
use crate::report::{Report, cpu_section, frames_section, http_section, tap_section};
use crate::scenarios::seconds;
use crate::setup::{Refresher, provision};
use crate::sockets::Endpoint;
use crate::tap::{BrokerTap, TapReport};

#[derive(Args, Clone, Debug, Serialize)]
pub struct FanoutArgs {
    #[command(flatten)]
    pub common: Common,
    /// Restaurants, each with its own owner, cook and menu.
    #[arg(long, default_value_t = 2)]
    pub restaurants: usize,
    /// Kitchen sockets on each restaurant.
    #[arg(long, default_value_t = 50)]
    pub sockets_per_restaurant: usize,
    /// Concurrent HTTP workers, each taking one order at a time through its four steps.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// Orders per second over all workers (absent: as fast as they go).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Seconds of load (default 10 when --orders is absent).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Stop after this many orders.
    #[arg(long)]
    pub orders: Option<u64>,
    /// Seconds to wait after the load for frames still on their way.
    #[arg(long, default_value_t = 2.0)]
    pub drain_secs: f64,
    /// Loopback source addresses (127.0.0.2, ...) to spread the sockets over.
    #[arg(long, default_value_t = 4)]
    pub source_ips: u8,
    /// AMQP URL of the broker: also time each event at a queue of loadgen's own on the events
    /// exchange, to split its delay in hops (decided, stamped, at the broker, on the screen).
    #[arg(long)]
    pub broker_tap: Option<String>,
    /// The events exchange (order-service's `KITCHEN_EXCHANGE`), for `--broker-tap`.
    #[arg(long, default_value = "kitchen.events")]
    pub exchange: String,
}

impl FanoutArgs {
    /// The defaults, pointed at the given services.
    pub fn new(common: Common) -> Self {
        Self {
            common,
            restaurants: 2,
            sockets_per_restaurant: 50,
            workers: 4,
            rate: None,
            duration: None,
            orders: None,
            drain_secs: 2.0,
            source_ips: 4,
            broker_tap: None,
            exchange: "kitchen.events".into(),
        }
    }

    pub(crate) fn plan(&self) -> anyhow::Result<Plan> {
        ensure!(self.restaurants > 0, "--restaurants must be at least 1");
        ensure!(self.workers > 0, "--workers must be at least 1");
        ensure!(self.rate.is_none_or(|r| r > 0.0), "--rate must be above 0");
        let duration = match (self.duration, self.orders) {
            (None, None) => Some(Duration::from_secs(10)),
            (Some(d), _) => Some(seconds("duration", d)?),
            (None, Some(_)) => None,
        };
        Ok(Plan {
            workers: self.workers,
            rate: self.rate,
            duration,
            orders: self.orders,
        })
    }
}

#[derive(Debug, Serialize)]
pub struct FanoutReport {
    pub scenario: &'static str,
    pub run_id: String,
    pub params: FanoutArgs,
    pub restaurants: Vec<String>,
    /// From the first order to the last answer (the drain is not included).
    pub load_seconds: f64,
    pub http: HttpSummary,
    pub frames: FrameReport,
    pub cpu: Vec<CpuLine>,
    /// The notifier's resident memory at the end of the load, sockets still open.
    pub notifier_rss_kib: Option<u64>,
    /// With `--broker-tap`: the hops up to the broker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broker_tap: Option<TapReport>,
}

impl Report for FanoutReport {
    const SCENARIO: &'static str = "fanout";

    fn table(&self) -> String {
        format!(
            "fanout {}: {} restaurants x {} sockets, {} workers, rate {}\n\n{}\n{}\n{}{}",
            self.run_id,
            self.params.restaurants,
            self.params.sockets_per_restaurant,
            self.params.workers,
            self.params
                .rate
                .map_or_else(|| "flat out".into(), |r| format!("{r} orders/s")),
            http_section(&self.http, self.load_seconds),
            frames_section(&self.frames),
            self.broker_tap
                .as_ref()
                .map_or_else(String::new, tap_section),
            cpu_section(&self.cpu)
        )
    }
}

/// Everything a fanout-like run sets up before the load starts.
pub(crate) struct Prepared {
    pub run_id: String,
    pub processes: Processes,
    pub load: Load,
    pub kitchen: Kitchen,
    /// Keeps tokens fresh while it lives.
    pub refresher: Refresher,
}

pub(crate) async fn prepare(
    common: &Common,
    restaurants: usize,
    sockets_per_restaurant: usize,
    source_ips: u8,
) -> anyhow::Result<Prepared> {
    let processes = Processes::discover(common);
    raise_fd_limit((restaurants * sockets_per_restaurant) as u64 + 1024);
    let api = Api::new(&common.order_service)?;
    let endpoint = Endpoint::resolve(&common.notifier, common.first_source_ip, source_ips).await?;
    let run_id = run_id();
    let restaurants = provision(&api, &run_id, restaurants).await?;
    let refresher = Refresher::start(&api, &restaurants);
    let attribution = Arc::new(Mutex::new(Attribution::new()));
    let kitchen = Kitchen::open(
        &endpoint,
        &api,
        &restaurants,
        sockets_per_restaurant,
        &attribution,
    )
    .await?;
    let load = Load::new(api, restaurants, kitchen.opened.clone(), attribution);
    Ok(Prepared {
        run_id,
        processes,
        load,
        kitchen,
        refresher,
    })
}

pub async fn run(args: &FanoutArgs) -> anyhow::Result<FanoutReport> {
    let plan = args.plan()?;
    let drain = seconds("drain-secs", args.drain_secs)?;
    let prepared = prepare(
        &args.common,
        args.restaurants,
        args.sockets_per_restaurant,
        args.source_ips,
    )
    .await?;
    let Prepared {
        run_id,
        processes,
        load,
        kitchen,
        refresher: _refresher,
    } = prepared;

    let tap = match &args.broker_tap {
        Some(url) => Some(BrokerTap::start(url, &args.exchange).await?),
        None => None,
    };
    let cpu_start = processes.cpu_snapshot();
    let elapsed = load.run(&plan).await;
    let notifier_rss_kib = processes.notifier.and_then(crate::procfs::rss_kb);
    let frames = kitchen
        .drain(&load.api, &load.restaurants, drain, &load.attribution)
        .await;
    let cpu = processes.cpu_snapshot().since(&cpu_start);
    let broker_tap = match tap {
        Some(tap) => Some(tap.finish().await),
        None => None,
    };

    let load_seconds = elapsed.as_secs_f64();
    let http = crate::bookkeeping::lock(&load.http).summary(load_seconds);
    Ok(FanoutReport {
        scenario: FanoutReport::SCENARIO,
        run_id,
        params: args.clone(),
        restaurants: load.restaurants.iter().map(|r| r.slug.clone()).collect(),
        load_seconds,
        http,
        frames,
        cpu,
        notifier_rss_kib,
        broker_tap,
    })
}
