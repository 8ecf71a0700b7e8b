//! A tiny fanout against the real system, started in this process on a database and an
//! exchange of the test's own: the bookkeeping must come out exact and the JSON report must
//! carry its fields.

use std::time::{Duration, Instant};

use loadgen::common::Common;
use loadgen::report::emit;
use loadgen::scenarios::fanout::{self, FanoutArgs};
use serde_json::Value;
use test_support::{amqp::TestExchange, database::TestDatabase};

const JWT_SECRET: &str = "loadgen-small-run-secret-loadgen-small-run";

struct System {
    order_service: String,
    notifier: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _database: TestDatabase,
    _exchange: TestExchange,
}

impl Drop for System {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn start_system() -> System {
    let database = TestDatabase::new();
    let exchange = TestExchange::new();

    let mut config = order_service::config::Config::from_lookup(|_| None).expect("defaults");
    config.database_url = database.url();
    config.listen_addr = "127.0.0.1:0".parse().expect("address");
    config.exchange = exchange.name.clone();
    config.jwt_secret = JWT_SECRET.into();
    config.database_max_connections = 5;
    let app = order_service::startup::Application::build(config)
        .await
        .expect("order-service starts");
    let order_service = format!("http://127.0.0.1:{}", app.port());
    let mut tasks = vec![tokio::spawn(async move {
        let _ = app.run_until(std::future::pending()).await;
    })];

    let mut config = kitchen_notifier::config::Config::from_lookup(|_| None).expect("defaults");
    config.listen_addr = "127.0.0.1:0".parse().expect("address");
    config.exchange = exchange.name.clone();
    config.order_service_url = order_service.clone();
    let app = kitchen_notifier::startup::Application::build(config)
        .await
        .expect("notifier starts");
    let port = app.port();
    tasks.push(tokio::spawn(async move {
        let _ = app.run_until(std::future::pending()).await;
    }));

    // Ready means the broker is connected and the ticket key loaded.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
            .await
            .is_ok_and(|r| r.status().as_u16() == 200);
        if ready {
            break;
        }
        assert!(Instant::now() < deadline, "the notifier never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    System {
        order_service,
        notifier: format!("ws://127.0.0.1:{port}"),
        tasks,
        _database: database,
        _exchange: exchange,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_fanout_accounts_for_every_frame() {
    let system = start_system().await;
    let mut common = Common::new(&system.order_service, &system.notifier);
    // The services run inside this test process.
    common.order_service_pid = Some(std::process::id());
    common.notifier_pid = Some(std::process::id());
    let out = std::env::temp_dir().join(format!(
        "loadgen-small-run-{}.json",
        uuid::Uuid::new_v4().simple()
    ));
    common.out = Some(out.clone());
    let args = FanoutArgs {
        restaurants: 1,
        sockets_per_restaurant: 2,
        workers: 1,
        orders: Some(5),
        // An upper bound: the drain ends as soon as every expected frame is in.
        drain_secs: 20.0,
        source_ips: 2,
        ..FanoutArgs::new(common)
    };

    let report = fanout::run(&args).await.expect("the fanout runs");

    let http = &report.http;
    assert!(http.errors.is_empty(), "HTTP errors: {:?}", http.errors);
    assert_eq!((http.orders_completed, http.requests, http.ok), (5, 20, 20));
    let frames = &report.frames;
    assert_eq!(frames.sockets_opened, 2, "{frames:?}");
    assert_eq!(frames.events_committed, 20);
    assert_eq!(frames.expected, 40);
    assert_eq!(frames.received, frames.expected, "{frames:?}");
    assert_eq!(frames.lost, 0);
    assert_eq!(frames.duplicated, 0);
    assert_eq!(frames.out_of_order, 0);
    assert_eq!(
        (frames.unexpected, frames.resyncs, frames.malformed),
        (0, 0, 0)
    );
    assert!(frames.sockets_ended_early.is_empty(), "{frames:?}");
    // Every frame was matched to the request that caused it.
    assert_eq!(frames.unattributed, 0);
    assert_eq!(frames.delay.count, 40);
    for status in ["confirmed", "preparing", "ready", "completed"] {
        assert_eq!(frames.delay_by_status[status].count, 10, "{status}");
    }

    let path = emit(&report, Some(&out)).expect("the report is written");
    let json: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("report file")).expect("JSON");
    let _ = std::fs::remove_file(&path);
    assert_eq!(json["scenario"], "fanout");
    assert_eq!(json["params"]["sockets_per_restaurant"], 2);
    assert_eq!(json["params"]["orders"], 5);
    assert_eq!(
        json["params"]["common"]["notifier"],
        system.notifier.as_str()
    );
    for pointer in [
        "/run_id",
        "/load_seconds",
        "/http/requests_per_sec",
        "/http/latency/p50_us",
        "/http/latency/p95_us",
        "/http/latency/p99_us",
        "/http/latency/max_us",
        "/http/errors",
        "/frames/expected",
        "/frames/received",
        "/frames/lost",
        "/frames/duplicated",
        "/frames/out_of_order",
        "/frames/delay/p50_us",
        "/frames/delay/p95_us",
        "/frames/delay/p99_us",
        "/frames/delay/max_us",
    ] {
        let value = json.pointer(pointer);
        assert!(
            value.is_some_and(|v| !v.is_null()),
            "{pointer} missing in {json}"
        );
    }
    assert_eq!(json["frames"]["lost"], 0);
    let cpu = json["cpu"].as_array().expect("cpu lines");
    assert!(
        cpu.iter()
            .any(|line| line["process"] == "order-service+notifier"),
        "{cpu:?}"
    );
}
