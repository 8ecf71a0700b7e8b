use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{ApiClient, TestApp, count_rows, kitchen, spawn_app};

async fn count(app: &TestApp, table: &str) -> i64 {
    count_rows(app, table).await
}

#[tokio::test]
async fn confirm_creates_a_priced_confirmed_order() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let order = app.place_order(&k.slug, &k.menu).await;
    assert_eq!(order["status"], "confirmed");
    assert_eq!(order["restaurant"], "luigis");
    assert_eq!(order["version"], 1);
    assert_eq!(order["total_price"], "33.98");
    assert_eq!(order["table_identifier"], "5");
    assert_eq!(order["language"], "en");
    assert!(order["id"].as_str().unwrap().parse::<uuid::Uuid>().is_ok());
    assert!(chrono::DateTime::parse_from_rfc3339(order["created_at"].as_str().unwrap()).is_ok());
    assert_eq!(order["created_at"], order["updated_at"]);
    let items = order["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let line = &items[0];
    assert!(line["id"].is_i64());
    assert_eq!(line["menu_item_id"], k.menu.pizza);
    assert_eq!(line["name"], "Pizza");
    assert_eq!(line["variant_label"], "Large");
    assert_eq!(line["variant_price"], "14.99");
    assert_eq!(line["quantity"], 2);
    assert_eq!(line["special_requests"], "well done");
    assert_eq!(
        line["modifiers"],
        json!([{"id": k.menu.cheese, "name": "Extra Cheese", "price_adjustment": "2.00"}])
    );

    // The status endpoint shows the same order.
    let id = order["id"].as_str().unwrap();
    let status = app
        .get(&format!("/api/order/{}/status/{id}/", k.slug), None)
        .await
        .expect(200);
    assert_eq!(status, order);
}

#[tokio::test]
async fn several_lines_and_defaults() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let order = app
        .confirm(
            &k.slug,
            json!({"items": [
                {"menu_item_id": k.menu.pizza, "variant_id": k.menu.small, "quantity": 1, "modifier_ids": [k.menu.olives, k.menu.cheese]},
                {"menu_item_id": k.menu.salad, "variant_id": k.menu.salad_regular, "quantity": 3}
            ], "raw_input": "a small pizza and three salads"}),
        )
        .await
        .expect(201);
    // (9.50 + 0.75 + 2.00) × 1 + 7.25 × 3 = 34.00
    assert_eq!(order["total_price"], "34.00");
    assert_eq!(order["table_identifier"], Value::Null);
    assert_eq!(order["language"], "en");
    assert_eq!(order["items"][0]["modifiers"][0]["name"], "Olives");
    assert_eq!(order["items"][0]["modifiers"][1]["name"], "Extra Cheese");
    assert_eq!(order["items"][1]["name"], "Salad");
    assert_eq!(order["items"][1]["special_requests"], Value::Null);
    assert_eq!(order["items"][1]["modifiers"], json!([]));

    // What was stored (lines, their ids and modifiers in order) is what the confirm returned.
    let id = order["id"].as_str().unwrap();
    let stored = app
        .get(&format!("/api/order/{}/status/{id}/", k.slug), None)
        .await
        .expect(200);
    assert_eq!(stored, order);
}

#[tokio::test]
async fn invalid_orders_are_400_and_create_nothing() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let other = app.register("other").await;
    let other_slug = app.create_restaurant(&other, "marios").await;
    let foreign = app.seed_menu(&other, &other_slug).await;
    let m = &k.menu;
    let line = |item: i64, variant: i64, quantity: i64, modifiers: Vec<i64>| {
        json!({"items": [{"menu_item_id": item, "variant_id": variant, "quantity": quantity, "modifier_ids": modifiers}],
               "raw_input": "x"})
    };
    let cases = vec![
        ("empty items", json!({"items": [], "raw_input": "x"})),
        ("unknown item", line(999_999, m.large, 1, vec![])),
        (
            "another restaurant's item",
            line(foreign.pizza, foreign.large, 1, vec![]),
        ),
        (
            "variant of another item",
            line(m.pizza, m.salad_regular, 1, vec![]),
        ),
        (
            "another restaurant's variant",
            line(m.pizza, foreign.large, 1, vec![]),
        ),
        (
            "modifier of another restaurant",
            line(m.pizza, m.large, 1, vec![foreign.cheese]),
        ),
        ("quantity 0", line(m.pizza, m.large, 0, vec![])),
        ("quantity 100", line(m.pizza, m.large, 100, vec![])),
        (
            "repeated modifier",
            line(m.pizza, m.large, 1, vec![m.cheese, m.cheese]),
        ),
        (
            "raw_input too long",
            json!({"items": [{"menu_item_id": m.pizza, "variant_id": m.large, "quantity": 1}], "raw_input": "x".repeat(2001)}),
        ),
        (
            "special_requests too long",
            json!({"items": [{"menu_item_id": m.pizza, "variant_id": m.large, "quantity": 1, "special_requests": "x".repeat(501)}], "raw_input": "x"}),
        ),
        (
            "table too long",
            json!({"items": [{"menu_item_id": m.pizza, "variant_id": m.large, "quantity": 1}], "raw_input": "x", "table_identifier": "x".repeat(51)}),
        ),
        (
            "missing raw_input",
            json!({"items": [{"menu_item_id": m.pizza, "variant_id": m.large, "quantity": 1}]}),
        ),
        (
            "quantity as text",
            json!({"items": [{"menu_item_id": m.pizza, "variant_id": m.large, "quantity": "2"}], "raw_input": "x"}),
        ),
    ];
    for (case, body) in cases {
        let reply = app.confirm(&k.slug, body).await;
        assert_eq!(reply.status.as_u16(), 400, "{case}: {}", reply.body);
        reply.expect_error(400);
    }
    // Bounds are inclusive: exactly at the limits is fine.
    app.confirm(
        &k.slug,
        json!({"items": [{"menu_item_id": m.pizza, "variant_id": m.large, "quantity": 99, "special_requests": "é".repeat(500)}],
               "raw_input": "ü".repeat(2000), "table_identifier": "t".repeat(50)}),
    )
    .await
    .expect(201);
    assert_eq!(count(&app, "orders").await, 1);
    assert_eq!(count(&app, "order_events").await, 1);
}

#[tokio::test]
async fn inactive_items_and_categories_cannot_be_ordered() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let token = Some(k.owner.access.as_str());
    app.patch(
        &format!("/api/restaurants/{}/menu/items/{}/", k.slug, k.menu.pizza),
        token,
        json!({"is_active": false}),
    )
    .await
    .expect(200);
    app.confirm(&k.slug, ApiClient::pizza_order(&k.menu))
        .await
        .expect_error(400);
    app.patch(
        &format!("/api/restaurants/{}/menu/items/{}/", k.slug, k.menu.pizza),
        token,
        json!({"is_active": true}),
    )
    .await
    .expect(200);
    app.place_order(&k.slug, &k.menu).await;
}

#[tokio::test]
async fn unknown_restaurant_is_404() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    app.confirm("nowhere", ApiClient::pizza_order(&k.menu))
        .await
        .expect_error(404);
    // Whatever the body or the Idempotency-Key (at most 255 characters): an unknown restaurant
    // is not a validation error.
    app.confirm("nowhere", json!({"items": [], "raw_input": ""}))
        .await
        .expect_error(404);
    app.send(
        app.client
            .post(app.url("/api/order/nowhere/confirm/"))
            .header("Idempotency-Key", "k".repeat(256))
            .json(&ApiClient::pizza_order(&k.menu)),
    )
    .await
    .expect_error(404);
    app.send(
        app.client
            .post(app.url(&format!("/api/order/{}/confirm/", k.slug)))
            .header("Idempotency-Key", "k".repeat(256))
            .json(&ApiClient::pizza_order(&k.menu)),
    )
    .await
    .expect_error(400);
    app.get(
        &format!("/api/order/nowhere/status/{}/", uuid::Uuid::new_v4()),
        None,
    )
    .await
    .expect_error(404);
}

#[tokio::test]
async fn status_of_another_restaurants_order_is_404() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let other = app.register("other").await;
    let other_slug = app.create_restaurant(&other, "marios").await;
    let order = app.place_order(&k.slug, &k.menu).await;
    let id = order["id"].as_str().unwrap();
    app.get(&format!("/api/order/{other_slug}/status/{id}/"), None)
        .await
        .expect_error(404);
    app.get(
        &format!("/api/order/{}/status/{}/", k.slug, uuid::Uuid::new_v4()),
        None,
    )
    .await
    .expect_error(404);
    app.get(&format!("/api/order/{}/status/not-a-uuid/", k.slug), None)
        .await
        .expect_error(404);
}

#[tokio::test]
async fn idempotent_replay_returns_the_first_order_and_creates_nothing() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let send = |key: &str, body: Value| {
        app.send(
            app.client
                .post(app.url(&format!("/api/order/{}/confirm/", k.slug)))
                .header("Idempotency-Key", key)
                .json(&body),
        )
    };
    let body = ApiClient::pizza_order(&k.menu);
    let first = send("order-123", body.clone()).await.expect(201);
    let replay = send("order-123", body.clone()).await.expect(200);
    assert_eq!(replay["id"], first["id"]);
    assert_eq!(replay, first);

    let list = app.kitchen_list(&k.slug, &k.cook.access).await;
    assert_eq!(list["orders"].as_array().unwrap().len(), 1);
    assert_eq!(list["seq"], 1);

    // Same key, different body: 409. The same body with another key is a new order.
    let mut different = body.clone();
    different["items"][0]["quantity"] = json!(3);
    send("order-123", different).await.expect_error(409);
    let second = send("order-124", body.clone()).await.expect(201);
    assert_ne!(second["id"], first["id"]);

    // A key is scoped to its restaurant.
    let other = app.register("other").await;
    let other_slug = app.create_restaurant(&other, "marios").await;
    let other_menu = app.seed_menu(&other, &other_slug).await;
    app.send(
        app.client
            .post(app.url(&format!("/api/order/{other_slug}/confirm/")))
            .header("Idempotency-Key", "order-123")
            .json(&ApiClient::pizza_order(&other_menu)),
    )
    .await
    .expect(201);

    // Malformed keys.
    send("", body.clone()).await.expect_error(400);
    send(&"k".repeat(256), body.clone()).await.expect_error(400);
    assert_eq!(count(&app, "orders").await, 3);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_create_one_order() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let body = ApiClient::pizza_order(&k.menu);
    let replies = join_all((0..20).map(|_| {
        app.send(
            app.client
                .post(app.url(&format!("/api/order/{}/confirm/", k.slug)))
                .header("Idempotency-Key", "same-key")
                .json(&body),
        )
    }))
    .await;
    let created = replies.iter().filter(|r| r.status.as_u16() == 201).count();
    assert_eq!(created, 1, "exactly one request creates the order");
    let ids: std::collections::HashSet<String> = replies
        .iter()
        .map(|r| {
            assert!([200, 201].contains(&r.status.as_u16()), "{:?}", r);
            r.body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "every request gets that one order");
    assert_eq!(count(&app, "orders").await, 1);
    assert_eq!(count(&app, "order_events").await, 1);
}

#[tokio::test]
async fn menu_changes_do_not_change_past_orders() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let order = app.place_order(&k.slug, &k.menu).await;
    let token = Some(k.owner.access.as_str());
    let base = format!("/api/restaurants/{}/menu", k.slug);
    app.patch(
        &format!("{base}/variants/{}/", k.menu.large),
        token,
        json!({"price": "20.00", "label": "XL"}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("{base}/modifiers/{}/", k.menu.cheese),
        token,
        json!({"price_adjustment": "5.00", "name": "Cheese"}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("{base}/items/{}/", k.menu.pizza),
        token,
        json!({"name": "Pie"}),
    )
    .await
    .expect(200);

    let id = order["id"].as_str().unwrap();
    let after = app
        .get(&format!("/api/order/{}/status/{id}/", k.slug), None)
        .await
        .expect(200);
    assert_eq!(after, order);
    assert_eq!(after["total_price"], "33.98");
    // A new order takes the new prices: (20.00 + 5.00) × 2.
    let new_order = app.place_order(&k.slug, &k.menu).await;
    assert_eq!(new_order["total_price"], "50.00");
    assert_eq!(new_order["items"][0]["name"], "Pie");
}

#[tokio::test]
async fn a_replay_returns_the_first_order_even_after_the_item_left_the_menu() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let url = app.url(&format!("/api/order/{}/confirm/", k.slug));
    let body = ApiClient::pizza_order(&k.menu);
    let first = app
        .send(
            app.client
                .post(&url)
                .header("Idempotency-Key", "lost-response")
                .json(&body),
        )
        .await
        .expect(201);
    app.patch(
        &format!("/api/restaurants/{}/menu/items/{}/", k.slug, k.menu.pizza),
        Some(&k.owner.access),
        json!({"is_active": false}),
    )
    .await
    .expect(200);
    let replay = app
        .send(
            app.client
                .post(&url)
                .header("Idempotency-Key", "lost-response")
                .json(&body),
        )
        .await
        .expect(200);
    assert_eq!(replay["id"], first["id"]);
}
