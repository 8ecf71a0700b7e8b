use serde_json::json;

use crate::helpers::{kitchen, spawn_app};

#[tokio::test]
async fn categories_and_items_are_created_with_their_ids() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let slug = app.create_restaurant(&owner, "luigis").await;
    let category = app
        .post(
            &format!("/api/restaurants/{slug}/menu/categories/"),
            Some(&owner.access),
            json!({"name": "Pizzas", "sort_order": 3}),
        )
        .await
        .expect(201);
    assert_eq!(category["name"], "Pizzas");
    assert_eq!(category["sort_order"], 3);
    assert_eq!(category["is_active"], true);
    let item = app
        .post(
            &format!("/api/restaurants/{slug}/menu/items/"),
            Some(&owner.access),
            json!({"category_id": category["id"], "name": "Margherita", "description": "Tomato, mozzarella",
                   "image_url": "https://img.example/m.jpg",
                   "variants": [{"label": "Small", "price": "8.00"}, {"label": "Large", "price": "12.50", "is_default": true}],
                   "modifiers": [{"name": "Basil", "price_adjustment": "0.50"}]}),
        )
        .await
        .expect(201);
    assert!(item["id"].is_i64());
    assert_eq!(item["name"], "Margherita");
    assert_eq!(item["description"], "Tomato, mozzarella");
    assert_eq!(item["image_url"], "https://img.example/m.jpg");
    assert_eq!(item["variants"][0]["label"], "Small");
    assert_eq!(item["variants"][0]["price"], "8.00");
    assert_eq!(item["variants"][0]["is_default"], false);
    assert_eq!(item["variants"][1]["is_default"], true);
    assert!(item["variants"][1]["id"].is_i64());
    assert_eq!(item["modifiers"][0]["price_adjustment"], "0.50");
    assert!(item["modifiers"][0]["id"].is_i64());
}

#[tokio::test]
async fn item_validation() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let path = format!("/api/restaurants/{}/menu/items/", k.slug);
    let token = Some(k.owner.access.as_str());
    let cases = [
        json!({"category_id": k.menu.category, "name": "X", "variants": []}),
        json!({"category_id": k.menu.category, "name": "X", "variants": [{"label": "R", "price": "-1.00"}]}),
        json!({"category_id": k.menu.category, "name": "X", "variants": [{"label": "R", "price": "1.999"}]}),
        json!({"category_id": k.menu.category, "name": "X", "variants": [{"label": "R", "price": 1.5}]}),
        json!({"category_id": k.menu.category, "name": "", "variants": [{"label": "R", "price": "1.00"}]}),
        json!({"category_id": k.menu.category, "name": "X", "variants": [{"label": "R", "price": "1.00"}],
               "modifiers": [{"name": "M", "price_adjustment": "-0.01"}]}),
        json!({"category_id": 999_999, "name": "X", "variants": [{"label": "R", "price": "1.00"}]}),
    ];
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM menu_items")
        .fetch_one(&app.db)
        .await
        .unwrap();
    for body in cases {
        app.post(&path, token, body.clone()).await.expect_error(400);
    }
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM menu_items")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(before, after);

    // Another restaurant's category is not ours.
    let other = app.register("other").await;
    let other_slug = app.create_restaurant(&other, "marios").await;
    let other_menu = app.seed_menu(&other, &other_slug).await;
    app.post(
        &path,
        token,
        json!({"category_id": other_menu.category, "name": "X", "variants": [{"label": "R", "price": "1.00"}]}),
    )
    .await
    .expect_error(400);
}

#[tokio::test]
async fn menu_management_needs_owner_or_manager() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let outsider = app.register("outsider").await;
    let path = format!("/api/restaurants/{}/menu/categories/", k.slug);
    app.post(&path, Some(&k.cook.access), json!({"name": "X"}))
        .await
        .expect_error(403);
    app.post(&path, Some(&outsider.access), json!({"name": "X"}))
        .await
        .expect_error(403);
    app.post(&path, None, json!({"name": "X"}))
        .await
        .expect_error(401);
    app.post(
        "/api/restaurants/unknown/menu/categories/",
        Some(&outsider.access),
        json!({"name": "X"}),
    )
    .await
    .expect_error(404);
    // 404 for an unknown slug comes before any check of the body.
    app.post(
        "/api/restaurants/unknown/menu/categories/",
        Some(&outsider.access),
        json!({"nope": 1}),
    )
    .await
    .expect_error(404);
    let manager = app.register("manager").await;
    app.add_staff(&k.owner, &k.slug, &manager, "manager").await;
    app.post(&path, Some(&manager.access), json!({"name": "Desserts"}))
        .await
        .expect(201);
    app.patch(
        &format!("/api/restaurants/{}/menu/items/{}/", k.slug, k.menu.pizza),
        Some(&k.cook.access),
        json!({"name": "Pie"}),
    )
    .await
    .expect_error(403);
}

#[tokio::test]
async fn patch_item_variant_and_modifier() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let token = Some(k.owner.access.as_str());
    let base = format!("/api/restaurants/{}/menu", k.slug);

    let item = app
        .patch(
            &format!("{base}/items/{}/", k.menu.pizza),
            token,
            json!({"name": "Pizza Napoletana", "image_url": "https://img.example/p.jpg"}),
        )
        .await
        .expect(200);
    assert_eq!(item["name"], "Pizza Napoletana");
    assert_eq!(item["image_url"], "https://img.example/p.jpg");
    assert_eq!(item["variants"].as_array().unwrap().len(), 2);
    let cleared = app
        .patch(
            &format!("{base}/items/{}/", k.menu.pizza),
            token,
            json!({"image_url": null, "sort_order": 5}),
        )
        .await
        .expect(200);
    assert_eq!(cleared["image_url"], serde_json::Value::Null);
    assert_eq!(cleared["sort_order"], 5);
    assert_eq!(cleared["name"], "Pizza Napoletana");

    let variant = app
        .patch(
            &format!("{base}/variants/{}/", k.menu.small),
            token,
            json!({"price": "10.00", "is_default": true}),
        )
        .await
        .expect(200);
    assert_eq!(
        variant,
        json!({"id": k.menu.small, "label": "Small", "price": "10.00", "is_default": true})
    );
    // Only one default per item.
    let menu = app
        .get(&format!("/api/order/{}/menu/", k.slug), None)
        .await
        .expect(200);
    let pizza = menu["categories"][0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["id"] == k.menu.pizza)
        .unwrap()
        .clone();
    let defaults: Vec<bool> = pizza["variants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["is_default"].as_bool().unwrap())
        .collect();
    assert_eq!(defaults, vec![false, true]);

    let modifier = app
        .patch(
            &format!("{base}/modifiers/{}/", k.menu.cheese),
            token,
            json!({"name": "Double Cheese", "price_adjustment": "3.5"}),
        )
        .await
        .expect(200);
    assert_eq!(
        modifier,
        json!({"id": k.menu.cheese, "name": "Double Cheese", "price_adjustment": "3.50"})
    );

    // Invalid patches change nothing.
    for (path, body) in [
        (
            format!("{base}/items/{}/", k.menu.pizza),
            json!({"name": null}),
        ),
        (
            format!("{base}/items/{}/", k.menu.pizza),
            json!({"name": ""}),
        ),
        (
            format!("{base}/items/{}/", k.menu.pizza),
            json!({"price": "1.00"}),
        ),
        (
            format!("{base}/variants/{}/", k.menu.small),
            json!({"price": "-2.00"}),
        ),
        (
            format!("{base}/variants/{}/", k.menu.small),
            json!({"price": "2.001"}),
        ),
        (
            format!("{base}/modifiers/{}/", k.menu.cheese),
            json!({"price_adjustment": 2}),
        ),
    ] {
        app.patch(&path, token, body).await.expect_error(400);
    }
    let price: rust_decimal::Decimal =
        sqlx::query_scalar("SELECT price FROM menu_variants WHERE id = $1")
            .bind(k.menu.small)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(price.to_string(), "10.00");

    // Unknown ids, and ids of another restaurant's menu, are 404.
    let other = app.register("other").await;
    let other_slug = app.create_restaurant(&other, "marios").await;
    let other_menu = app.seed_menu(&other, &other_slug).await;
    app.patch(
        &format!("{base}/items/{}/", other_menu.pizza),
        token,
        json!({"name": "Mine"}),
    )
    .await
    .expect_error(404);
    app.patch(
        &format!("{base}/variants/{}/", other_menu.large),
        token,
        json!({"label": "Mine"}),
    )
    .await
    .expect_error(404);
    app.patch(
        &format!("{base}/modifiers/{}/", other_menu.cheese),
        token,
        json!({"name": "Mine"}),
    )
    .await
    .expect_error(404);
    app.patch(
        &format!("{base}/items/abc/"),
        token,
        json!({"name": "Mine"}),
    )
    .await
    .expect_error(404);
}

#[tokio::test]
async fn public_menu_shows_active_categories_and_items_in_sort_order() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let token = Some(k.owner.access.as_str());
    let base = format!("/api/restaurants/{}/menu", k.slug);
    let drinks = app
        .post(
            &format!("{base}/categories/"),
            token,
            json!({"name": "Drinks", "sort_order": -1}),
        )
        .await
        .expect(201);
    app.post(
        &format!("{base}/items/"),
        token,
        json!({"category_id": drinks["id"], "name": "Water", "variants": [{"label": "0.5l", "price": "2.00"}]}),
    )
    .await
    .expect(201);
    // Deactivate the salad.
    app.patch(
        &format!("{base}/items/{}/", k.menu.salad),
        token,
        json!({"is_active": false}),
    )
    .await
    .expect(200);

    let menu = app
        .get(&format!("/api/order/{}/menu/", k.slug), None)
        .await
        .expect(200);
    assert_eq!(menu["restaurant_name"], "Restaurant luigis");
    let categories = menu["categories"].as_array().unwrap();
    assert_eq!(categories.len(), 2);
    assert_eq!(categories[0]["name"], "Drinks");
    assert_eq!(categories[1]["name"], "Mains");
    let mains = categories[1]["items"].as_array().unwrap();
    assert_eq!(mains.len(), 1, "the inactive salad is hidden");
    let pizza = &mains[0];
    assert_eq!(pizza["name"], "Pizza");
    assert_eq!(pizza["description"], "");
    assert_eq!(
        pizza["variants"][0],
        json!({"id": k.menu.large, "label": "Large", "price": "14.99", "is_default": true})
    );
    assert_eq!(
        pizza["modifiers"][1],
        json!({"id": k.menu.olives, "name": "Olives", "price_adjustment": "0.75"})
    );
    assert!(pizza.get("is_active").is_none());

    app.get("/api/order/nowhere/menu/", None)
        .await
        .expect_error(404);
}
