//! The kitchen floor end to end: lines crossed off, rush, a recall and an idempotent retry go
//! through the outbox, the relay, RabbitMQ and the notifier, and a screen sees every new event
//! in `seq` order with nothing missing, each with its kitchen fields.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::System;

#[tokio::test]
async fn a_screen_sees_every_kitchen_floor_change_in_seq_order() {
    let mut system = System::new();
    let service = system.order_service().await;
    let api = &service.api;
    let k = api.kitchen("luigis").await;
    let notifier = system.notifier(api).await;
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

    let order = api
        .confirm(
            &k.slug,
            json!({"items": [
                    {"menu_item_id": k.menu.pizza, "variant_id": k.menu.large, "quantity": 1},
                    {"menu_item_id": k.menu.salad, "variant_id": k.menu.salad_regular, "quantity": 1}],
                   "raw_input": "pizza and salad"}),
        )
        .await
        .expect(201);
    let id = order["id"].as_str().unwrap().to_owned();
    let lines: Vec<i64> = order["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect();
    let items = format!("/api/kitchen/orders/{id}/items/");
    let token = Some(k.cook.access.as_str());
    api.patch(
        &format!("/api/kitchen/orders/{id}/"),
        token,
        json!({"rush": true}),
    )
    .await
    .expect(200);
    api.patch(&items, token, json!({"line_ids": [lines[0]], "done": true}))
        .await
        .expect(200);
    // A retry of the same write with the same key changes nothing and sends nothing.
    let keyed = |body: Value| {
        api.client
            .patch(api.url(&items))
            .bearer_auth(&k.cook.access)
            .header("Idempotency-Key", "last-line")
            .json(&body)
    };
    let last = json!({"line_ids": [lines[1]], "done": true});
    let first = api.send(keyed(last.clone())).await.expect(200);
    let retry = api.send(keyed(last)).await.expect(200);
    assert_eq!(retry, first);
    api.post(
        &format!("/api/kitchen/orders/{id}/recall/"),
        token,
        json!(null),
    )
    .await
    .expect(200);

    let expected = [
        ("order.confirmed", "confirmed", false),
        ("order.updated", "confirmed", true),
        ("order.status_changed", "preparing", true),
        ("order.status_changed", "ready", true),
        ("order.status_changed", "preparing", true),
    ];
    let mut frames = Vec::new();
    for (n, (event, status, rush)) in expected.iter().enumerate() {
        let frame = screen.next_json().await;
        assert_eq!(frame["seq"], start + n as i64 + 1, "{frame}");
        assert_eq!(frame["event"], *event, "{frame}");
        assert_eq!(frame["status"], *status, "{frame}");
        assert_eq!(frame["rush"], *rush, "{frame}");
        assert_eq!(frame["version"], n as i64 + 1);
        assert!(frame["status_changed_at"].is_string());
        frames.push(frame);
    }
    assert!(frames[3]["ready_at"].is_string());
    assert!(frames[3]["items"][1]["done_at"].is_string());
    assert!(frames[4]["recalled_at"].is_string());
    assert_eq!(frames[4]["ready_at"], Value::Null);
    // The retry sent nothing more.
    screen.expect_silence(Duration::from_millis(500)).await;
}
