//! The relay's publish rate with confirms, through the cluster and through the machine's single
//! broker, same parameters: N events are committed in one transaction (copies of a real
//! order's event, each with its own id and `seq`), and the relay drains them — fetch 500,
//! publish pipelined, await the confirms, mark them published — while a tap on another node
//! (the cluster) or the same broker (single) consumes them. The rate is N over the time from
//! the commit to the last row marked published.
//!
//! Runs only with `CLUSTER_BENCH_EVENTS=<N>` (`CLUSTER_BENCH_RUNS`, default 3, per target);
//! otherwise it says it skipped. Results are printed on `BENCH-RESULT` lines.

use std::time::{Duration, Instant};

use test_support::{amqp::AMQP_URL, cluster::Cluster};

use crate::scenarios::{RELAY_CONNECTION, Scene, Tap, insert_backlog, unpublished};

fn env_number(name: &str) -> Option<i64> {
    std::env::var(name).ok()?.parse().ok()
}

pub async fn relay_publish_rate_cluster_vs_single_broker(cluster: &Cluster) {
    let Some(events) = env_number("CLUSTER_BENCH_EVENTS").filter(|&n| n > 0) else {
        println!(
            "SKIPPED relay_publish_rate_cluster_vs_single_broker: set CLUSTER_BENCH_EVENTS=<n> \
             to measure"
        );
        return;
    };
    let runs = env_number("CLUSTER_BENCH_RUNS").unwrap_or(3);
    for run in 1..=runs {
        for target in ["single", "cluster"] {
            let rate = drain_rate(cluster, target, events).await;
            println!(
                "BENCH-RESULT relay publish with confirms: target {target}, run {run}, \
                 {events} events, {:.0} events/s",
                rate
            );
        }
    }
}

/// Events per second the relay published (confirmed and marked) from a backlog of `events`.
async fn drain_rate(cluster: &Cluster, target: &str, events: i64) -> f64 {
    let single = target == "single";
    let url = if single {
        AMQP_URL.to_owned()
    } else {
        cluster.uris()
    };
    let scene = Scene::start(url).await;
    let tap_url = if single {
        AMQP_URL.to_owned()
    } else {
        let relay = cluster
            .await_connection(RELAY_CONNECTION, Duration::from_secs(20))
            .await;
        cluster.uri((relay + 1) % test_support::cluster::NODES)
    };
    let tap = Tap::start(&tap_url, &scene.system.exchange).await;
    scene
        .service
        .api
        .place_order(&scene.kitchen.slug, &scene.kitchen.menu)
        .await;
    scene.await_published(1).await;

    insert_backlog(scene.db(), events).await;
    let committed_at = Instant::now();
    // Polling is the measurement here: there is no event for "the last row was marked".
    let deadline = committed_at + Duration::from_secs(40);
    while unpublished(scene.db()).await > 0 {
        assert!(Instant::now() < deadline, "the relay drained the backlog");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let took = committed_at.elapsed();
    tap.finish(events + 1).await;
    events as f64 / took.as_secs_f64()
}
