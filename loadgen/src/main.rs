//! `loadgen <scenario>`: runs one scenario against a running system, prints a table and
//! writes a JSON report.

use std::path::Path;

use clap::{Parser, Subcommand};
use loadgen::chart;
use loadgen::report::{Report, emit};
use loadgen::scenarios::{fanout, http, idle, soak};

#[derive(Parser)]
#[command(
    name = "loadgen",
    about = "Load generator for the kitchen order system (REST + WebSocket, as a client sees it)"
)]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Kitchen sockets on several restaurants while workers move orders through their statuses.
    Fanout(fanout::FanoutArgs),
    /// Confirm + 3 PATCHes by concurrent workers, no sockets.
    Http(http::HttpArgs),
    /// Open idle sockets in steps: handshakes/s and the notifier's memory per socket.
    Idle(idle::IdleArgs),
    /// A steady fanout load for a long time: latency drift and memory growth.
    Soak(soak::SoakArgs),
    /// Draw the cost curves of fanout and idle reports as one SVG.
    Chart(chart::ChartArgs),
}

fn finish<R: Report>(report: anyhow::Result<R>, out: Option<&Path>) -> anyhow::Result<()> {
    emit(&report?, out).map(drop)
}

#[tokio::main]
async fn main() {
    let result = match Cli::parse().scenario {
        Scenario::Fanout(args) => finish(fanout::run(&args).await, args.common.out.as_deref()),
        Scenario::Http(args) => finish(http::run(&args).await, args.common.out.as_deref()),
        Scenario::Idle(args) => finish(idle::run(&args).await, args.common.out.as_deref()),
        Scenario::Soak(args) => finish(soak::run(&args).await, args.common.out.as_deref()),
        Scenario::Chart(args) => chart::run(&args).map(|out| println!("chart: {}", out.display())),
    };
    if let Err(error) = result {
        eprintln!("loadgen: {error:#}");
        std::process::exit(1);
    }
}
