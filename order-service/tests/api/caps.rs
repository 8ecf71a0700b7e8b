//! Bounds on what cheap requests can make the service hold or send: an Order's size, an
//! events page's bytes, restaurants per owner, confirms per address and per restaurant, and
//! `/metrics` on a listener of its own.

use std::num::NonZeroU32;

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::{TestApp, kitchen, spawn_app_with};
use test_support::api::{Kitchen, User};

/// A menu item whose name, variant label and 20 modifiers are all at their length bounds in
/// 4-byte characters: the most one order line can copy from the menu. Returns a confirm line
/// of it with every modifier.
async fn largest_line(app: &TestApp, k: &Kitchen) -> Value {
    let name = |c: char, n: usize| std::iter::repeat_n(c, n).collect::<String>();
    let modifiers: Vec<Value> = (0..20)
        .map(|i| json!({"name": name(char::from_u32(0x1F600 + i).unwrap(), 100), "price_adjustment": "0.10"}))
        .collect();
    let item = app
        .post(
            &format!("/api/restaurants/{}/menu/items/", k.slug),
            Some(&k.owner.access),
            json!({"category_id": k.menu.category, "name": name('🍕', 200),
                   "variants": [{"label": name('🔥', 100), "price": "9.00"}],
                   "modifiers": modifiers}),
        )
        .await
        .expect(201);
    let modifier_ids: Vec<Value> = item["modifiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].clone())
        .collect();
    json!({"menu_item_id": item["id"], "variant_id": item["variants"][0]["id"], "quantity": 1,
           "modifier_ids": modifier_ids})
}

fn order_of(lines: usize, line: &Value) -> Value {
    json!({"items": vec![line.clone(); lines], "raw_input": "the largest order"})
}

async fn event_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM order_events")
        .fetch_one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_order_over_order_max_bytes_is_a_400_that_writes_nothing() {
    let app = spawn_app_with(|_| {}).await;
    let k = kitchen(&app, "huge").await;
    let line = largest_line(&app, &k).await;

    // 100 such lines: within every count and length bound, and about 1 MB as an Order.
    let refused = app.confirm(&k.slug, order_of(100, &line)).await;
    let body = refused.expect_error(400);
    let why = body["errors"]["items"][0].as_str().unwrap();
    assert!(why.contains("too large") && why.contains("65536"), "{why}");
    assert_eq!(event_count(&app).await, 0, "nothing was written");

    // Five of them (~51 KB) are within the default 64 KiB.
    let order = app.confirm(&k.slug, order_of(5, &line)).await.expect(201);
    let bytes = serde_json::to_vec(&order).unwrap().len();
    assert!((40_000..=65_536).contains(&bytes), "{bytes}");
}

#[tokio::test]
async fn an_events_page_stops_at_its_byte_budget_and_last_seq_says_there_is_more() {
    let app = spawn_app_with(|config| config.order_max_bytes = 16 * 1024 * 1024).await;
    let k = kitchen(&app, "pages").await;
    let line = largest_line(&app, &k).await;
    // The largest orders the request bounds allow, each then moved once: six events of ~1 MB.
    for _ in 0..3 {
        let order = app.confirm(&k.slug, order_of(100, &line)).await.expect(201);
        app.move_order(&k.cook.access, order["id"].as_str().unwrap(), "preparing")
            .await
            .expect(200);
    }
    let budget = app.config.events_page_max_bytes as usize;
    let mut after = 0;
    let mut pages = 0;
    let mut seen = Vec::new();
    while after < 6 {
        let response = app
            .client
            .get(app.url(&format!(
                "/api/kitchen/{}/events/?after={after}&limit=1000",
                k.slug
            )))
            .bearer_auth(&k.cook.access)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let bytes = response.bytes().await.unwrap();
        assert!(bytes.len() <= budget, "a page of {} bytes", bytes.len());
        let page: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(page["last_seq"], 6, "tells the reader how far the log goes");
        let events = page["events"].as_array().unwrap();
        assert!(!events.is_empty(), "every page makes progress");
        for event in events {
            seen.push(event["seq"].as_i64().unwrap());
        }
        after = *seen.last().unwrap();
        pages += 1;
    }
    assert_eq!(seen, [1, 2, 3, 4, 5, 6], "nothing skipped, nothing twice");
    assert!(pages >= 2, "cut by bytes, not by limit: {pages} pages");
}

#[tokio::test]
async fn an_event_larger_than_the_budget_still_comes_alone() {
    let app = spawn_app_with(|config| config.events_page_max_bytes = 64 * 1024).await;
    let k = kitchen(&app, "alone").await;
    let line = largest_line(&app, &k).await;
    for _ in 0..2 {
        // ~41 KB each: two do not fit in 64 KiB.
        app.confirm(&k.slug, order_of(4, &line)).await.expect(201);
    }
    app.place_order(&k.slug, &k.menu).await;
    let page = app
        .get(
            &format!("/api/kitchen/{}/events/", k.slug),
            Some(&k.cook.access),
        )
        .await
        .expect(200);
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    let page = app
        .get(
            &format!("/api/kitchen/{}/events/?after=1", k.slug),
            Some(&k.cook.access),
        )
        .await
        .expect(200);
    let seqs: Vec<i64> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [2, 3], "the small one fits beside it");
}

async fn create(app: &TestApp, owner: &User, slug: &str) -> u16 {
    app.post(
        "/api/restaurants/",
        Some(&owner.access),
        json!({"name": slug, "slug": slug}),
    )
    .await
    .status
    .as_u16()
}

#[tokio::test]
async fn an_owner_creates_at_most_max_restaurants_per_owner_even_all_at_once() {
    let app = spawn_app_with(|config| config.max_restaurants_per_owner = 3).await;
    let owner = app.register("chain").await;
    for n in 0..3 {
        assert_eq!(create(&app, &owner, &format!("branch-{n}")).await, 201);
    }
    let refused = app
        .post(
            "/api/restaurants/",
            Some(&owner.access),
            json!({"name": "one more", "slug": "branch-3"}),
        )
        .await
        .expect_error(403);
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("3 restaurants"),
        "{refused}"
    );
    // Another owner is not affected.
    let other = app.register("other").await;
    assert_eq!(create(&app, &other, "elsewhere").await, 201);

    // Twenty at once by a new owner: exactly three.
    let racer = app.register("racer").await;
    let statuses = join_all((0..20).map(|n| {
        let (app, racer) = (&app, &racer);
        async move { create(app, racer, &format!("race-{n}")).await }
    }))
    .await;
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 3);
    assert_eq!(statuses.iter().filter(|s| **s == 403).count(), 17);
    let owned: i64 = sqlx::query_scalar("SELECT count(*) FROM restaurants WHERE owner_id = $1")
        .bind(racer.id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(owned, 3);
}

fn retry_after(reply: &test_support::api::Reply) -> u64 {
    reply.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn confirms_per_address_are_limited_with_retry_after() {
    let app = spawn_app_with(|config| {
        config.confirm_rates.per_address = NonZeroU32::new(3);
    })
    .await;
    let k = kitchen(&app, "flooded").await;
    for _ in 0..3 {
        app.place_order(&k.slug, &k.menu).await;
    }
    let refused = app
        .confirm(&k.slug, test_support::api::ApiClient::pizza_order(&k.menu))
        .await;
    let wait = retry_after(&refused);
    assert!((1..=20).contains(&wait), "one confirm per 20 s: {wait}");
    let body = refused.expect_error(429);
    assert!(
        body["detail"].as_str().unwrap().contains("this address"),
        "{body}"
    );
    // Any restaurant, same address: the limit is the address's.
    let other = kitchen(&app, "next-door").await;
    app.confirm(
        &other.slug,
        test_support::api::ApiClient::pizza_order(&other.menu),
    )
    .await
    .expect_error(429);
    assert_eq!(event_count(&app).await, 3, "refused confirms wrote nothing");
}

#[tokio::test]
async fn new_orders_per_restaurant_are_limited_and_other_restaurants_go_on() {
    let app = spawn_app_with(|config| {
        config.confirm_rates.per_restaurant = NonZeroU32::new(2);
    })
    .await;
    let k = kitchen(&app, "busy").await;
    app.place_order(&k.slug, &k.menu).await;
    app.place_order(&k.slug, &k.menu).await;
    let refused = app
        .confirm(&k.slug, test_support::api::ApiClient::pizza_order(&k.menu))
        .await;
    let wait = retry_after(&refused);
    assert!((1..=30).contains(&wait), "{wait}");
    let body = refused.expect_error(429);
    assert!(
        body["detail"].as_str().unwrap().contains("restaurant"),
        "{body}"
    );
    let other = kitchen(&app, "quiet").await;
    app.place_order(&other.slug, &other.menu).await;
}

#[tokio::test]
async fn with_metrics_addr_metrics_are_served_there_only() {
    let app =
        spawn_app_with(|config| config.metrics_addr = Some("127.0.0.1:0".parse().unwrap())).await;
    app.get("/metrics", None).await.expect_error(404);
    let port = app.metrics_port.expect("a metrics listener");
    let response = app
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    // Only /metrics there: the API is not.
    let api = app
        .client
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status().as_u16(), 404);
    // And without it, /metrics is on the main listener as before.
    let plain = spawn_app_with(|_| {}).await;
    assert!(plain.metrics_port.is_none());
    let response = plain
        .client
        .get(plain.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}
