use std::{collections::HashSet, time::Duration};

use serde_json::Value;
use test_support::{amqp::ExchangeTap, wait_until};

use crate::helpers::{Killable, System, relay_leaders};

#[tokio::test]
async fn a_standby_relay_takes_over_when_the_active_one_dies() {
    let mut system = System::new();
    // The leader starts alone, so its relay is certainly the one holding the lock.
    let mut leader = Killable::start(system.order_service_config());
    let standby = system.order_service().await;
    wait_until("one active relay", Duration::from_secs(10), || async {
        relay_leaders(system.db()).await == 1
    })
    .await;
    let api = &standby.api;
    let k = api.kitchen("luigis").await;
    let mut tap = ExchangeTap::bind(&system.exchange, "orders.#").await;

    let mut orders = Vec::new();
    for _ in 0..5 {
        orders.push(api.place_order(&k.slug, &k.menu).await);
    }
    // The leader is publishing: wait for its first event, then kill it mid-stream.
    let first: Value = serde_json::from_slice(&tap.next().await.data).unwrap();
    assert_eq!(first["seq"], 1);
    leader.kill();
    for order in &orders {
        api.move_order(&k.cook.access, order["id"].as_str().unwrap(), "preparing")
            .await
            .expect(200);
    }
    for _ in 0..5 {
        api.place_order(&k.slug, &k.menu).await;
    }
    let mut seen = HashSet::from([first["event_id"].as_str().unwrap().to_owned()]);
    let mut seqs = vec![1];
    while seqs.len() < 15 {
        let delivery = tap.next_within(Duration::from_secs(30)).await;
        let body: Value = serde_json::from_slice(&delivery.data).unwrap();
        if seen.insert(body["event_id"].as_str().unwrap().to_owned()) {
            seqs.push(body["seq"].as_i64().unwrap());
        }
    }
    assert_eq!(
        seqs,
        (1..=15).collect::<Vec<i64>>(),
        "no event lost or reordered"
    );
    assert_eq!(
        relay_leaders(system.db()).await,
        1,
        "the standby holds the lock now"
    );
}

#[tokio::test]
async fn clients_of_one_restaurant_on_two_notifiers_all_hear_every_event() {
    let mut system = System::new();
    let service = system.order_service().await;
    let api = &service.api;
    let k = api.kitchen("luigis").await;
    let east = system.notifier(api).await;
    let west = system.notifier(api).await;
    let ticket = api.ws_ticket(&k.cook, &k.slug).await;
    let mut screens = vec![
        east.connect(&k.slug, &ticket, None).await,
        east.connect(&k.slug, &ticket, None).await,
        west.connect(&k.slug, &ticket, None).await,
    ];
    let order = api.place_order(&k.slug, &k.menu).await;
    for status in ["preparing", "ready"] {
        api.move_order(&k.cook.access, order["id"].as_str().unwrap(), status)
            .await
            .expect(200);
    }
    for screen in &mut screens {
        for seq in 1..=3 {
            let frame = screen.next_json().await;
            assert_eq!(frame["seq"], seq);
            assert_eq!(frame["id"], order["id"]);
        }
    }
}
