//! A confirm priced from this instance's copy of the menu (`storage::menu_cache`) must answer
//! as one priced from a fresh read: after a change made through another instance, or by hand
//! in psql, and for an entry the copy has never seen.

use serde_json::json;

use crate::helpers::{TestApp, count_rows, kitchen, spawn_app};

async fn count_orders(app: &TestApp) -> i64 {
    count_rows(app, "orders").await
}

#[tokio::test]
async fn a_price_changed_through_another_instance_is_charged_here() {
    let first = spawn_app().await;
    let second = first.another_instance().await;
    let k = kitchen(&first, "luigis").await;
    // (14.99 + 2.00) × 2, and now the first instance holds the entries.
    assert_eq!(
        first.place_order(&k.slug, &k.menu).await["total_price"],
        "33.98"
    );
    second
        .patch(
            &format!(
                "/api/restaurants/{}/menu/variants/{}/",
                k.slug, k.menu.large
            ),
            Some(&k.owner.access),
            json!({"price": "20.00"}),
        )
        .await
        .expect(200);
    // (20.00 + 2.00) × 2.
    let after = first.place_order(&k.slug, &k.menu).await;
    assert_eq!(after["total_price"], "44.00");
    assert_eq!(after["items"][0]["variant_price"], "20.00", "{after}");
}

#[tokio::test]
async fn changes_made_in_psql_are_charged_and_refused_as_the_database_says() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    app.place_order(&k.slug, &k.menu).await;
    sqlx::query("UPDATE menu_modifiers SET price_adjustment = 3.50 WHERE id = $1")
        .bind(k.menu.cheese)
        .execute(&app.db)
        .await
        .unwrap();
    // (14.99 + 3.50) × 2.
    assert_eq!(
        app.place_order(&k.slug, &k.menu).await["total_price"],
        "36.98"
    );

    sqlx::query("UPDATE menu_categories SET is_active = false WHERE id = $1")
        .bind(k.menu.category)
        .execute(&app.db)
        .await
        .unwrap();
    let orders = count_orders(&app).await;
    let refused = app
        .confirm(&k.slug, test_support::api::ApiClient::pizza_order(&k.menu))
        .await
        .expect_error(400);
    assert!(
        refused["errors"]["items[0].menu_item_id"].is_array(),
        "{refused}"
    );
    assert_eq!(count_orders(&app).await, orders, "nothing was written");
}

#[tokio::test]
async fn a_variant_and_an_item_added_since_the_copy_can_be_ordered() {
    let first = spawn_app().await;
    let second = first.another_instance().await;
    let k = kitchen(&first, "luigis").await;
    first.place_order(&k.slug, &k.menu).await;
    let menu = format!("/api/restaurants/{}/menu", k.slug);
    let token = Some(k.owner.access.as_str());
    // The API adds variants only with a new item: this one comes by hand.
    let family: i64 = sqlx::query_scalar(
        "INSERT INTO menu_variants (item_id, label, price) VALUES ($1, 'Family', 24.00) RETURNING id",
    )
    .bind(k.menu.pizza)
    .fetch_one(&first.db)
    .await
    .unwrap();
    let water = second
        .post(
            &format!("{menu}/items/"),
            token,
            json!({"category_id": k.menu.category, "name": "Water",
                   "variants": [{"label": "Bottle", "price": "2.50"}]}),
        )
        .await
        .expect(201);
    let order = first
        .confirm(
            &k.slug,
            json!({"items": [
                {"menu_item_id": k.menu.pizza, "variant_id": family, "quantity": 1},
                {"menu_item_id": water["id"], "variant_id": water["variants"][0]["id"], "quantity": 2}],
                   "raw_input": "a family pizza and two waters", "language": "en"}),
        )
        .await
        .expect(201);
    assert_eq!(order["total_price"], "29.00");
    assert_eq!(order["items"][0]["variant_label"], "Family");
}

#[tokio::test]
async fn a_station_renamed_elsewhere_is_on_the_next_ticket() {
    let first = spawn_app().await;
    let second = first.another_instance().await;
    let k = kitchen(&first, "luigis").await;
    let token = Some(k.owner.access.as_str());
    let stations = format!("/api/restaurants/{}/stations/", k.slug);
    let oven = first
        .post(&stations, token, json!({"name": "Oven"}))
        .await
        .expect(201);
    first
        .patch(
            &format!("/api/restaurants/{}/menu/items/{}/", k.slug, k.menu.pizza),
            token,
            json!({"station_id": oven["id"]}),
        )
        .await
        .expect(200);
    let before = first.place_order(&k.slug, &k.menu).await;
    assert_eq!(before["items"][0]["station"]["name"], "Oven", "{before}");
    second
        .patch(
            &format!("{stations}{}/", oven["id"]),
            token,
            json!({"name": "Wood oven"}),
        )
        .await
        .expect(200);
    let after = first.place_order(&k.slug, &k.menu).await;
    assert_eq!(after["items"][0]["station"]["name"], "Wood oven", "{after}");
}

#[tokio::test]
async fn a_variant_added_by_hand_is_found_although_the_copy_lacks_it() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    app.place_order(&k.slug, &k.menu).await;
    // The copy has the pizza, without this variant: pricing from it refuses, a read finds it.
    let family: i64 = sqlx::query_scalar(
        "INSERT INTO menu_variants (item_id, label, price) VALUES ($1, 'Family', 24.00) RETURNING id",
    )
    .bind(k.menu.pizza)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let order = app
        .confirm(
            &k.slug,
            json!({"items": [{"menu_item_id": k.menu.pizza, "variant_id": family, "quantity": 1}],
                   "raw_input": "a family pizza", "language": "en"}),
        )
        .await
        .expect(201);
    assert_eq!(order["total_price"], "24.00");
}

#[tokio::test]
async fn an_item_taken_off_the_menu_through_another_instance_is_refused_here() {
    let first = spawn_app().await;
    let second = first.another_instance().await;
    let k = kitchen(&first, "luigis").await;
    first.place_order(&k.slug, &k.menu).await;
    second
        .patch(
            &format!("/api/restaurants/{}/menu/items/{}/", k.slug, k.menu.pizza),
            Some(&k.owner.access),
            json!({"is_active": false}),
        )
        .await
        .expect(200);
    let orders = count_orders(&first).await;
    first
        .confirm(&k.slug, test_support::api::ApiClient::pizza_order(&k.menu))
        .await
        .expect_error(400);
    assert_eq!(count_orders(&first).await, orders);
}

#[tokio::test]
async fn a_station_deleted_elsewhere_leaves_the_next_ticket_without_one() {
    let first = spawn_app().await;
    let second = first.another_instance().await;
    let k = kitchen(&first, "luigis").await;
    let grill = first
        .station_for_category(&k.owner, &k.slug, k.menu.category, "Grill")
        .await;
    let before = first.place_order(&k.slug, &k.menu).await;
    assert_eq!(before["items"][0]["station"]["name"], "Grill", "{before}");
    second
        .delete(
            &format!("/api/restaurants/{}/stations/{}/", k.slug, grill["id"]),
            Some(&k.owner.access),
        )
        .await
        .expect(204);
    let after = first.place_order(&k.slug, &k.menu).await;
    assert!(after["items"][0]["station"].is_null(), "{after}");
}

#[tokio::test]
async fn orders_confirmed_while_the_menu_changes_are_each_priced_at_one_version() {
    let app = spawn_app().await;
    let second = app.another_instance().await;
    let k = kitchen(&app, "luigis").await;
    let menu = format!("/api/restaurants/{}/menu", k.slug);
    // Each change moves the variant or the modifier, so each version has a price pair of its
    // own, and an order priced from two versions at once would show a pair that never was.
    let versions = [
        ("14.99", "2.00"),
        ("15.00", "2.00"),
        ("15.00", "2.50"),
        ("16.00", "2.50"),
        ("16.00", "3.00"),
        ("17.00", "3.00"),
        ("17.00", "3.50"),
    ];
    let orders = async {
        let mut lines = Vec::new();
        for _ in 0..30 {
            let order = app.place_order(&k.slug, &k.menu).await;
            lines.push(order["items"][0].clone());
        }
        lines
    };
    let changes = async {
        for pair in versions.windows(2) {
            let (path, body) = if pair[0].0 != pair[1].0 {
                (
                    format!("{menu}/variants/{}/", k.menu.large),
                    json!({"price": pair[1].0}),
                )
            } else {
                (
                    format!("{menu}/modifiers/{}/", k.menu.cheese),
                    json!({"price_adjustment": pair[1].1}),
                )
            };
            second
                .patch(&path, Some(&k.owner.access), body)
                .await
                .expect(200);
        }
    };
    let (lines, ()) = tokio::join!(orders, changes);
    let mut last = 0;
    for line in lines {
        let pair = (
            line["variant_price"].as_str().unwrap(),
            line["modifiers"][0]["price_adjustment"].as_str().unwrap(),
        );
        let version = versions
            .iter()
            .position(|known| *known == pair)
            .unwrap_or_else(|| panic!("{pair:?} was never the menu: {line}"));
        // One order after the other: never priced at an older version than the one before.
        assert!(version >= last, "{pair:?} after {:?}", versions[last]);
        last = version;
    }
    // Once the changes are done, the last prices are charged: (17.00 + 3.50) × 2.
    assert_eq!(
        app.place_order(&k.slug, &k.menu).await["total_price"],
        "41.00"
    );
}

#[tokio::test]
async fn line_ids_are_distinct_whatever_the_blocks() {
    let app = spawn_app().await;
    let ids = order_service::storage::line_ids::LineIds::new(4);
    let mut seen = std::collections::BTreeSet::new();
    // From one block, a block's rest and the next, and more than a block at once.
    for count in [3, 2, 1, 9, 4] {
        let taken = ids.take(&app.db, count).await.unwrap();
        assert_eq!(taken.len(), count);
        for id in taken {
            assert!(seen.insert(id), "{id} was handed out twice");
        }
    }
}
