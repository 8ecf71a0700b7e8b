use std::{collections::HashSet, time::Duration};

use serde_json::Value;
use test_support::{TcpProxy, amqp::ExchangeTap, wait_until};

use crate::helpers::System;

/// Reads the tap until every seq in `1..=last` was seen; returns the seqs in arrival order with
/// duplicates (by event id) removed.
async fn collect_until(tap: &mut ExchangeTap, last: i64) -> Vec<i64> {
    let mut seen_events = HashSet::new();
    let mut seqs = Vec::new();
    while seqs.len() < last as usize {
        let delivery = tap.next_within(Duration::from_secs(30)).await;
        let body: Value = serde_json::from_slice(&delivery.data).unwrap();
        if seen_events.insert(body["event_id"].as_str().unwrap().to_owned()) {
            seqs.push(body["seq"].as_i64().unwrap());
        }
    }
    seqs
}

#[tokio::test]
async fn changes_committed_while_the_broker_is_unreachable_are_published_later_in_order() {
    let proxy = TcpProxy::start("127.0.0.1:5672".parse().unwrap())
        .await
        .unwrap();
    let broker_port = proxy.port();
    let mut system = System::new();
    let service = system
        .order_service_with(|config| {
            config.amqp_url = format!("amqp://guest:guest@127.0.0.1:{broker_port}/%2f?heartbeat=2");
        })
        .await;
    let api = &service.api;
    let k = api.kitchen("luigis").await;
    let notifier = system.notifier(api).await;
    let mut tap = ExchangeTap::bind(&system.exchange, "orders.luigis.*").await;
    let ticket = api.ws_ticket(&k.cook, &k.slug).await;
    let mut screen = notifier.connect(&k.slug, &ticket, None).await;

    let first = api.place_order(&k.slug, &k.menu).await;
    assert_eq!(screen.next_json().await["seq"], 1);

    proxy.cut();
    // Orders are still taken and moved; the service stays ready (its readiness is the database).
    let second = api.place_order(&k.slug, &k.menu).await;
    for status in ["preparing", "ready"] {
        api.move_order(&k.cook.access, first["id"].as_str().unwrap(), status)
            .await
            .expect(200);
    }
    api.move_order(&k.cook.access, second["id"].as_str().unwrap(), "cancelled")
        .await
        .expect(200);
    api.get("/readyz", None).await.expect(200);
    let unpublished: i64 = sqlx::query_scalar("SELECT count(*) FROM order_events_unpublished")
        .fetch_one(system.db())
        .await
        .unwrap();
    assert!(
        unpublished >= 1,
        "events wait in the outbox while the broker is away"
    );

    proxy.restore();
    let seqs = collect_until(&mut tap, 5).await;
    assert_eq!(
        seqs,
        vec![1, 2, 3, 4, 5],
        "every event, in seq order, once each after dedup"
    );
    for seq in 2..=5 {
        assert_eq!(screen.next_json().await["seq"], seq);
    }
    wait_until("the outbox to drain", Duration::from_secs(10), || async {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM order_events_unpublished")
            .fetch_one(system.db())
            .await
            .unwrap();
        left == 0
    })
    .await;
}
