//! Stations (API.md, "Kitchen floor", **Stations**): their CRUD and who may use it, menu
//! entries routed to them, and where an order's lines are made — at the item's station, else
//! its category's, else none — kept as confirmed when the menu is rerouted or a station goes.

use serde_json::{Value, json};
use test_support::api::{Kitchen, User};

use crate::helpers::{TestApp, count_rows, kitchen, spawn_app};

fn stations_path(slug: &str) -> String {
    format!("/api/restaurants/{slug}/stations/")
}

async fn add_station(app: &TestApp, by: &User, slug: &str, name: &str) -> i64 {
    let station = app
        .post(
            &stations_path(slug),
            Some(&by.access),
            json!({"name": name}),
        )
        .await
        .expect(201);
    assert_eq!(station["name"], name);
    station["id"].as_i64().unwrap()
}

async fn list_names(app: &TestApp, by: &User, slug: &str) -> Vec<String> {
    app.get(&stations_path(slug), Some(&by.access))
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn count(app: &TestApp, table: &'static str) -> i64 {
    count_rows(app, table).await
}

#[tokio::test]
async fn stations_are_created_listed_by_name_renamed_and_deleted() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let manager = app.register("manager").await;
    app.add_staff(&k.owner, &k.slug, &manager, "manager").await;
    let path = stations_path(&k.slug);

    let grill = app
        .post(&path, Some(&k.owner.access), json!({"name": "grill"}))
        .await
        .expect(201);
    assert_eq!(grill, json!({"id": grill["id"], "name": "grill"}));
    let grill = grill["id"].as_i64().unwrap();
    let cold = add_station(&app, &manager, &k.slug, "cold").await;
    add_station(&app, &k.owner, &k.slug, "Bar").await;
    // Names are unique whatever their case.
    for taken in ["grill", "GRILL", "Cold"] {
        app.post(&path, Some(&k.owner.access), json!({"name": taken}))
            .await
            .expect_error(409);
    }
    // Staff, kitchen users included, read them by name, case-insensitively.
    let listed = app.get(&path, Some(&k.cook.access)).await.expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 3);
    assert_eq!(listed[2], json!({"id": grill, "name": "grill"}));
    assert_eq!(
        list_names(&app, &k.cook, &k.slug).await,
        ["Bar", "cold", "grill"]
    );

    // Renaming: to another case of its own name is fine; to another station's name is 409.
    let renamed = app
        .patch(
            &format!("{path}{cold}/"),
            Some(&manager.access),
            json!({"name": "Cold"}),
        )
        .await
        .expect(200);
    assert_eq!(renamed, json!({"id": cold, "name": "Cold"}));
    app.patch(
        &format!("{path}{cold}/"),
        Some(&k.owner.access),
        json!({"name": "bar"}),
    )
    .await
    .expect_error(409);
    assert_eq!(
        list_names(&app, &k.owner, &k.slug).await,
        ["Bar", "Cold", "grill"]
    );

    let deleted = app
        .delete(&format!("{path}{cold}/"), Some(&manager.access))
        .await;
    assert_eq!(deleted.status.as_u16(), 204);
    assert_eq!(list_names(&app, &k.owner, &k.slug).await, ["Bar", "grill"]);
    // Gone, unknown, or not an id: 404.
    for missing in [cold.to_string(), "999999".into(), "grill".into()] {
        app.delete(&format!("{path}{missing}/"), Some(&k.owner.access))
            .await
            .expect_error(404);
        app.patch(
            &format!("{path}{missing}/"),
            Some(&k.owner.access),
            json!({"name": "fry"}),
        )
        .await
        .expect_error(404);
    }
    // A deleted station's name is free again.
    add_station(&app, &k.owner, &k.slug, "cold").await;
}

#[tokio::test]
async fn station_names_are_validated_and_nothing_is_written() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let path = stations_path(&k.slug);
    let token = Some(k.owner.access.as_str());
    let grill = add_station(&app, &k.owner, &k.slug, "grill").await;
    // 50 characters are fine (characters, not bytes).
    add_station(&app, &k.owner, &k.slug, &"é".repeat(50)).await;
    for (body, field) in [
        (json!({"name": ""}), Some("name")),
        (json!({"name": "   "}), Some("name")),
        (json!({"name": "x".repeat(51)}), Some("name")),
        (json!({"name": "gr\u{0}ill"}), Some("name")),
        (json!({}), None),
        (json!({"name": 7}), None),
        (json!({"name": null}), None),
        (json!({"name": "fry", "colour": "red"}), None),
        (json!("fry"), None),
    ] {
        let error = app.post(&path, token, body.clone()).await.expect_error(400);
        if let Some(field) = field {
            assert!(error["errors"][field].is_array(), "{body}: {error}");
        }
        let error = app
            .patch(&format!("{path}{grill}/"), token, body.clone())
            .await
            .expect_error(400);
        if let Some(field) = field {
            assert!(error["errors"][field].is_array(), "{body}: {error}");
        }
    }
    let nul = app
        .post(&path, token, json!({"name": "\u{0}"}))
        .await
        .expect_error(400);
    assert_eq!(
        nul["errors"]["name"],
        json!(["must not contain a NUL character"])
    );
    assert_eq!(count(&app, "stations").await, 2);
    assert!(
        list_names(&app, &k.owner, &k.slug)
            .await
            .contains(&"grill".to_owned())
    );

    // Not JSON: 415.
    for request in [
        app.client.post(app.url(&path)),
        app.client.patch(app.url(&format!("{path}{grill}/"))),
    ] {
        let reply = app
            .send(
                request
                    .bearer_auth(&k.owner.access)
                    .body(r#"{"name": "fry"}"#),
            )
            .await;
        reply.expect_error(415);
    }
}

#[tokio::test]
async fn stations_answer_401_then_404_then_403() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let stranger = app.register("stranger").await;
    let grill = add_station(&app, &k.owner, &k.slug, "grill").await;
    let path = stations_path(&k.slug);
    let one = format!("{path}{grill}/");
    let body = json!({"name": "fry"});

    for slug in ["luigis", "nowhere"] {
        let path = stations_path(slug);
        app.get(&path, None).await.expect_error(401);
        app.post(&path, None, body.clone()).await.expect_error(401);
        app.patch(&format!("{path}{grill}/"), None, body.clone())
            .await
            .expect_error(401);
        app.delete(&format!("{path}{grill}/"), None)
            .await
            .expect_error(401);
    }
    let nowhere = stations_path("nowhere");
    app.get(&nowhere, Some(&k.owner.access))
        .await
        .expect_error(404);
    app.post(&nowhere, Some(&stranger.access), body.clone())
        .await
        .expect_error(404);
    app.delete(&format!("{nowhere}{grill}/"), Some(&k.owner.access))
        .await
        .expect_error(404);

    // A kitchen user reads the stations but does not change them; a stranger does neither.
    app.get(&path, Some(&k.cook.access)).await.expect(200);
    app.post(&path, Some(&k.cook.access), body.clone())
        .await
        .expect_error(403);
    // The role is checked before the body is read.
    app.post(&path, Some(&k.cook.access), json!({"name": ""}))
        .await
        .expect_error(403);
    app.patch(&one, Some(&k.cook.access), body.clone())
        .await
        .expect_error(403);
    app.delete(&one, Some(&k.cook.access))
        .await
        .expect_error(403);
    app.get(&path, Some(&stranger.access))
        .await
        .expect_error(403);
    app.post(&path, Some(&stranger.access), body.clone())
        .await
        .expect_error(403);
    // The category PATCH, too.
    let category = format!(
        "/api/restaurants/{}/menu/categories/{}/",
        k.slug, k.menu.category
    );
    app.patch(&category, None, json!({"station_id": grill}))
        .await
        .expect_error(401);
    app.patch(
        &category,
        Some(&k.cook.access),
        json!({"station_id": grill}),
    )
    .await
    .expect_error(403);
    app.patch(
        &format!(
            "/api/restaurants/nowhere/menu/categories/{}/",
            k.menu.category
        ),
        Some(&k.owner.access),
        json!({"station_id": grill}),
    )
    .await
    .expect_error(404);
    assert_eq!(list_names(&app, &k.owner, &k.slug).await, ["grill"]);
}

#[tokio::test]
async fn categories_and_items_are_created_and_shown_with_their_station() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let token = Some(k.owner.access.as_str());
    let base = format!("/api/restaurants/{}/menu", k.slug);
    let cold = add_station(&app, &k.owner, &k.slug, "cold").await;
    let bar = add_station(&app, &k.owner, &k.slug, "bar").await;

    let drinks = app
        .post(
            &format!("{base}/categories/"),
            token,
            json!({"name": "Drinks", "sort_order": 4, "station_id": bar}),
        )
        .await
        .expect(201);
    assert_eq!(
        drinks,
        json!({"id": drinks["id"], "name": "Drinks", "sort_order": 4, "is_active": true, "station_id": bar})
    );
    let plain = app
        .post(
            &format!("{base}/categories/"),
            token,
            json!({"name": "Sides", "station_id": null}),
        )
        .await
        .expect(201);
    assert_eq!(plain["station_id"], Value::Null);

    let spritz = app
        .post(
            &format!("{base}/items/"),
            token,
            json!({"category_id": drinks["id"], "name": "Spritz", "station_id": cold,
                   "variants": [{"label": "Glass", "price": "7.00"}]}),
        )
        .await
        .expect(201);
    assert_eq!(spritz["station_id"], cold);
    let water = app
        .post(
            &format!("{base}/items/"),
            token,
            json!({"category_id": drinks["id"], "name": "Water",
                   "variants": [{"label": "Bottle", "price": "2.00"}]}),
        )
        .await
        .expect(201);
    // The item's own station only: none, though its category has one.
    assert_eq!(water["station_id"], Value::Null);

    // PATCH an item: absent keeps the station, a value sets it, null clears it.
    let item = format!("{base}/items/{}/", spritz["id"]);
    let kept = app
        .patch(&item, token, json!({"name": "Aperol Spritz"}))
        .await
        .expect(200);
    assert_eq!(kept["station_id"], cold);
    let moved = app
        .patch(&item, token, json!({"station_id": bar}))
        .await
        .expect(200);
    assert_eq!(moved["station_id"], bar);
    assert_eq!(moved["name"], "Aperol Spritz");
    let cleared = app
        .patch(&item, token, json!({"station_id": null}))
        .await
        .expect(200);
    assert_eq!(cleared["station_id"], Value::Null);

    // The customer's menu is as API.md shows it: no stations.
    let menu = app
        .get(&format!("/api/order/{}/menu/", k.slug), None)
        .await
        .expect(200);
    let shown = menu["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == drinks["id"])
        .unwrap();
    assert!(shown.get("station_id").is_none(), "{shown}");
    assert!(shown["items"][0].get("station_id").is_none(), "{shown}");
}

#[tokio::test]
async fn a_category_is_patched_field_by_field() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let token = Some(k.owner.access.as_str());
    let grill = add_station(&app, &k.owner, &k.slug, "grill").await;
    let path = format!(
        "/api/restaurants/{}/menu/categories/{}/",
        k.slug, k.menu.category
    );

    let routed = app
        .patch(&path, token, json!({"station_id": grill}))
        .await
        .expect(200);
    assert_eq!(
        routed,
        json!({"id": k.menu.category, "name": "Mains", "sort_order": 0, "is_active": true, "station_id": grill})
    );
    let renamed = app
        .patch(
            &path,
            token,
            json!({"name": "Pizze", "sort_order": 2, "is_active": false}),
        )
        .await
        .expect(200);
    assert_eq!(
        renamed,
        json!({"id": k.menu.category, "name": "Pizze", "sort_order": 2, "is_active": false, "station_id": grill})
    );
    // An inactive category leaves the customer's menu.
    let menu = app
        .get(&format!("/api/order/{}/menu/", k.slug), None)
        .await
        .expect(200);
    assert_eq!(menu["categories"], json!([]));
    let cleared = app
        .patch(&path, token, json!({"station_id": null, "is_active": true}))
        .await
        .expect(200);
    assert_eq!(cleared["station_id"], Value::Null);
    assert_eq!(cleared["name"], "Pizze");
    assert_eq!(cleared["is_active"], true);

    // Bad bodies: 400 and no change.
    for (body, field) in [
        (json!({}), Some("body")),
        (json!({"name": null}), Some("name")),
        (json!({"name": ""}), Some("name")),
        (json!({"name": "a\u{0}b"}), Some("name")),
        (json!({"name": "x".repeat(201)}), Some("name")),
        (json!({"sort_order": null}), Some("sort_order")),
        (json!({"is_active": null}), Some("is_active")),
        (json!({"is_active": "yes"}), None),
        (json!({"station_id": "grill"}), None),
        (json!({"colour": "red"}), None),
    ] {
        let error = app
            .patch(&path, token, body.clone())
            .await
            .expect_error(400);
        if let Some(field) = field {
            assert!(error["errors"][field].is_array(), "{body}: {error}");
        }
    }
    let unchanged = app
        .patch(&path, token, json!({"sort_order": 2}))
        .await
        .expect(200);
    assert_eq!(unchanged, cleared);

    // Unknown, another restaurant's, or not an id: 404.
    let elsewhere = kitchen(&app, "marios").await;
    for category in [
        "999999".to_owned(),
        elsewhere.menu.category.to_string(),
        "mains".into(),
    ] {
        app.patch(
            &format!("/api/restaurants/{}/menu/categories/{category}/", k.slug),
            token,
            json!({"name": "Stolen"}),
        )
        .await
        .expect_error(404);
    }
    let reply = app
        .send(
            app.client
                .patch(app.url(&path))
                .bearer_auth(&k.owner.access)
                .body(r#"{"name": "Pizze"}"#),
        )
        .await;
    reply.expect_error(415);
}

#[tokio::test]
async fn a_station_of_another_restaurant_routes_nothing_and_is_not_found_here() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let elsewhere = kitchen(&app, "marios").await;
    let token = Some(k.owner.access.as_str());
    let base = format!("/api/restaurants/{}/menu", k.slug);
    let ours = add_station(&app, &k.owner, &k.slug, "grill").await;
    let theirs = add_station(&app, &elsewhere.owner, &elsewhere.slug, "grill").await;
    let gone = add_station(&app, &k.owner, &k.slug, "gone").await;
    app.delete(&format!("{}{gone}/", stations_path(&k.slug)), token)
        .await;

    let categories = count(&app, "menu_categories").await;
    let items = count(&app, "menu_items").await;
    let variants = count(&app, "menu_variants").await;
    for station in [theirs, gone, 999_999] {
        let refused = [
            app.post(
                &format!("{base}/categories/"),
                token,
                json!({"name": "Grilled", "station_id": station}),
            )
            .await,
            app.post(
                &format!("{base}/items/"),
                token,
                json!({"category_id": k.menu.category, "name": "Steak", "station_id": station,
                       "variants": [{"label": "Rare", "price": "20.00"}],
                       "modifiers": [{"name": "Pepper sauce", "price_adjustment": "1.50"}]}),
            )
            .await,
            // With other, valid fields: none of them is written either.
            app.patch(
                &format!("{base}/categories/{}/", k.menu.category),
                token,
                json!({"name": "Renamed", "station_id": station}),
            )
            .await,
            app.patch(
                &format!("{base}/items/{}/", k.menu.pizza),
                token,
                json!({"name": "Renamed", "station_id": station}),
            )
            .await,
        ];
        for reply in refused {
            let error = reply.expect_error(400);
            assert_eq!(
                error["errors"]["station_id"],
                json!(["is not a station of this restaurant"]),
                "{error}"
            );
        }
    }
    assert_eq!(count(&app, "menu_categories").await, categories);
    assert_eq!(count(&app, "menu_items").await, items);
    assert_eq!(count(&app, "menu_variants").await, variants);
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM menu_categories WHERE id = $1 UNION ALL SELECT name FROM menu_items WHERE id = $2")
            .bind(k.menu.category)
            .bind(k.menu.pizza)
            .fetch_all(&app.db)
            .await
            .unwrap();
    assert_eq!(names, ["Mains", "Pizza"]);

    // Another restaurant's station cannot be renamed or deleted from here: 404, untouched.
    let ours_path = stations_path(&k.slug);
    app.patch(
        &format!("{ours_path}{theirs}/"),
        token,
        json!({"name": "mine"}),
    )
    .await
    .expect_error(404);
    app.delete(&format!("{ours_path}{theirs}/"), token)
        .await
        .expect_error(404);
    assert_eq!(
        list_names(&app, &elsewhere.owner, &elsewhere.slug).await,
        ["grill"]
    );
    // Nor can its owner reach ours through their slug.
    app.delete(
        &format!("{}{ours}/", stations_path(&elsewhere.slug)),
        Some(&elsewhere.owner.access),
    )
    .await
    .expect_error(404);
    assert_eq!(list_names(&app, &k.owner, &k.slug).await, ["grill"]);
}

/// The station of each line of `order`, in line order.
fn line_stations(order: &Value) -> Vec<Value> {
    order["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["station"].clone())
        .collect()
}

/// A pizza, a salad and a water, one line each.
async fn three_lines(app: &TestApp, k: &Kitchen, water: &Value) -> Value {
    app.confirm(
        &k.slug,
        json!({"items": [
                {"menu_item_id": k.menu.pizza, "variant_id": k.menu.large, "quantity": 1},
                {"menu_item_id": k.menu.salad, "variant_id": k.menu.salad_regular, "quantity": 1},
                {"menu_item_id": water["id"], "variant_id": water["variants"][0]["id"], "quantity": 1}],
               "raw_input": "pizza, salad, water"}),
    )
    .await
    .expect(201)
}

async fn order_as_customer(app: &TestApp, k: &Kitchen, order: &Value) -> Value {
    app.get(
        &format!(
            "/api/order/{}/status/{}/",
            k.slug,
            order["id"].as_str().unwrap()
        ),
        None,
    )
    .await
    .expect(200)
}

#[tokio::test]
async fn a_line_is_made_at_its_items_station_else_its_categorys_else_none_as_confirmed() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let token = Some(k.owner.access.as_str());
    let base = format!("/api/restaurants/{}/menu", k.slug);
    let grill = add_station(&app, &k.owner, &k.slug, "grill").await;
    let cold = add_station(&app, &k.owner, &k.slug, "cold").await;
    // Mains (pizza, salad) at the grill; the salad itself at cold; water in a category
    // without a station.
    app.patch(
        &format!("{base}/categories/{}/", k.menu.category),
        token,
        json!({"station_id": grill}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("{base}/items/{}/", k.menu.salad),
        token,
        json!({"station_id": cold}),
    )
    .await
    .expect(200);
    let drinks = app
        .post(
            &format!("{base}/categories/"),
            token,
            json!({"name": "Drinks"}),
        )
        .await
        .expect(201);
    let water = app
        .post(
            &format!("{base}/items/"),
            token,
            json!({"category_id": drinks["id"], "name": "Water",
                   "variants": [{"label": "Bottle", "price": "2.00"}]}),
        )
        .await
        .expect(201);

    let first = three_lines(&app, &k, &water).await;
    let as_confirmed = vec![
        json!({"id": grill, "name": "grill"}),
        json!({"id": cold, "name": "cold"}),
        Value::Null,
    ];
    assert_eq!(line_stations(&first), as_confirmed);

    // Reroute everything: the salad falls back to its category, the category and the water
    // move, the grill is renamed. The live order keeps its lines where they were.
    app.patch(
        &format!("{base}/items/{}/", k.menu.salad),
        token,
        json!({"station_id": null}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("{base}/categories/{}/", k.menu.category),
        token,
        json!({"station_id": cold}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("{base}/items/{}/", water["id"]),
        token,
        json!({"station_id": grill}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("{}{grill}/", stations_path(&k.slug)),
        token,
        json!({"name": "Grill"}),
    )
    .await
    .expect(200);
    assert_eq!(
        line_stations(&order_as_customer(&app, &k, &first).await),
        as_confirmed
    );
    let second = three_lines(&app, &k, &water).await;
    assert_eq!(
        line_stations(&second),
        vec![
            json!({"id": cold, "name": "cold"}),
            json!({"id": cold, "name": "cold"}),
            json!({"id": grill, "name": "Grill"}),
        ]
    );

    // Deleting a station: its entries fall back to none; confirmed lines keep it.
    let deleted = app
        .delete(&format!("{}{cold}/", stations_path(&k.slug)), token)
        .await;
    assert_eq!(deleted.status.as_u16(), 204);
    let category = app
        .patch(
            &format!("{base}/categories/{}/", k.menu.category),
            token,
            json!({"sort_order": 0}),
        )
        .await
        .expect(200);
    assert_eq!(category["station_id"], Value::Null);
    let third = three_lines(&app, &k, &water).await;
    assert_eq!(
        line_stations(&third),
        vec![
            Value::Null,
            Value::Null,
            json!({"id": grill, "name": "Grill"})
        ]
    );
    assert_eq!(
        line_stations(&order_as_customer(&app, &k, &first).await),
        as_confirmed
    );
    assert_eq!(
        line_stations(&order_as_customer(&app, &k, &second).await)[..2],
        [
            json!({"id": cold, "name": "cold"}),
            json!({"id": cold, "name": "cold"})
        ]
    );
    // The kitchen list shows the same snapshots.
    let list = app.kitchen_list(&k.slug, &k.cook.access).await;
    assert_eq!(line_stations(&list["orders"][0]), as_confirmed);

    // Deleting the grill too: the water's own station goes, so it is at its category's (none).
    app.delete(&format!("{}{grill}/", stations_path(&k.slug)), token)
        .await;
    let water_now = app
        .patch(
            &format!("{base}/items/{}/", water["id"]),
            token,
            json!({"sort_order": 0}),
        )
        .await
        .expect(200);
    assert_eq!(water_now["station_id"], Value::Null);
    let fourth = three_lines(&app, &k, &water).await;
    assert_eq!(line_stations(&fourth), vec![Value::Null; 3]);
    assert_eq!(
        line_stations(&order_as_customer(&app, &k, &third).await)[2],
        json!({"id": grill, "name": "Grill"})
    );
}
