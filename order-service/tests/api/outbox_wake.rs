//! The outbox relay is woken by the request that committed a change, not by its poll: with a
//! poll interval of an hour, every event below can only reach the broker through a wake.

use std::time::Duration;

use test_support::{amqp::ExchangeTap, api::Kitchen};

use crate::helpers::{TestApp, kitchen, spawn_app_with};

const NO_POLL: Duration = Duration::from_secs(3600);
/// Far below the poll, far above any wake.
const IN_TIME: Duration = Duration::from_secs(10);

async fn app_without_poll() -> TestApp {
    spawn_app_with(|config| config.outbox_poll_interval = NO_POLL).await
}

fn routing_key(delivery: &lapin::message::Delivery) -> String {
    delivery.routing_key.as_str().to_owned()
}

#[tokio::test]
async fn a_change_wakes_its_own_instances_relay() {
    let app = app_without_poll().await;
    let mut tap = ExchangeTap::bind(&app.config.exchange, "orders.#").await;
    let k = kitchen(&app, "luigis").await;
    let order = app.place_order(&k.slug, &k.menu).await;
    assert_eq!(
        routing_key(&tap.next_within(IN_TIME).await),
        "orders.luigis.confirmed"
    );
    app.move_order(&k.cook.access, order["id"].as_str().unwrap(), "preparing")
        .await
        .expect(200);
    assert_eq!(
        routing_key(&tap.next_within(IN_TIME).await),
        "orders.luigis.preparing"
    );
}

/// Two instances of one restaurant's system, and a tap on their exchange. The first one's
/// relay is the active one: its own first order went out (and was taken off the tap).
async fn active_and_standby() -> (TestApp, TestApp, Kitchen, ExchangeTap) {
    let active = app_without_poll().await;
    let mut tap = ExchangeTap::bind(&active.config.exchange, "orders.#").await;
    let k = kitchen(&active, "luigis").await;
    active.place_order(&k.slug, &k.menu).await;
    tap.next_within(IN_TIME).await;
    let standby = active.another_instance().await;
    (active, standby, k, tap)
}

#[tokio::test]
async fn a_change_on_a_standby_instance_wakes_the_active_relay() {
    let (_active, standby, k, mut tap) = active_and_standby().await;

    let order = standby.place_order(&k.slug, &k.menu).await;
    let delivery = tap.next_within(IN_TIME).await;
    assert_eq!(routing_key(&delivery), "orders.luigis.confirmed");
    let event: serde_json::Value = serde_json::from_slice(&delivery.data).unwrap();
    assert_eq!(event["order"]["id"], order["id"]);
    standby
        .move_order(&k.cook.access, order["id"].as_str().unwrap(), "preparing")
        .await
        .expect(200);
    assert_eq!(
        routing_key(&tap.next_within(IN_TIME).await),
        "orders.luigis.preparing"
    );
}

/// The active instance hands its own changes to its relay in memory, while the standby's reach
/// it through the outbox: when both change one restaurant at once, the two ways interleave and
/// a handed-over event may follow a hole that only the outbox read can fill. Whatever the
/// interleaving, the restaurant's events leave in `seq` order, each once.
#[tokio::test]
async fn changes_from_two_instances_at_once_leave_in_seq_order_each_once() {
    let (active, standby, k, mut tap) = active_and_standby().await;

    let placed = (0..20).map(|n| {
        let app = if n % 2 == 0 { &active } else { &standby };
        app.place_order(&k.slug, &k.menu)
    });
    futures_util::future::join_all(placed).await;
    let mut seqs = Vec::new();
    for _ in 0..20 {
        let delivery = tap.next_within(IN_TIME).await;
        let event: serde_json::Value = serde_json::from_slice(&delivery.data).unwrap();
        seqs.push(event["seq"].as_i64().unwrap());
    }
    assert_eq!(seqs, (2..=21).collect::<Vec<_>>());
    // Nothing was published twice (a duplicate would follow within moments).
    let extra = tap.try_next_within(Duration::from_millis(500)).await;
    assert!(
        extra.is_none(),
        "published again: {:?}",
        extra.map(|d| d.routing_key)
    );
}

/// The outbox stores an event's payload with placeholders for `seq` and `occurred_at` (its
/// columns hold them): what the relay publishes, whether read back (a restaurant's first
/// event) or handed over in memory (the next), is the event the log holds.
#[tokio::test]
async fn read_and_handed_events_are_published_as_the_log_holds_them() {
    let app = app_without_poll().await;
    let mut tap = ExchangeTap::bind(&app.config.exchange, "orders.#").await;
    let k = kitchen(&app, "luigis").await;
    app.place_order(&k.slug, &k.menu).await;
    app.place_order(&k.slug, &k.menu).await;
    let mut published = Vec::new();
    for _ in 0..2 {
        let delivery = tap.next_within(IN_TIME).await;
        published.push(serde_json::from_slice::<shared_types::OrderEvent>(&delivery.data).unwrap());
    }
    let page = app
        .get(
            &format!("/api/kitchen/{}/events/", k.slug),
            Some(&k.cook.access),
        )
        .await
        .expect(200);
    let logged: Vec<shared_types::OrderEvent> =
        serde_json::from_value(page["events"].clone()).unwrap();
    assert_eq!(published, logged);
    assert_eq!((logged[0].seq, logged[1].seq), (1, 2));
}
