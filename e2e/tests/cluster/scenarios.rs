//! Node loss under load: orders are confirmed at a steady pace while kitchen screens watch,
//! a node is killed (`kill -9`), and afterwards every screen must hold every committed event,
//! once, in `seq` order, with the very event ids the log has. Each test prints what it
//! measured on a `CLUSTER-RESULT` line: events committed, per screen how many came over the
//! socket and how many the event log had to fill in, duplicates dropped (by the screens; and
//! published twice, as a tap on a surviving node saw them), and the time from the fault to the
//! first event committed after it reaching a screen.
//!
//! Where a test kills the relay's node or the notifier's, the notifier is given the two other
//! nodes only, so the fault hits one service and the figures are that service's; order-service
//! always has all three, and in the two-nodes-down test both have all three.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use sqlx::PgPool;
use test_support::{
    amqp::ExchangeTap,
    api::{ApiClient, Kitchen},
    cluster::{Cluster, NODES},
    wait_until,
};
use tokio::{sync::watch, task::JoinHandle};

use crate::{
    helpers::{Notifier, OrderService, System},
    screen::{Screen, Seen, Via},
};

/// `connection_name` prefixes the services give their broker connections.
pub const RELAY_CONNECTION: &str = "order-service relay";
pub const NOTIFIER_CONNECTION: &str = "kitchen-notifier";
const SCREENS: usize = 3;
/// One confirm per this interval: ~40 orders a second, steady enough to time a recovery by.
const PACE: Duration = Duration::from_millis(25);
/// Orders published before the fault.
const BEFORE_FAULT: i64 = 30;
/// How long the load goes on after the first fresh event arrived.
const AFTER_RECOVERY: Duration = Duration::from_secs(2);
/// How long two nodes stay down.
const OUTAGE: Duration = Duration::from_secs(3);

pub struct Scene {
    pub system: System,
    pub service: OrderService,
    pub notifier: Option<Notifier>,
    pub kitchen: Kitchen,
}

impl Scene {
    /// An order-service whose relay is given `amqp_url`, and a restaurant with its staff.
    pub async fn start(amqp_url: String) -> Scene {
        let mut system = System::new();
        let service = system
            .order_service_with(|config| {
                config.amqp_url = amqp_url;
                // The load confirms ~40 orders a second from one address, past the default caps.
                config.confirm_rates = order_service::config::ConfirmRates {
                    per_address: None,
                    per_restaurant: None,
                };
            })
            .await;
        let kitchen = service.api.kitchen("cluster").await;
        Scene {
            system,
            service,
            notifier: None,
            kitchen,
        }
    }

    pub async fn start_notifier(&mut self, amqp_url: String) {
        let mut config = self.system.notifier_config(&self.service.api.base);
        config.amqp_url = amqp_url;
        let notifier = System::notifier_from(config).await;
        self.notifier = Some(notifier);
    }

    fn notifier_port(&self) -> u16 {
        self.notifier.as_ref().expect("a notifier was started").port
    }

    pub fn db(&self) -> &PgPool {
        self.system.db()
    }

    /// Opens `count` screens (each subscribed when this returns) and lets them watch.
    async fn watch(&self, count: usize) -> Watching {
        let (target, until) = watch::channel(None);
        let mut screens = Vec::new();
        for _ in 0..count {
            let screen = Screen::open(
                self.service.api.clone(),
                self.kitchen.cook.clone(),
                self.kitchen.slug.clone(),
                self.notifier_port(),
            )
            .await;
            screens.push(tokio::spawn(screen.watch(until.clone())));
        }
        Watching { target, screens }
    }

    /// Confirms orders at [`PACE`] until stopped.
    fn load(&self) -> Load {
        let (stop, stopped) = watch::channel(false);
        let api = self.service.api.clone();
        let slug = self.kitchen.slug.clone();
        let order = ApiClient::pizza_order(&self.kitchen.menu);
        let task = tokio::spawn(async move {
            let mut confirmed = 0;
            while !*stopped.borrow() {
                api.confirm(&slug, order.clone()).await.expect(201);
                confirmed += 1;
                tokio::time::sleep(PACE).await;
            }
            confirmed
        });
        Load { stop, task }
    }

    /// Waits until `count` events are published.
    pub async fn await_published(&self, count: i64) {
        wait_until(
            "events to be published",
            Duration::from_secs(20),
            || async { published(self.db()).await >= count },
        )
        .await;
    }

    /// Waits until an event committed after `seq` is published.
    async fn await_published_after(&self, seq: i64, limit: Duration) {
        wait_until(
            "an event committed after the fault to be published",
            limit,
            || async { published_above(self.db(), seq).await },
        )
        .await;
    }

    /// Stops the load, waits until the outbox is empty and every screen has every event, and
    /// checks what each screen holds against the event log.
    async fn finish(&self, load: Load, watching: Watching) -> (i64, Vec<Seen>) {
        self.finish_with(load, 0, watching).await
    }

    /// As [`Scene::finish`], where `inserted` events were committed besides the load's.
    async fn finish_with(&self, load: Load, inserted: i64, watching: Watching) -> (i64, Vec<Seen>) {
        let _ = load.stop.send(true);
        let confirmed: i64 = load.task.await.expect("the load ran");
        let committed = last_seq(self.db()).await;
        assert_eq!(
            committed,
            confirmed + inserted,
            "one event per confirmed order"
        );
        wait_until("the outbox to drain", Duration::from_secs(20), || async {
            unpublished(self.db()).await == 0
        })
        .await;
        let _ = watching.target.send(Some(committed));
        let seen = tokio::time::timeout(
            Duration::from_secs(20),
            futures_util::future::join_all(watching.screens),
        )
        .await
        .expect("every screen caught up within 20 s");
        let log = event_ids(self.db()).await;
        let seen: Vec<Seen> = seen
            .into_iter()
            .map(|screen| screen.expect("a screen ran"))
            .collect();
        for (index, screen) in seen.iter().enumerate() {
            let applied: Vec<(i64, &str)> = screen
                .applied
                .iter()
                .map(|(seq, (id, _, _))| (*seq, id.as_str()))
                .collect();
            let expected: Vec<(i64, &str)> =
                log.iter().map(|(seq, id)| (*seq, id.as_str())).collect();
            assert_eq!(
                applied, expected,
                "screen {index} holds every committed event once, with the log's event ids"
            );
        }
        (committed, seen)
    }
}

struct Watching {
    target: watch::Sender<Option<i64>>,
    screens: Vec<JoinHandle<Seen>>,
}

struct Load {
    stop: watch::Sender<bool>,
    task: JoinHandle<i64>,
}

impl Load {
    /// No load: `confirmed` orders were placed by the test itself.
    fn placed(confirmed: i64) -> Load {
        Load {
            stop: watch::channel(false).0,
            task: tokio::spawn(async move { confirmed }),
        }
    }
}

/// A queue on a node that stays up, counting what the relay published: how many messages,
/// how many distinct event ids.
pub struct Tap {
    expect: watch::Sender<Option<usize>>,
    task: JoinHandle<(usize, usize)>,
}

impl Tap {
    pub async fn start(url: &str, exchange: &str) -> Tap {
        let mut tap = ExchangeTap::bind_at(url, exchange, "orders.#").await;
        let (expect, expected) = watch::channel(None);
        let task = tokio::spawn(async move {
            let mut ids = HashSet::new();
            let mut messages = 0;
            // Until the expected count is in; a tap silent for 5 s once it is known has all
            // it will get.
            loop {
                let known = *expected.borrow();
                if known.is_some_and(|count| ids.len() >= count) {
                    break;
                }
                let wait = if known.is_some() { 5_000 } else { 200 };
                match tap.try_next_within(Duration::from_millis(wait)).await {
                    Some(delivery) => {
                        messages += 1;
                        let body: serde_json::Value =
                            serde_json::from_slice(&delivery.data).expect("a JSON event");
                        ids.insert(body["event_id"].as_str().unwrap_or_default().to_owned());
                    }
                    None if known.is_some() => break,
                    None => {}
                }
            }
            (messages, ids.len())
        });
        Tap { expect, task }
    }

    /// (messages, distinct event ids), once every one of `committed` events arrived; fails
    /// the test if some never did.
    pub async fn finish(self, committed: i64) -> (usize, usize) {
        let _ = self.expect.send(Some(committed as usize));
        let (messages, distinct) = self.task.await.expect("the tap ran");
        assert_eq!(
            distinct as i64, committed,
            "the tap saw every committed event"
        );
        (messages, distinct)
    }
}

async fn scalar(db: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(db)
        .await
        .expect("the event log is readable")
}

async fn last_seq(db: &PgPool) -> i64 {
    scalar(db, "SELECT coalesce(max(seq), 0) FROM order_events").await
}

async fn published(db: &PgPool) -> i64 {
    scalar(
        db,
        "SELECT count(*) FROM order_events e
         JOIN outbox_progress p ON p.restaurant_id = e.restaurant_id AND e.seq <= p.published_seq",
    )
    .await
}

pub async fn unpublished(db: &PgPool) -> i64 {
    scalar(db, "SELECT count(*) FROM order_events_unpublished").await
}

async fn published_above(db: &PgPool, seq: i64) -> bool {
    sqlx::query_scalar::<_, bool>(
        "SELECT EXISTS (SELECT 1 FROM outbox_progress WHERE published_seq > $1)",
    )
    .bind(seq)
    .fetch_one(db)
    .await
    .expect("the event log is readable")
}

async fn last_published_seq(db: &PgPool) -> i64 {
    scalar(
        db,
        "SELECT coalesce(max(published_seq), 0) FROM outbox_progress",
    )
    .await
}

/// Commits `count` events at once: copies of the restaurant's first event (the load's first
/// order), each with its own id and the next `seq`s, and moves the restaurant's sequence on to
/// the last, as every write does. Nothing else is allowed to commit events meanwhile, or their
/// `seq`s would collide.
pub async fn insert_backlog(db: &PgPool, count: i64) {
    sqlx::query(
        "WITH copies AS (
             INSERT INTO order_events (event_id, restaurant_id, seq, order_id, routing_key, payload, occurred_at)
             SELECT copy.id, e.restaurant_id, last.seq + copy.n, e.order_id, e.routing_key,
                    jsonb_set(jsonb_set(e.payload, '{seq}', to_jsonb(last.seq + copy.n)),
                              '{event_id}', to_jsonb(copy.id::text)),
                    now()
             FROM order_events AS e,
                  (SELECT max(seq) AS seq FROM order_events) AS last,
                  (SELECT gen_random_uuid() AS id, n FROM generate_series(1, $1) AS n) AS copy
             WHERE e.seq = 1
             RETURNING restaurant_id, seq)
         UPDATE restaurant_sequences s SET event_seq = last.seq
         FROM (SELECT restaurant_id, max(seq) AS seq FROM copies GROUP BY restaurant_id) AS last
         WHERE s.restaurant_id = last.restaurant_id",
    )
    .bind(count)
    .execute(db)
    .await
    .expect("the backlog is inserted");
}

async fn event_ids(db: &PgPool) -> Vec<(i64, String)> {
    sqlx::query_as::<_, (i64, uuid::Uuid)>("SELECT seq, event_id FROM order_events ORDER BY seq")
        .fetch_all(db)
        .await
        .expect("the event log is readable")
        .into_iter()
        .map(|(seq, id)| (seq, id.to_string()))
        .collect()
}

/// Prints the test's figures on one line; a screen's recovery is the time from `fault_at` to
/// the first event with `seq > seq_at_fault` over its socket.
fn report(
    test: &str,
    committed: i64,
    seen: &[Seen],
    tap: Option<(usize, usize)>,
    fault_at: Instant,
    seq_at_fault: i64,
    note: &str,
) {
    let recoveries: Vec<Duration> = seen
        .iter()
        .map(|screen| {
            screen
                .first_live_after(seq_at_fault)
                .map(|at| at.saturating_duration_since(fault_at))
                .expect("events committed after the fault came over the socket")
        })
        .collect();
    let slowest = recoveries.iter().max().copied().unwrap_or_default();
    let fastest = recoveries.iter().min().copied().unwrap_or_default();
    let screens: Vec<String> = seen
        .iter()
        .map(|screen| {
            format!(
                "{}/{committed} (socket {}, log {}, duplicates dropped {}, overlap dropped {}, \
                 resyncs {}, reopened {})",
                screen.applied.len(),
                screen.via(Via::Socket),
                screen.via(Via::EventLog),
                screen.duplicates,
                screen.overlap,
                screen.resyncs,
                screen.reopened,
            )
        })
        .collect();
    let published = tap.map_or("not tapped".to_owned(), |(messages, distinct)| {
        format!(
            "tap: {messages} messages, {distinct} distinct, {} published twice",
            messages - distinct
        )
    });
    println!(
        "CLUSTER-RESULT {test}: committed {committed}; screens {}; {published}; \
         first fresh event after {:.3} s (slowest screen {:.3} s); {note}",
        screens.join(" | "),
        fastest.as_secs_f64(),
        slowest.as_secs_f64(),
    );
}

fn others(excluded: &[usize]) -> Vec<usize> {
    (0..NODES).filter(|node| !excluded.contains(node)).collect()
}

pub async fn relay_node_killed_while_orders_are_confirmed(cluster: &Cluster) {
    let mut scene = Scene::start(cluster.uris()).await;
    let relay = cluster
        .await_connection(RELAY_CONNECTION, Duration::from_secs(20))
        .await;
    let survivors = others(&[relay]);
    scene.start_notifier(cluster.uris_of(&survivors)).await;
    let tap = Tap::start(&cluster.uri(survivors[0]), &scene.system.exchange).await;
    let watching = scene.watch(SCREENS).await;
    let load = scene.load();
    scene.await_published(BEFORE_FAULT).await;

    let fault_at = Instant::now();
    cluster.kill(relay).await;
    let seq_at_fault = last_seq(scene.db()).await;
    scene
        .await_published_after(seq_at_fault, Duration::from_secs(30))
        .await;
    let now_on = cluster
        .await_connection(RELAY_CONNECTION, Duration::from_secs(10))
        .await;
    assert_ne!(now_on, relay, "the relay moved to a surviving node");
    tokio::time::sleep(AFTER_RECOVERY).await;

    let (committed, seen) = scene.finish(load, watching).await;
    let tapped = tap.finish(committed).await;
    report(
        "relay_node_killed_while_orders_are_confirmed",
        committed,
        &seen,
        Some(tapped),
        fault_at,
        seq_at_fault,
        &format!(
            "relay on {} then {}",
            cluster.node_name(relay),
            cluster.node_name(now_on)
        ),
    );
}

pub async fn notifier_node_killed_while_clients_watch(cluster: &Cluster) {
    let mut scene = Scene::start(cluster.uris()).await;
    let relay = cluster
        .await_connection(RELAY_CONNECTION, Duration::from_secs(20))
        .await;
    scene
        .start_notifier(cluster.uris_of(&others(&[relay])))
        .await;
    let notifier = cluster
        .await_connection(NOTIFIER_CONNECTION, Duration::from_secs(20))
        .await;
    let tap = Tap::start(&cluster.uri(relay), &scene.system.exchange).await;
    let watching = scene.watch(SCREENS).await;
    let load = scene.load();
    scene.await_published(BEFORE_FAULT).await;

    let fault_at = Instant::now();
    cluster.kill(notifier).await;
    let seq_at_fault = last_seq(scene.db()).await;
    let now_on = cluster
        .await_connection(NOTIFIER_CONNECTION, Duration::from_secs(30))
        .await;
    assert_ne!(now_on, notifier, "the notifier moved to a surviving node");
    scene
        .await_published_after(seq_at_fault, Duration::from_secs(30))
        .await;
    tokio::time::sleep(AFTER_RECOVERY).await;

    let (committed, seen) = scene.finish(load, watching).await;
    let tapped = tap.finish(committed).await;
    for screen in &seen {
        assert!(
            screen.resyncs >= 1,
            "a notifier that lost its node tells its screens to resync"
        );
    }
    report(
        "notifier_node_killed_while_clients_watch",
        committed,
        &seen,
        Some(tapped),
        fault_at,
        seq_at_fault,
        &format!(
            "notifier on {} then {}",
            cluster.node_name(notifier),
            cluster.node_name(now_on)
        ),
    );
}

async fn notifier_ready(port: u16) -> bool {
    reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .is_ok_and(|reply| reply.status().as_u16() == 200)
}

pub async fn two_of_three_nodes_down_and_back(cluster: &Cluster) {
    let mut scene = Scene::start(cluster.uris()).await;
    scene.start_notifier(cluster.uris()).await;
    let relay = cluster
        .await_connection(RELAY_CONNECTION, Duration::from_secs(20))
        .await;
    let notifier = cluster
        .await_connection(NOTIFIER_CONNECTION, Duration::from_secs(20))
        .await;
    // Both services' nodes go (or the relay's and another), so both lose their link.
    let killed = if relay == notifier {
        vec![relay, others(&[relay])[0]]
    } else {
        vec![relay, notifier]
    };
    let watching = scene.watch(SCREENS).await;
    let load = scene.load();
    scene.await_published(BEFORE_FAULT).await;

    let fault_at = Instant::now();
    for &node in &killed {
        cluster.kill(node).await;
    }
    // The survivor pauses (pause_minority) and refuses clients: the notifier is not ready,
    // order-service still takes orders (its readiness is the database).
    let port = scene.notifier_port();
    wait_until(
        "the notifier to report not ready",
        Duration::from_secs(15),
        || async { !notifier_ready(port).await },
    )
    .await;
    scene.service.api.get("/readyz", None).await.expect(200);
    // A real outage, long enough for the outbox to fill and the services to back off.
    tokio::time::sleep(OUTAGE).await;
    let unpublished_during = unpublished(scene.db()).await;
    assert!(
        unpublished_during > 0,
        "orders confirmed meanwhile wait in the outbox"
    );

    let restart_at = Instant::now();
    let seq_at_restart = last_seq(scene.db()).await;
    cluster.heal().await;
    let healed_in = restart_at.elapsed();
    wait_until(
        "the notifier to be ready again",
        Duration::from_secs(20),
        || notifier_ready(port),
    )
    .await;
    scene
        .await_published_after(seq_at_restart, Duration::from_secs(20))
        .await;
    tokio::time::sleep(AFTER_RECOVERY).await;

    let (committed, seen) = scene.finish(load, watching).await;
    report(
        "two_of_three_nodes_down_and_back",
        committed,
        &seen,
        None,
        restart_at,
        seq_at_restart,
        &format!(
            "killed {:?}, outage {:.1} s until the restart, {unpublished_during} events waited \
             in the outbox; nodes back in {:.1} s; recovery counted from the restart",
            killed
                .iter()
                .map(|&node| cluster.node_name(node))
                .collect::<Vec<_>>(),
            restart_at.duration_since(fault_at).as_secs_f64(),
            healed_in.as_secs_f64()
        ),
    );
}

pub async fn relay_node_killed_while_draining_a_backlog(cluster: &Cluster) {
    const BACKLOG: i64 = 5_000;
    let mut scene = Scene::start(cluster.uris()).await;
    let relay = cluster
        .await_connection(RELAY_CONNECTION, Duration::from_secs(20))
        .await;
    let survivors = others(&[relay]);
    scene.start_notifier(cluster.uris_of(&survivors)).await;
    let tap = Tap::start(&cluster.uri(survivors[0]), &scene.system.exchange).await;
    let watching = scene.watch(SCREENS).await;
    scene
        .service
        .api
        .place_order(&scene.kitchen.slug, &scene.kitchen.menu)
        .await;
    scene.await_published(1).await;

    // Batches of 500 go out pipelined: the kill lands with confirms in flight.
    insert_backlog(scene.db(), BACKLOG).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while published(scene.db()).await < 300 {
        assert!(
            Instant::now() < deadline,
            "the relay started on the backlog"
        );
        // Polling is the point here: the kill must land mid-drain, not at an event.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let fault_at = Instant::now();
    cluster.kill(relay).await;
    let published_at_fault = last_published_seq(scene.db()).await;
    assert!(
        published_at_fault < BACKLOG,
        "the kill came before the backlog was drained"
    );
    let now_on = cluster
        .await_connection(RELAY_CONNECTION, Duration::from_secs(30))
        .await;
    assert_ne!(now_on, relay, "the relay moved to a surviving node");

    let (committed, seen) = scene.finish_with(Load::placed(1), BACKLOG, watching).await;
    let tapped = tap.finish(committed).await;
    report(
        "relay_node_killed_while_draining_a_backlog",
        committed,
        &seen,
        Some(tapped),
        fault_at,
        published_at_fault,
        &format!(
            "{published_at_fault} of {committed} published at the kill; relay on {} then {}",
            cluster.node_name(relay),
            cluster.node_name(now_on)
        ),
    );
}
