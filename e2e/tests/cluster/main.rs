//! Both services against a real three-node RabbitMQ cluster (`test_support::cluster`), with
//! nodes killed under them.
//!
//! A runner of its own rather than libtest's: the cluster takes ~30 s to start, so all tests
//! share one, started before the first test and stopped after the last however each ended
//! (a panic is caught, the cluster is healed before the next test and dropped at the end); and
//! the tests run one at a time, since each kills nodes the others would be using.
//!
//! Without RabbitMQ's server scripts (`/usr/lib/rabbitmq/bin`) every test says it skipped and
//! passes, unless `REQUIRE_CLUSTER=1` (set by `.ci/run`), where that fails the run.
//!
//! Arguments: names to filter by (a test runs if its name contains one), `--exact`, `--list`;
//! libtest's other flags are accepted and ignored.

#[path = "../e2e/helpers.rs"]
#[allow(dead_code)]
mod helpers;

mod bench;
mod scenarios;
mod screen;

use std::{
    future::Future,
    panic::AssertUnwindSafe,
    pin::Pin,
    process::ExitCode,
    time::{Duration, Instant},
};

use test_support::cluster::{self, Cluster};

type TestFuture<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;
type TestFn = for<'a> fn(&'a Cluster) -> TestFuture<'a>;

/// Each test's bound, the cluster's healing after it not included.
const TEST_LIMIT: Duration = Duration::from_secs(60);

const TESTS: &[(&str, TestFn)] = &[
    ("relay_node_killed_while_orders_are_confirmed", |c| {
        Box::pin(scenarios::relay_node_killed_while_orders_are_confirmed(c))
    }),
    ("relay_node_killed_while_draining_a_backlog", |c| {
        Box::pin(scenarios::relay_node_killed_while_draining_a_backlog(c))
    }),
    ("notifier_node_killed_while_clients_watch", |c| {
        Box::pin(scenarios::notifier_node_killed_while_clients_watch(c))
    }),
    ("two_of_three_nodes_down_and_back", |c| {
        Box::pin(scenarios::two_of_three_nodes_down_and_back(c))
    }),
    ("relay_publish_rate_cluster_vs_single_broker", |c| {
        Box::pin(bench::relay_publish_rate_cluster_vs_single_broker(c))
    }),
];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let exact = args.iter().any(|arg| arg == "--exact");
    let filters: Vec<&String> = args.iter().filter(|arg| !arg.starts_with('-')).collect();
    let selected: Vec<&(&str, TestFn)> = TESTS
        .iter()
        .filter(|(name, _)| {
            filters.is_empty()
                || filters.iter().any(|filter| {
                    if exact {
                        *name == filter.as_str()
                    } else {
                        name.contains(filter.as_str())
                    }
                })
        })
        .collect();
    if args.iter().any(|arg| arg == "--list") {
        for (name, _) in &selected {
            println!("{name}: test");
        }
        return ExitCode::SUCCESS;
    }
    println!("\nrunning {} tests", selected.len());
    if selected.is_empty() {
        println!("\ntest result: ok. 0 passed; 0 failed\n");
        return ExitCode::SUCCESS;
    }
    if !cluster::available() {
        let message = format!(
            "SKIPPED the cluster tests: RabbitMQ's server scripts are not in {} \
             (apt-get install rabbitmq-server)",
            cluster::RABBITMQ_BIN
        );
        if std::env::var("REQUIRE_CLUSTER").is_ok() {
            eprintln!("{message}, and REQUIRE_CLUSTER is set");
            return ExitCode::FAILURE;
        }
        eprintln!("{message}");
        for (name, _) in &selected {
            println!("test {name} ... ok (skipped)");
        }
        return ExitCode::SUCCESS;
    }

    let started = Instant::now();
    let cluster = match std::panic::catch_unwind(|| runtime().block_on(Cluster::start())) {
        Ok(cluster) => cluster,
        Err(_) => {
            eprintln!("the cluster did not start");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "cluster: 3 nodes up in {:.1} s ({})",
        started.elapsed().as_secs_f64(),
        cluster.uris()
    );

    let total = selected.len();
    let mut failed = Vec::new();
    for (name, test) in selected {
        let began = Instant::now();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            runtime().block_on(async {
                tokio::time::timeout(TEST_LIMIT, test(&cluster))
                    .await
                    .unwrap_or_else(|_| panic!("{name} took longer than {TEST_LIMIT:?}"))
            })
        }));
        let took = began.elapsed().as_secs_f64();
        match outcome {
            Ok(()) => println!("test {name} ... ok ({took:.1} s)"),
            Err(_) => {
                println!("test {name} ... FAILED ({took:.1} s)");
                failed.push(*name);
            }
        }
        let healed = std::panic::catch_unwind(AssertUnwindSafe(|| {
            runtime().block_on(cluster.heal());
        }));
        if healed.is_err() {
            eprintln!("the cluster could not be healed after {name}; stopping");
            break;
        }
    }
    drop(cluster);
    if failed.is_empty() {
        println!("\ntest result: ok. {total} passed; 0 failed\n");
        ExitCode::SUCCESS
    } else {
        println!(
            "\nfailures: {failed:?}\ntest result: FAILED. {} passed; {} failed\n",
            total - failed.len(),
            failed.len()
        );
        ExitCode::FAILURE
    }
}
