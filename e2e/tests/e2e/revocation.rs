//! A cook removed from the staff stops watching: their open kitchen socket is closed with 4403
//! at once (also when the broker was away at the moment of the removal), they get no new
//! ticket, and nothing of it shows in the restaurant's event sequence. And every socket is
//! closed with 1001 after its maximum lifetime, so a client shows its right to watch again.

use std::time::Duration;

use lapin::types::AMQPValue;
use serde_json::{Value, json};
use test_support::{TcpProxy, amqp::ExchangeTap, wait_until, ws};

use crate::helpers::System;

/// The close code of a socket whose user was removed from the restaurant's staff.
const STAFF_ACCESS_REMOVED: u16 = 4403;

#[tokio::test]
async fn removing_a_cook_closes_their_socket_with_4403_and_no_one_elses() {
    let mut system = System::new();
    let service = system.order_service().await;
    let api = &service.api;
    let k = api.kitchen("luigis").await;
    let colleague = api.register("colleague").await;
    api.add_staff(&k.owner, &k.slug, &colleague, "kitchen")
        .await;
    let notifier = system.notifier(api).await;
    let mut staff_tap = ExchangeTap::bind(&system.exchange, "staff.#").await;
    let cook_ticket = api.ws_ticket(&k.cook, &k.slug).await;
    let mut cook_screen = notifier.connect(&k.slug, &cook_ticket, None).await;
    let colleague_ticket = api.ws_ticket(&colleague, &k.slug).await;
    let mut colleague_screen = notifier.connect(&k.slug, &colleague_ticket, None).await;
    let order = api.place_order(&k.slug, &k.menu).await;
    let order_id = order["id"].as_str().unwrap();
    assert_eq!(cook_screen.next_json().await["seq"], 1);
    assert_eq!(colleague_screen.next_json().await["seq"], 1);

    let removal = api
        .delete(
            &format!("/api/restaurants/{}/staff/{}/", k.slug, k.cook.id),
            Some(&k.owner.access),
        )
        .await;
    assert_eq!(removal.status.as_u16(), 204);
    assert_eq!(
        cook_screen.close_code_within(Duration::from_secs(5)).await,
        Some(STAFF_ACCESS_REMOVED)
    );

    // The colleague's socket stays and is fed; the next change takes the next seq, no hole.
    api.move_order(&colleague.access, order_id, "preparing")
        .await
        .expect(200);
    let frame = colleague_screen.next_json().await;
    assert_eq!(
        (frame["seq"].as_i64(), &frame["status"]),
        (Some(2), &json!("preparing"))
    );

    // The removed cook gets no new ticket, and the one from before opens nothing.
    api.post(
        &format!("/api/kitchen/{}/ws-ticket/", k.slug),
        Some(&k.cook.access),
        json!({}),
    )
    .await
    .expect_error(403);
    let url = format!(
        "ws://127.0.0.1:{}/ws/kitchen/{}/?ticket={cook_ticket}",
        notifier.port, k.slug
    );
    assert_eq!(ws::refused(&url).await, 403);

    // What went over the exchange: the staff message, with its own key and no seq.
    let delivery = staff_tap.next().await;
    assert_eq!(delivery.routing_key.as_str(), "staff.luigis.removed");
    let body: Value = serde_json::from_slice(&delivery.data).unwrap();
    assert_eq!(body["event"], "staff.removed");
    assert_eq!(body["restaurant"], "luigis");
    assert_eq!(body["user_id"], k.cook.id.to_string());
    assert!(body["occurred_at"].is_string());
    assert!(body.get("seq").is_none(), "{body}");
    let properties = &delivery.properties;
    assert_eq!(*properties.delivery_mode(), Some(2), "persistent");
    assert_eq!(
        properties.message_id().as_ref().map(|id| id.as_str()),
        body["event_id"].as_str()
    );
    assert_eq!(
        properties.content_type().as_ref().map(|t| t.as_str()),
        Some("application/json")
    );
    let headers = properties.headers().as_ref().expect("headers");
    assert!(matches!(
        headers.inner().get("traceparent"),
        Some(AMQPValue::LongString(_))
    ));

    // The restaurant's event log holds the two order changes and nothing else.
    let page = api
        .get(
            &format!("/api/kitchen/{}/events/", k.slug),
            Some(&colleague.access),
        )
        .await
        .expect(200);
    let events: Vec<(i64, String)> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["event"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        events,
        vec![
            (1, "order.confirmed".to_owned()),
            (2, "order.status_changed".to_owned())
        ]
    );
    assert_eq!(page["last_seq"], 2);
}

#[tokio::test]
async fn a_removal_made_while_the_broker_is_unreachable_closes_the_socket_once_it_is_back() {
    let proxy = TcpProxy::start("127.0.0.1:5672".parse().unwrap())
        .await
        .unwrap();
    let broker_port = proxy.port();
    let mut system = System::new();
    // Only order-service goes through the proxy: the notifier keeps its broker link.
    let service = system
        .order_service_with(|config| {
            config.amqp_url = format!("amqp://guest:guest@127.0.0.1:{broker_port}/%2f?heartbeat=2");
        })
        .await;
    let api = &service.api;
    let k = api.kitchen("luigis").await;
    let notifier = system.notifier(api).await;
    let ticket = api.ws_ticket(&k.cook, &k.slug).await;
    let mut screen = notifier.connect(&k.slug, &ticket, None).await;
    api.place_order(&k.slug, &k.menu).await;
    assert_eq!(
        screen.next_json().await["seq"],
        1,
        "the relay is publishing"
    );

    proxy.cut();
    let removal = api
        .delete(
            &format!("/api/restaurants/{}/staff/{}/", k.slug, k.cook.id),
            Some(&k.owner.access),
        )
        .await;
    assert_eq!(
        removal.status.as_u16(),
        204,
        "the removal does not wait for the broker"
    );
    let waiting = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM staff_outbox WHERE published_at IS NULL")
            .fetch_one(system.db())
            .await
            .unwrap()
    };
    assert_eq!(waiting().await, 1, "the message waits in the outbox");
    // Nothing can tell the notifier yet: the socket stays open.
    screen.expect_silence(Duration::from_millis(500)).await;

    proxy.restore();
    // The relay's reconnect backoff is at most 10 s.
    assert_eq!(
        screen.close_code_within(Duration::from_secs(30)).await,
        Some(STAFF_ACCESS_REMOVED)
    );
    wait_until(
        "the staff outbox to drain",
        Duration::from_secs(10),
        || async { waiting().await == 0 },
    )
    .await;
}

#[tokio::test]
async fn at_the_end_of_its_lifetime_a_socket_gets_1001_and_the_client_reconnects_with_after() {
    let mut system = System::new();
    let service = system.order_service().await;
    let api = &service.api;
    let k = api.kitchen("luigis").await;
    let notifier = system
        .notifier_with(&api.base, |tuning| {
            tuning.max_socket_lifetime = Duration::from_secs(1);
            // The reconnect below finds the feed still there, whatever the machine's load.
            tuning.unbind_grace = Duration::from_secs(30);
        })
        .await;
    let ticket = api.ws_ticket(&k.cook, &k.slug).await;
    let mut screen = notifier.connect(&k.slug, &ticket, None).await;
    api.place_order(&k.slug, &k.menu).await;
    let last_applied = screen.next_json().await["seq"].as_i64().unwrap();
    assert_eq!(
        screen.close_code_within(Duration::from_secs(10)).await,
        Some(1001)
    );

    // Meanwhile another order; the client gets a new ticket (staff is checked again) and
    // reconnects with `after`: it misses nothing.
    api.place_order(&k.slug, &k.menu).await;
    let ticket = api.ws_ticket(&k.cook, &k.slug).await;
    let mut screen = notifier.connect(&k.slug, &ticket, Some(last_applied)).await;
    assert_eq!(screen.next_json().await["seq"], last_applied + 1);
}
