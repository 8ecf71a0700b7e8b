//! One fault per test, injected under load (orders confirmed and moved while it happens),
//! checked from the clients' side: every committed event (read back from the database) reached
//! every kitchen screen by `seq`, live or filled from the event log as the pages do; what was
//! delivered twice and dropped by `event_id` is counted; and the time from the fault's end to
//! the first event delivered live after it is measured. Each test prints one `RELIABILITY`
//! line with its numbers: `docs/RELIABILITY.md` is filled from them.

mod load;
mod rabbit_node;
mod screen;

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::Value;
use sqlx::PgPool;
use test_support::{
    TcpProxy,
    amqp::ExchangeTap,
    api::{ApiClient, Kitchen},
    wait_until,
};
use tokio::{sync::watch, task::JoinHandle, time::Instant};

use crate::helpers::{Killable, System};
use load::{Load, LoadStats};
use rabbit_node::RabbitNode;
use screen::{Screen, ScreenRecord};

const POSTGRES: &str = "127.0.0.1:5432";
const RABBITMQ: &str = "127.0.0.1:5672";
/// How long an outage lasts.
const OUTAGE: Duration = Duration::from_secs(3);

fn addr(text: &str) -> SocketAddr {
    text.parse().expect("a socket address")
}

fn ws_base(port: u16) -> String {
    format!("ws://127.0.0.1:{port}")
}

/// Every message on the exchange for the restaurant, counted by event id, read in the
/// background until `finish`.
struct Published {
    stop: watch::Sender<bool>,
    counts: Arc<Mutex<HashMap<String, usize>>>,
    task: JoinHandle<()>,
}

impl Published {
    async fn tap(amqp_url: &str, exchange: &str, slug: &str) -> Self {
        let mut tap = ExchangeTap::bind_at(amqp_url, exchange, &format!("orders.{slug}.*")).await;
        let (stop, stopped) = watch::channel(false);
        let counts = Arc::new(Mutex::new(HashMap::new()));
        let counted = counts.clone();
        let task = tokio::spawn(async move {
            while !*stopped.borrow() {
                if let Some(delivery) = tap.try_next_within(Duration::from_millis(200)).await {
                    let body: Value = serde_json::from_slice(&delivery.data).unwrap_or_default();
                    if let Some(event_id) = body["event_id"].as_str() {
                        *lock(&counted).entry(event_id.to_owned()).or_insert(0) += 1;
                    }
                }
            }
        });
        Self { stop, counts, task }
    }

    /// Waits (up to 10 s) until every one of `events` was published, then stops reading.
    async fn finish(self, events: &[(i64, String)]) -> HashMap<String, usize> {
        let all_seen = || {
            let counts = lock(&self.counts);
            events.iter().all(|(_, id)| counts.contains_key(id))
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !all_seen() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = self.stop.send(true);
        self.task.await.expect("the tap task ends");
        lock(&self.counts).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The committed events, seq → event id, read straight from PostgreSQL (not through a proxy).
async fn committed(db: &PgPool) -> Vec<(i64, String)> {
    sqlx::query_as("SELECT seq, event_id::text FROM order_events ORDER BY seq")
        .fetch_all(db)
        .await
        .expect("the event log reads")
}

async fn direct_pool(system: &System) -> PgPool {
    PgPool::connect(&system.database.url())
        .await
        .expect("the test database")
}

/// A confirm that is retried until order-service answers 201 (it may still be recovering).
async fn place_order_eventually(api: &ApiClient, kitchen: &Kitchen) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = ApiClient::pizza_order(&kitchen.menu);
        let placed = api
            .client
            .post(api.url(&format!("/api/order/{}/confirm/", kitchen.slug)))
            .json(&body)
            .send()
            .await;
        if placed.is_ok_and(|response| response.status().as_u16() == 201) {
            return;
        }
        assert!(Instant::now() < deadline, "order-service did not recover");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What a test measured.
struct Measured {
    published_duplicates: usize,
    screens: Vec<ScreenRecord>,
    load: LoadStats,
}

/// Ends a run: lets the load go on until every screen had `after_fault` more events past the
/// fault (recovery under load), stops it, places a last order (so a screen missing the tail
/// sees a gap), waits until every screen holds every committed event, then checks and prints.
#[allow(clippy::too_many_arguments)]
async fn conclude(
    fault: &str,
    db: &PgPool,
    api: &ApiClient,
    kitchen: &Kitchen,
    load: Load,
    mut screens: Vec<Screen>,
    published: Published,
    fault_end: Instant,
) -> Measured {
    let at_fault_end = screens.iter().map(Screen::last_seq).max().unwrap_or(0);
    for screen in &mut screens {
        screen
            .wait_for_seq(at_fault_end + 20, Duration::from_secs(30))
            .await;
    }
    let load: LoadStats = load.stop().await;
    place_order_eventually(api, kitchen).await;
    let events = committed(db).await;
    let last = events.last().map(|(seq, _)| *seq).unwrap_or(0);
    for screen in &mut screens {
        screen.wait_for_seq(last, Duration::from_secs(30)).await;
    }
    let mut records = Vec::new();
    for screen in screens {
        records.push(screen.finish().await);
    }
    // The exchange is checked too: the relay published every committed event at least once.
    let counts = published.finish(&events).await;
    let never_published: Vec<i64> = events
        .iter()
        .filter(|(_, id)| !counts.contains_key(id))
        .map(|(seq, _)| *seq)
        .collect();
    let published_duplicates: usize = counts.values().map(|n| n.saturating_sub(1)).sum();

    let mut lost_per_screen = Vec::new();
    for record in &records {
        assert!(record.conflicts.is_empty(), "{:?}", record.conflicts);
        let lost = events
            .iter()
            .filter(|(seq, id)| record.applied.get(seq) != Some(id))
            .count();
        lost_per_screen.push(lost);
    }
    let recovery = records
        .iter()
        .map(|record| {
            record
                .first_live_after(fault_end)
                .expect("a live event after the fault")
        })
        .max()
        .unwrap_or_default();
    let screens_line: Vec<String> = records
        .iter()
        .zip(&lost_per_screen)
        .map(|(r, lost)| {
            format!(
                "live {} log {} dup {} overlap {} resync {} reconnect {} lost {lost} recover {} ms",
                r.live,
                r.from_log,
                r.duplicates,
                r.overlap_with_log,
                r.resyncs,
                r.reconnects,
                r.first_live_after(fault_end)
                    .unwrap_or_default()
                    .as_millis()
            )
        })
        .collect();
    eprintln!(
        "RELIABILITY {fault}: committed {} (load {} ok, {} failed) | published dup {published_duplicates} never {} | recover {} ms | screens: {}",
        events.len(),
        load.succeeded,
        load.failed,
        never_published.len(),
        recovery.as_millis(),
        screens_line.join(" ; ")
    );
    assert!(
        never_published.is_empty(),
        "committed but never published: seqs {never_published:?}"
    );
    assert!(
        lost_per_screen.iter().all(|lost| *lost == 0),
        "events lost by a screen: {lost_per_screen:?}"
    );
    Measured {
        published_duplicates,
        screens: records,
        load,
    }
}

/// For faults the notifier's own link survives (or that `after` covers): every screen got
/// every event from the notifier, none had to be read from the event log.
fn assert_all_delivered_live(measured: &Measured) {
    for (n, screen) in measured.screens.iter().enumerate() {
        assert_eq!(
            screen.from_log, 0,
            "screen {n} had to read events from the log: the notifier missed them"
        );
    }
}

/// Waits until the load has produced `events` events on every screen: the fault strikes a
/// system that is busy.
/// Two screens of the cook on `notifier_port`, orders placed and moved by two workers, and the
/// first events seen by both: the set-up of most faults below.
async fn two_screens_under_load(
    api: &ApiClient,
    k: &Kitchen,
    notifier_port: u16,
) -> (Vec<Screen>, Load) {
    let ticket = api.ws_ticket(&k.cook, &k.slug).await;
    let mut screens = Vec::new();
    for _ in 0..2 {
        let targets = vec![ws_base(notifier_port)];
        screens.push(Screen::open(api, &k.cook.access, &k.slug, &ticket, targets).await);
    }
    let load = Load::start(api, k, ApiClient::pizza_order(&k.menu), 2);
    warm_up(&mut screens, 10).await;
    (screens, load)
}

async fn warm_up(screens: &mut [Screen], events: i64) {
    for screen in screens {
        screen.wait_for_seq(events, Duration::from_secs(20)).await;
    }
}

#[tokio::test]
async fn postgres_restarted_under_load() {
    let postgres = TcpProxy::start(addr(POSTGRES)).await.unwrap();
    let mut system = System::new();
    let proxied = format!(
        "postgres://postgres@127.0.0.1:{}/{}",
        postgres.port(),
        system.database.name
    );
    let service = system
        .order_service_with(|config| config.database_url = proxied)
        .await;
    let db = direct_pool(&system).await;
    let api = &service.api;
    let k = api.kitchen("luigis").await;
    let notifier = system.notifier(api).await;
    let published = Published::tap(test_support::amqp::AMQP_URL, &system.exchange, &k.slug).await;
    let (screens, load) = two_screens_under_load(api, &k, notifier.port).await;

    // "Restarted": every connection dropped, new ones refused while it is down.
    postgres.cut();
    tokio::time::sleep(OUTAGE).await;
    postgres.restore();
    let fault_end = Instant::now();
    let measured = conclude(
        "postgres restarted",
        &db,
        api,
        &k,
        load,
        screens,
        published,
        fault_end,
    )
    .await;
    assert_all_delivered_live(&measured);
    assert!(
        measured.load.failed >= 1,
        "requests failed while the database was away"
    );
}

/// An order-service and a notifier whose broker links both go through `broker`.
async fn through_broker_proxy(
    system: &mut System,
    broker: &TcpProxy,
) -> (crate::helpers::OrderService, crate::helpers::Notifier) {
    let url = format!(
        "amqp://guest:guest@127.0.0.1:{}/%2f?heartbeat=2",
        broker.port()
    );
    let relay_url = url.clone();
    let service = system
        .order_service_with(|config| config.amqp_url = relay_url)
        .await;
    let mut config = system.notifier_config(&service.api.base);
    config.amqp_url = url;
    let notifier = System::notifier_from(config).await;
    (service, notifier)
}

#[tokio::test]
async fn rabbitmq_restarted_under_load() {
    let broker = TcpProxy::start(addr(RABBITMQ)).await.unwrap();
    let mut system = System::new();
    let (service, notifier) = through_broker_proxy(&mut system, &broker).await;
    let db = direct_pool(&system).await;
    let api = &service.api;
    let k = api.kitchen("luigis").await;
    let published = Published::tap(test_support::amqp::AMQP_URL, &system.exchange, &k.slug).await;
    let (screens, load) = two_screens_under_load(api, &k, notifier.port).await;

    broker.cut();
    tokio::time::sleep(OUTAGE).await;
    broker.restore();
    let fault_end = Instant::now();
    let measured = conclude(
        "rabbitmq restarted",
        &db,
        api,
        &k,
        load,
        screens,
        published,
        fault_end,
    )
    .await;
    assert!(
        measured.screens.iter().all(|screen| screen.resyncs >= 1),
        "the notifier lost its queue, so its screens were told to resync"
    );
}

/// The broker's connections (pid) whose peer port is one of `ports`.
fn broker_connections(ports: &std::collections::HashSet<u16>) -> Vec<String> {
    let output = std::process::Command::new("rabbitmqctl")
        .args([
            "list_connections",
            "--quiet",
            "--no-table-headers",
            "pid",
            "peer_port",
        ])
        .output()
        .expect("rabbitmqctl runs");
    assert!(output.status.success(), "rabbitmqctl list_connections");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let (pid, port) = line.split_once('\t')?;
            let port: u16 = port.trim().parse().ok()?;
            ports.contains(&port).then(|| pid.trim().to_owned())
        })
        .collect()
}

#[tokio::test]
async fn rabbitmq_closes_the_services_connections_under_load() {
    let broker = TcpProxy::start(addr(RABBITMQ)).await.unwrap();
    let mut system = System::new();
    let (service, notifier) = through_broker_proxy(&mut system, &broker).await;
    let db = direct_pool(&system).await;
    let api = &service.api;
    let k = api.kitchen("luigis").await;
    let published = Published::tap(test_support::amqp::AMQP_URL, &system.exchange, &k.slug).await;
    let (screens, load) = two_screens_under_load(api, &k, notifier.port).await;

    // Real connection.close frames from the broker, to the relay and to the notifier.
    let ports = broker.upstream_ports();
    let closed = tokio::task::spawn_blocking(move || {
        let pids = broker_connections(&ports);
        for pid in &pids {
            let status = std::process::Command::new("rabbitmqctl")
                .args(["close_connection", pid, "reliability test"])
                .output()
                .expect("rabbitmqctl runs");
            assert!(status.status.success(), "rabbitmqctl close_connection");
        }
        pids.len()
    })
    .await
    .unwrap();
    let fault_end = Instant::now();
    assert_eq!(closed, 2, "the relay's connection and the notifier's");
    let measured = conclude(
        "rabbitmq closes connections",
        &db,
        api,
        &k,
        load,
        screens,
        published,
        fault_end,
    )
    .await;
    assert!(measured.screens.iter().all(|screen| screen.resyncs >= 1));
}

/// A notifier on a thread and runtime of its own, killed the way a crash would: every task and
/// socket goes at once.
struct KillableNotifier {
    port: u16,
    kill: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl KillableNotifier {
    async fn start(config: kitchen_notifier::config::Config) -> Self {
        let (port_tx, port_rx) = tokio::sync::oneshot::channel();
        let (kill, killed) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let app = kitchen_notifier::startup::Application::build(config)
                    .await
                    .expect("notifier starts");
                let _ = port_tx.send(app.port());
                tokio::select! {
                    _ = app.run_until(std::future::pending()) => {}
                    _ = killed => {}
                }
            });
            runtime.shutdown_background();
        });
        let port = tokio::time::timeout(Duration::from_secs(30), port_rx)
            .await
            .expect("the notifier starts in time")
            .expect("the notifier starts");
        wait_until(
            "the notifier to be ready",
            Duration::from_secs(20),
            || async {
                reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
                    .await
                    .is_ok_and(|r| r.status().as_u16() == 200)
            },
        )
        .await;
        Self {
            port,
            kill: Some(kill),
            thread: Some(thread),
        }
    }

    fn kill(&mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for KillableNotifier {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn a_notifier_killed_under_load_its_screens_move_to_another() {
    let mut system = System::new();
    let service = system.order_service().await;
    let db = direct_pool(&system).await;
    let api = &service.api;
    let k = api.kitchen("luigis").await;
    let mut doomed = KillableNotifier::start(system.notifier_config(&api.base)).await;
    let survivor = system.notifier(api).await;
    let published = Published::tap(test_support::amqp::AMQP_URL, &system.exchange, &k.slug).await;
    let ticket = api.ws_ticket(&k.cook, &k.slug).await;
    let mut screens = Vec::new();
    // Two screens on the notifier that dies (they know the other's address), one on the other.
    for _ in 0..2 {
        let targets = vec![ws_base(doomed.port), ws_base(survivor.port)];
        screens.push(Screen::open(api, &k.cook.access, &k.slug, &ticket, targets).await);
    }
    let targets = vec![ws_base(survivor.port)];
    screens.push(Screen::open(api, &k.cook.access, &k.slug, &ticket, targets).await);
    let load = Load::start(api, &k, ApiClient::pizza_order(&k.menu), 2);
    warm_up(&mut screens, 10).await;

    doomed.kill();
    let fault_end = Instant::now();
    let measured = conclude(
        "notifier killed",
        &db,
        api,
        &k,
        load,
        screens,
        published,
        fault_end,
    )
    .await;
    assert_all_delivered_live(&measured);
    for moved in &measured.screens[..2] {
        assert!(moved.reconnects >= 1, "the screen moved to the survivor");
    }
}

/// The port of the session holding the relay's advisory lock, as PostgreSQL sees it.
async fn relay_leader_port(db: &PgPool) -> Option<i32> {
    sqlx::query_scalar(
        "SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_optional(db)
    .await
    .expect("pg_locks reads")
}

#[tokio::test]
async fn the_active_relay_killed_mid_batch_under_load() {
    let postgres = TcpProxy::start(addr(POSTGRES)).await.unwrap();
    let broker = TcpProxy::start(addr(RABBITMQ)).await.unwrap();
    let mut system = System::new();
    let mut config = system.order_service_config();
    config.database_url = format!(
        "postgres://postgres@127.0.0.1:{}/{}",
        postgres.port(),
        system.database.name
    );
    config.amqp_url = format!("amqp://guest:guest@127.0.0.1:{}/%2f", broker.port());
    // The leader starts alone, so its relay takes the lock.
    // Not on the test's thread: the proxies it connects through run there.
    let mut leader = tokio::task::spawn_blocking(move || Killable::start(config))
        .await
        .expect("the leader starts");
    let db = direct_pool(&system).await;
    wait_until(
        "the leader's relay to be active",
        Duration::from_secs(10),
        || async {
            let port = relay_leader_port(&db).await;
            port.is_some_and(|port| {
                u16::try_from(port).is_ok_and(|port| postgres.upstream_ports().contains(&port))
            })
        },
    )
    .await;
    let standby = system.order_service().await;
    let api = &standby.api;
    let k = api.kitchen("luigis").await;
    let notifier = system.notifier(api).await;
    let published = Published::tap(test_support::amqp::AMQP_URL, &system.exchange, &k.slug).await;
    let (screens, load) = two_screens_under_load(api, &k, notifier.port).await;

    // Catch the leader between publishing a batch and marking it published: hold its
    // publishes, then hold its database link, then let the publishes through. Its UPDATE
    // (marking the batch) is held; the broker has the batch.
    broker.pause();
    wait_until("a publish held", Duration::from_secs(10), || async {
        broker.held_from_clients() > 0
    })
    .await;
    postgres.pause();
    broker.resume();
    wait_until("the mark held", Duration::from_secs(10), || async {
        postgres.held_from_clients() > 0
    })
    .await;
    leader.kill();
    // A crashed process's connections die with it.
    postgres.cut();
    broker.cut();
    let fault_end = Instant::now();
    let measured = conclude(
        "active relay killed mid-batch",
        &db,
        api,
        &k,
        load,
        screens,
        published,
        fault_end,
    )
    .await;
    assert_all_delivered_live(&measured);
    assert!(
        measured.published_duplicates >= 1,
        "the batch the leader published but never marked went out again"
    );
    assert!(
        relay_leader_port(&db).await.is_some(),
        "the standby holds the lock"
    );
}

/// Splits what a server sent after its HTTP upgrade into WebSocket frames: how many arrived
/// whole, and how many bytes of the last one arrived if it was cut (`None` if none was).
fn frames_and_partial_tail(bytes: &[u8]) -> (usize, Option<(usize, usize)>) {
    let start = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
        .expect("an HTTP upgrade response");
    let mut rest = &bytes[start..];
    let mut whole = 0;
    while !rest.is_empty() {
        let header_and_length = match rest.get(1).map(|b| b & 0x7f) {
            None => None,
            Some(126) => rest
                .get(2..4)
                .map(|n| (4, u16::from_be_bytes([n[0], n[1]]) as usize)),
            Some(127) => rest.get(2..10).map(|n| {
                let mut length = [0u8; 8];
                length.copy_from_slice(n);
                (10, u64::from_be_bytes(length) as usize)
            }),
            Some(short) => Some((2, short as usize)),
        };
        match header_and_length {
            Some((header, length)) if rest.len() >= header + length => {
                whole += 1;
                rest = &rest[header + length..];
            }
            Some((header, length)) => return (whole, Some((rest.len(), header + length))),
            None => return (whole, Some((rest.len(), 0))),
        }
    }
    (whole, None)
}

#[tokio::test]
async fn a_screen_cut_mid_frame_under_load_gets_what_it_missed() {
    let mut system = System::new();
    let service = system.order_service().await;
    let db = direct_pool(&system).await;
    let api = &service.api;
    let k = api.kitchen("luigis").await;
    let notifier = system.notifier(api).await;
    let link = TcpProxy::start(addr(&format!("127.0.0.1:{}", notifier.port)))
        .await
        .unwrap();
    link.record_downstream();
    let published = Published::tap(test_support::amqp::AMQP_URL, &system.exchange, &k.slug).await;
    let ticket = api.ws_ticket(&k.cook, &k.slug).await;
    let mut screens = vec![
        Screen::open(
            api,
            &k.cook.access,
            &k.slug,
            &ticket,
            vec![ws_base(link.port())],
        )
        .await,
        Screen::open(
            api,
            &k.cook.access,
            &k.slug,
            &ticket,
            vec![ws_base(notifier.port)],
        )
        .await,
    ];
    let load = Load::start(api, &k, load::large_order(&k), 2);
    warm_up(&mut screens, 10).await;

    // Frames are ~5 KB: 1,500 bytes on, the link drops inside one.
    link.cut_downstream_after(1500);
    wait_until("the cut", Duration::from_secs(10), || async {
        link.downstream_was_cut()
    })
    .await;
    let fault_end = Instant::now();
    let (whole, tail) = frames_and_partial_tail(&link.recorded_downstream());
    let (arrived, size) = tail.expect("the link was cut inside a frame");
    eprintln!(
        "RELIABILITY client cut: after {whole} whole frames, {arrived} of the next frame's {size} bytes"
    );
    let measured = conclude(
        "client cut mid-frame",
        &db,
        api,
        &k,
        load,
        screens,
        published,
        fault_end,
    )
    .await;
    assert_all_delivered_live(&measured);
    assert!(
        measured.screens[0].reconnects >= 1,
        "the cut screen came back"
    );
}

#[tokio::test]
async fn the_brokers_disk_full_under_load_then_freed() {
    if !RabbitNode::available() {
        eprintln!("SKIPPED the_brokers_disk_full_under_load_then_freed: no rabbitmq-server here");
        return;
    }
    let node = tokio::task::spawn_blocking(RabbitNode::start)
        .await
        .expect("the private node starts");
    let mut system = System::new();
    let url = node.amqp_url();
    let relay_url = url.clone();
    let service = system
        .order_service_with(|config| config.amqp_url = relay_url)
        .await;
    let mut config = system.notifier_config(&service.api.base);
    config.amqp_url = url.clone();
    let notifier = System::notifier_from(config).await;
    let db = direct_pool(&system).await;
    let api = &service.api;
    let k = api.kitchen("luigis").await;
    let published = Published::tap(&url, &system.exchange, &k.slug).await;
    let (screens, load) = two_screens_under_load(api, &k, notifier.port).await;

    // A free-space limit above the disk's free space: the disk alarm, publishers blocked.
    let node = std::sync::Arc::new(node);
    let ctl = node.clone();
    tokio::task::spawn_blocking(move || ctl.ctl(&["set_disk_free_limit", "100000GB"]))
        .await
        .unwrap();
    wait_until(
        "events to wait in the outbox",
        Duration::from_secs(15),
        || async {
            let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM order_events_unpublished")
                .fetch_one(&db)
                .await
                .unwrap();
            waiting >= 10
        },
    )
    .await;
    let before = screens[0].last_seq();
    tokio::time::sleep(OUTAGE).await;
    assert_eq!(
        screens[0].last_seq(),
        before,
        "nothing is published while the alarm is on"
    );
    // Measured from before the command: the alarm clears somewhere inside its ~1 s, so the
    // recovery time is an upper bound.
    let fault_end = Instant::now();
    let ctl = node.clone();
    tokio::task::spawn_blocking(move || ctl.ctl(&["set_disk_free_limit", "50MB"]))
        .await
        .unwrap();
    let measured = conclude(
        "broker disk full",
        &db,
        api,
        &k,
        load,
        screens,
        published,
        fault_end,
    )
    .await;
    assert_all_delivered_live(&measured);
    assert_eq!(measured.published_duplicates, 0);
    drop(notifier);
    drop(service);
}
