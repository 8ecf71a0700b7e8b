//! The outbox relay is woken by the request that committed a change, not by its poll: with a
//! poll interval of an hour, every event below can only reach the broker through a wake.

use std::time::Duration;

use test_support::amqp::ExchangeTap;

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

#[tokio::test]
async fn a_change_on_a_standby_instance_wakes_the_active_relay() {
    let active = app_without_poll().await;
    let mut tap = ExchangeTap::bind(&active.config.exchange, "orders.#").await;
    let k = kitchen(&active, "luigis").await;
    // The first instance's relay is the active one: its own order went out.
    active.place_order(&k.slug, &k.menu).await;
    tap.next_within(IN_TIME).await;

    let standby = active.another_instance().await;
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
