//! `http`: workers doing confirm + three PATCHes as fast as they can, no sockets: the REST
//! side's throughput and latency on its own.

use std::sync::{Arc, Mutex};

use anyhow::ensure;
use clap::Args;
use serde::Serialize;

use crate::api::Api;
use crate::bookkeeping::{Attribution, lock};
use crate::common::{Common, run_id};
use crate::load::{HttpSummary, Load, Plan};
use crate::procfs::{CpuLine, Processes};
use crate::report::{Report, cpu_section, http_section};
use crate::scenarios::seconds;
use crate::setup::{Refresher, provision};

#[derive(Args, Clone, Debug, Serialize)]
pub struct HttpArgs {
    #[command(flatten)]
    pub common: Common,
    /// Concurrent workers.
    #[arg(long, default_value_t = 8)]
    pub workers: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Restaurants the orders are spread over (every change locks its restaurant's row).
    #[arg(long, default_value_t = 1)]
    pub restaurants: usize,
    /// Each order also gets the kitchen floor's writes (rush, a line crossed off, a recall),
    /// timed by kind beside the status PATCHes.
    #[arg(long)]
    pub kitchen_floor: bool,
}

#[derive(Debug, Serialize)]
pub struct HttpReport {
    pub scenario: &'static str,
    pub run_id: String,
    pub params: HttpArgs,
    pub load_seconds: f64,
    pub http: HttpSummary,
    pub cpu: Vec<CpuLine>,
}

impl Report for HttpReport {
    const SCENARIO: &'static str = "http";

    fn table(&self) -> String {
        format!(
            "http {}: {} workers on {} restaurants\n\n{}\n{}",
            self.run_id,
            self.params.workers,
            self.params.restaurants,
            http_section(&self.http, self.load_seconds),
            cpu_section(&self.cpu)
        )
    }
}

pub async fn run(args: &HttpArgs) -> anyhow::Result<HttpReport> {
    ensure!(args.workers > 0, "--workers must be at least 1");
    ensure!(args.restaurants > 0, "--restaurants must be at least 1");
    let plan = Plan {
        workers: args.workers,
        rate: None,
        duration: Some(seconds("duration", args.duration)?),
        orders: None,
    };
    let processes = Processes::discover(&args.common);
    let api = Api::new(&args.common.order_service)?;
    let run_id = run_id();
    let restaurants = provision(&api, &run_id, args.restaurants).await?;
    let _refresher = Refresher::start(&api, &restaurants);
    let sockets = vec![0; restaurants.len()];
    let mut load = Load::new(
        api,
        restaurants,
        sockets,
        Arc::new(Mutex::new(Attribution::new())),
    );
    load.kitchen_floor = args.kitchen_floor;

    let cpu_start = processes.cpu_snapshot();
    let elapsed = load.run(&plan).await;
    let cpu = processes.cpu_snapshot().since(&cpu_start);

    let load_seconds = elapsed.as_secs_f64();
    let http = lock(&load.http).summary(load_seconds);
    Ok(HttpReport {
        scenario: HttpReport::SCENARIO,
        run_id,
        params: args.clone(),
        load_seconds,
        http,
        cpu,
    })
}
