use std::time::Duration;

use lapin::types::AMQPValue;
use serde_json::{Value, json};
use test_support::amqp::ExchangeTap;

use crate::helpers::System;

#[tokio::test]
async fn an_order_and_each_move_reach_the_kitchen_in_order() {
    let mut system = System::new();
    let service = system.order_service().await;
    let api = &service.api;
    let k = api.kitchen("luigis").await;
    let notifier = system.notifier(api).await;
    let mut tap = ExchangeTap::bind(&system.exchange, "orders.#").await;

    // The recommended client flow: open the socket, then fetch the list and note its seq.
    let ticket = api.ws_ticket(&k.cook, &k.slug).await;
    let mut screen = notifier.connect(&k.slug, &ticket, None).await;
    let list = api
        .get(
            &format!("/api/kitchen/{}/orders/", k.slug),
            Some(&k.cook.access),
        )
        .await
        .expect(200);
    let start = list["seq"].as_i64().unwrap();

    let order = api.place_order(&k.slug, &k.menu).await;
    let id = order["id"].as_str().unwrap();
    for status in ["preparing", "ready", "completed"] {
        api.move_order(&k.cook.access, id, status).await.expect(200);
    }

    let expected = [
        ("order.confirmed", "confirmed"),
        ("order.status_changed", "preparing"),
        ("order.status_changed", "ready"),
        ("order.status_changed", "completed"),
    ];
    for (n, (event, status)) in expected.iter().enumerate() {
        let frame = screen.next_json().await;
        assert_eq!(frame["seq"], start + n as i64 + 1, "{frame}");
        assert_eq!(frame["event"], *event);
        assert_eq!(frame["id"], id);
        assert_eq!(frame["status"], *status);
        assert_eq!(frame["version"], n as i64 + 1);
        assert_eq!(frame["total_price"], "33.98");
        assert_eq!(frame["restaurant"], "luigis");
        assert!(frame["event_id"].is_string());
    }

    // What went over the exchange: key, properties, headers and body as API.md says.
    for (n, (event, status)) in expected.iter().enumerate() {
        let delivery = tap.next().await;
        assert_eq!(
            delivery.routing_key.as_str(),
            format!("orders.luigis.{status}")
        );
        let body: Value = serde_json::from_slice(&delivery.data).unwrap();
        assert_eq!(body["event"], *event);
        assert_eq!(body["seq"], n as i64 + 1);
        assert_eq!(body["restaurant"], "luigis");
        assert_eq!(body["order"]["id"], id);
        assert_eq!(body["order"]["status"], *status);
        assert!(body["occurred_at"].is_string());
        let properties = &delivery.properties;
        assert_eq!(
            properties.content_type().as_ref().map(|s| s.as_str()),
            Some("application/json")
        );
        assert_eq!(*properties.delivery_mode(), Some(2), "persistent");
        assert_eq!(
            properties.message_id().as_ref().map(|s| s.as_str()),
            body["event_id"].as_str()
        );
        let headers = properties.headers().as_ref().expect("headers");
        let traceparent = match headers.inner().get("traceparent") {
            Some(AMQPValue::LongString(value)) => value.to_string(),
            other => panic!("traceparent header missing: {other:?}"),
        };
        let parts: Vec<&str> = traceparent.split('-').collect();
        assert_eq!(parts.len(), 4, "{traceparent}");
        assert_eq!(
            (parts[0], parts[1].len(), parts[2].len()),
            ("00", 32, 16),
            "{traceparent}"
        );
    }

    // The event log agrees.
    let page = api
        .get(
            &format!("/api/kitchen/{}/events/?after={start}", k.slug),
            Some(&k.cook.access),
        )
        .await
        .expect(200);
    assert_eq!(page["events"].as_array().unwrap().len(), 4);
    assert_eq!(page["last_seq"], start + 4);
}

#[tokio::test]
async fn tickets_come_from_order_service_for_staff_only() {
    let mut system = System::new();
    let service = system.order_service().await;
    let api = &service.api;
    let k = api.kitchen("luigis").await;
    let outsider = api.register("outsider").await;
    let path = format!("/api/kitchen/{}/ws-ticket/", k.slug);
    api.post(&path, None, json!({})).await.expect_error(401);
    api.post(&path, Some(&outsider.access), json!({}))
        .await
        .expect_error(403);
    api.post(
        "/api/kitchen/nowhere/ws-ticket/",
        Some(&outsider.access),
        json!({}),
    )
    .await
    .expect_error(404);
    let issued = api
        .post(&path, Some(&k.owner.access), json!({}))
        .await
        .expect(200);
    assert_eq!(issued["expires_in"], 60);

    // The notifier verifies it with the key it fetched from order-service.
    let notifier = system.notifier(api).await;
    let ticket = issued["ticket"].as_str().unwrap();
    let mut screen = notifier.connect(&k.slug, ticket, None).await;
    // The same ticket opens a second socket, and is refused for another restaurant.
    let _second = notifier.connect(&k.slug, ticket, None).await;
    let other = api.register("other").await;
    let other_slug = api.create_restaurant(&other, "marios").await;
    let url = format!(
        "ws://127.0.0.1:{}/ws/kitchen/{other_slug}/?ticket={ticket}",
        notifier.port
    );
    match handshake_status(&url).await {
        Some(403) => {}
        other => panic!("expected 403, got {other:?}"),
    }
    api.place_order(&k.slug, &k.menu).await;
    assert_eq!(screen.next_json().await["status"], "confirmed");
}

/// The HTTP status of a refused handshake (`None` if it was accepted).
async fn handshake_status(url: &str) -> Option<u16> {
    let (status_tx, status_rx) = tokio::sync::oneshot::channel();
    let url = url.to_owned();
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        // A well-formed upgrade request; a refusal answers before upgrading.
        let response = client
            .get(url.replace("ws://", "http://"))
            .header("Connection", "Upgrade")
            .header("Upgrade", "websocket")
            .header("Sec-WebSocket-Version", "13")
            .header("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
            .send()
            .await
            .unwrap();
        let _ = status_tx.send(response.status().as_u16());
    });
    let status = tokio::time::timeout(Duration::from_secs(10), status_rx)
        .await
        .ok()?
        .ok()?;
    (status != 101).then_some(status)
}

#[tokio::test]
async fn the_kitchen_client_recipe_never_misses_an_event() {
    // API.md: open the socket, fetch the list (seq S), apply frames with seq > S; on a gap,
    // read the events API after the last seq applied.
    let mut system = System::new();
    let service = system.order_service().await;
    let api = &service.api;
    let k = api.kitchen("luigis").await;
    let notifier = system.notifier(api).await;
    api.place_order(&k.slug, &k.menu).await;
    api.place_order(&k.slug, &k.menu).await;

    let ticket = api.ws_ticket(&k.cook, &k.slug).await;
    let mut screen = notifier.connect(&k.slug, &ticket, None).await;
    let third = api.place_order(&k.slug, &k.menu).await;
    let list = api
        .get(
            &format!("/api/kitchen/{}/orders/", k.slug),
            Some(&k.cook.access),
        )
        .await
        .expect(200);
    let start = list["seq"].as_i64().unwrap();
    api.move_order(&k.cook.access, third["id"].as_str().unwrap(), "preparing")
        .await
        .expect(200);

    let mut orders: std::collections::HashMap<String, i64> = list["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["id"].as_str().unwrap().to_owned(),
                o["version"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut last = start;
    while last < start + 1 {
        let frame = screen.next_json().await;
        let seq = frame["seq"].as_i64().unwrap();
        if seq <= last {
            continue; // already in the list
        }
        assert_eq!(seq, last + 1, "no gap");
        last = seq;
        let version = orders
            .entry(frame["id"].as_str().unwrap().to_owned())
            .or_insert(0);
        *version = (*version).max(frame["version"].as_i64().unwrap());
    }
    assert_eq!(orders.len(), 3);
    assert_eq!(orders[third["id"].as_str().unwrap()], 2);
}

#[tokio::test]
async fn after_order_service_changes_its_ticket_key_a_burst_of_handshakes_all_succeed() {
    // The notifier fetched the first instance's key; then order-service "restarts" with a new
    // key (a second instance behind the same address). Every handshake of a burst with tickets
    // of the new key must succeed: one refetches the key, the others wait for it.
    let mut system = System::new();
    let first = system.order_service().await;
    let second = system.order_service().await;
    let first_addr = first
        .api
        .base
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let second_addr = second
        .api
        .base
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let proxy = test_support::TcpProxy::start(first_addr).await.unwrap();
    let refetch_interval = Duration::from_millis(1500);
    let notifier = system
        .notifier_with(&format!("http://127.0.0.1:{}", proxy.port()), |tuning| {
            tuning.ticket_key_refetch_interval = refetch_interval;
        })
        .await;
    let first_fetch_done_by = tokio::time::Instant::now();
    test_support::wait_until(
        "the first key to be fetched",
        Duration::from_secs(10),
        || async {
            reqwest::get(format!("http://127.0.0.1:{}/readyz", notifier.port))
                .await
                .unwrap()
                .json::<Value>()
                .await
                .is_ok_and(|body| body["ticket_key_loaded"] == true)
        },
    )
    .await;
    // The "restart": the old instance's connections drop, new ones reach the second instance.
    proxy.cut();
    proxy.redirect(second_addr);
    proxy.restore();

    let api = &second.api;
    let k = api.kitchen("luigis").await;
    let mut tickets = Vec::new();
    for _ in 0..20 {
        tickets.push(api.ws_ticket(&k.cook, &k.slug).await);
    }
    // Past the refetch rate limit, as after a real restart: the first failing handshake may
    // refetch, and the burst must not outrun it.
    tokio::time::sleep_until(first_fetch_done_by + refetch_interval).await;
    let urls: Vec<String> = tickets
        .iter()
        .map(|ticket| {
            format!(
                "ws://127.0.0.1:{}/ws/kitchen/{}/?ticket={ticket}",
                notifier.port, k.slug
            )
        })
        .collect();
    let statuses =
        futures_util::future::join_all(urls.iter().map(|url| handshake_status(url))).await;
    assert!(
        statuses.iter().all(Option::is_none),
        "refused handshakes: {statuses:?}"
    );
}
