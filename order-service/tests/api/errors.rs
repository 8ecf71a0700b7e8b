use reqwest::header::CONTENT_TYPE;
use serde_json::json;

use crate::helpers::{ApiClient, kitchen, spawn_app};

#[tokio::test]
async fn malformed_json_wrong_types_and_missing_fields_are_400() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let url = app.url(&format!("/api/order/{}/confirm/", k.slug));
    for raw in [
        "{",
        "[]",
        "null",
        "{\"items\": \"pizza\", \"raw_input\": \"x\"}",
        "{\"raw_input\": \"x\"}",
    ] {
        app.send(
            app.client
                .post(&url)
                .header(CONTENT_TYPE, "application/json")
                .body(raw),
        )
        .await
        .expect_error(400);
    }
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(orders, 0);
}

#[tokio::test]
async fn non_json_content_type_is_415() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let url = app.url(&format!("/api/order/{}/confirm/", k.slug));
    let body = serde_json::to_string(&ApiClient::pizza_order(&k.menu)).unwrap();
    app.send(
        app.client
            .post(&url)
            .header(CONTENT_TYPE, "text/plain")
            .body(body.clone()),
    )
    .await
    .expect_error(415);
    app.send(app.client.post(&url).body(body))
        .await
        .expect_error(415);
}

#[tokio::test]
async fn bodies_over_64_kib_are_413() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let url = app.url(&format!("/api/order/{}/confirm/", k.slug));
    let huge = json!({"items": [], "raw_input": "x".repeat(70 * 1024)});
    app.send(app.client.post(&url).json(&huge))
        .await
        .expect_error(413);
    // Without a Content-Length (chunked), the limit still holds.
    let bytes = serde_json::to_vec(&huge).unwrap();
    let stream = futures_util::stream::iter(
        bytes
            .chunks(8192)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    app.send(
        app.client
            .post(&url)
            .header(CONTENT_TYPE, "application/json")
            .body(reqwest::Body::wrap_stream(stream)),
    )
    .await
    .expect_error(413);
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_in_json() {
    let app = spawn_app().await;
    app.get("/nope", None).await.expect_error(404);
    app.get("/api/restaurants", None).await.expect_error(404);
    app.delete("/api/auth/login/", None).await.expect_error(405);
    app.get("/api/auth/register/", None).await.expect_error(405);
    app.post(
        &format!("/api/kitchen/orders/{}/", uuid::Uuid::new_v4()),
        None,
        json!({}),
    )
    .await
    .expect_error(405);
}

/// PostgreSQL text cannot hold a NUL (`\u0000`, which JSON can carry): every text field of
/// every body answers 400 naming that field, and nothing is written — never a 500.
#[tokio::test]
async fn a_nul_in_any_text_field_is_a_400_on_that_field() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let owner = Some(k.owner.access.as_str());
    let menu = &k.menu;
    let order = app.place_order(&k.slug, menu).await;
    let restaurant = format!("/api/restaurants/{}", k.slug);
    let confirm = format!("/api/order/{}/confirm/", k.slug);
    let nul = "a\u{0}b";
    let with = |mut body: serde_json::Value, pointer: &str| {
        *body.pointer_mut(pointer).unwrap() = json!(nul);
        body
    };
    let order_body = ApiClient::pizza_order(menu);
    let item = json!({"category_id": menu.category, "name": "Soup", "description": "hot",
                      "image_url": "https://example.com/soup.png",
                      "variants": [{"label": "Bowl", "price": "4.00"}],
                      "modifiers": [{"name": "Bread", "price_adjustment": "1.00"}]});
    let cases: Vec<(String, Option<&str>, serde_json::Value, &str)> = vec![
        (
            "/api/auth/register/".into(),
            None,
            json!({"email": "nul@example.com", "password": "pizza4ever", "first_name": nul, "last_name": "x"}),
            "first_name",
        ),
        (
            "/api/auth/register/".into(),
            None,
            json!({"email": "nul@example.com", "password": "pizza4ever", "first_name": "x", "last_name": nul}),
            "last_name",
        ),
        (
            "/api/auth/login/".into(),
            None,
            json!({"email": nul, "password": "pizza4ever"}),
            "email",
        ),
        (
            "/api/restaurants/".into(),
            owner,
            json!({"name": nul, "slug": "nul"}),
            "name",
        ),
        (
            format!("{restaurant}/staff/"),
            owner,
            json!({"email": nul, "role": "kitchen"}),
            "email",
        ),
        (
            format!("{restaurant}/menu/categories/"),
            owner,
            json!({"name": nul}),
            "name",
        ),
        (
            format!("{restaurant}/menu/items/"),
            owner,
            with(item.clone(), "/name"),
            "name",
        ),
        (
            format!("{restaurant}/menu/items/"),
            owner,
            with(item.clone(), "/description"),
            "description",
        ),
        (
            format!("{restaurant}/menu/items/"),
            owner,
            with(item.clone(), "/image_url"),
            "image_url",
        ),
        (
            format!("{restaurant}/menu/items/"),
            owner,
            with(item.clone(), "/variants/0/label"),
            "variants[0].label",
        ),
        (
            format!("{restaurant}/menu/items/"),
            owner,
            with(item, "/modifiers/0/name"),
            "modifiers[0].name",
        ),
        (
            format!("{restaurant}/stations/"),
            owner,
            json!({"name": nul}),
            "name",
        ),
        (
            confirm.clone(),
            None,
            with(order_body.clone(), "/raw_input"),
            "raw_input",
        ),
        (
            confirm.clone(),
            None,
            with(order_body.clone(), "/table_identifier"),
            "table_identifier",
        ),
        (
            confirm.clone(),
            None,
            with(order_body.clone(), "/language"),
            "language",
        ),
        (
            confirm,
            None,
            with(order_body, "/items/0/special_requests"),
            "items[0].special_requests",
        ),
    ];
    for (path, token, body, field) in cases {
        let reply = app.post(&path, token, body).await;
        assert_eq!(
            reply.status.as_u16(),
            400,
            "POST {path} with a NUL in {field}"
        );
        let error = reply.body;
        assert!(
            error["errors"][field].is_array(),
            "POST {path}: {field} not named: {error}"
        );
    }
    let patches: Vec<(String, serde_json::Value, &str)> = vec![
        (
            format!("{restaurant}/menu/categories/{}/", menu.category),
            json!({"name": nul}),
            "name",
        ),
        (
            format!("{restaurant}/menu/items/{}/", menu.pizza),
            json!({"name": nul}),
            "name",
        ),
        (
            format!("{restaurant}/menu/items/{}/", menu.pizza),
            json!({"description": nul}),
            "description",
        ),
        (
            format!("{restaurant}/menu/variants/{}/", menu.large),
            json!({"label": nul}),
            "label",
        ),
        (
            format!("{restaurant}/menu/modifiers/{}/", menu.cheese),
            json!({"name": nul}),
            "name",
        ),
    ];
    for (path, body, field) in patches {
        let reply = app.patch(&path, owner, body).await;
        assert_eq!(
            reply.status.as_u16(),
            400,
            "PATCH {path} with a NUL in {field}"
        );
        let error = reply.body;
        assert!(
            error["errors"][field].is_array(),
            "PATCH {path}: {field} not named: {error}"
        );
    }
    // Nothing was written: the one order placed above, the seeded menu as it was.
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(orders, 1, "{}", order["id"]);
    let menu_after = app
        .get(&format!("/api/order/{}/menu/", k.slug), None)
        .await
        .expect(200);
    assert_eq!(menu_after["categories"][0]["name"], "Mains");
    assert_eq!(
        menu_after["categories"][0]["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// With an `Idempotency-Key` the request is kept as jsonb, which cannot hold a NUL either: a
/// NUL anywhere in such a body is still a 400, and the key stays unused.
#[tokio::test]
async fn a_nul_in_a_keyed_request_is_a_400_too() {
    let app = spawn_app().await;
    let k = kitchen(&app, "luigis").await;
    let confirm = app.url(&format!("/api/order/{}/confirm/", k.slug));
    let mut body = ApiClient::pizza_order(&k.menu);
    body["table_identifier"] = json!("5\u{0}");
    let reply = app
        .send(
            app.client
                .post(&confirm)
                .header("Idempotency-Key", "nul-1")
                .json(&body),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 400, "{}", reply.body);
    assert!(reply.body["errors"]["table_identifier"].is_array());

    let order = app.place_order(&k.slug, &k.menu).await;
    let patch = app.url(&format!(
        "/api/kitchen/orders/{}/",
        order["id"].as_str().unwrap()
    ));
    for body in [
        json!({"status": "ready\u{0}"}),
        json!({"rush": true, "\u{0}": 1}),
    ] {
        let reply = app
            .send(
                app.client
                    .patch(&patch)
                    .bearer_auth(&k.cook.access)
                    .header("Idempotency-Key", "nul-2")
                    .json(&body),
            )
            .await;
        assert_eq!(reply.status.as_u16(), 400, "{body}: {}", reply.body);
    }
    // The key is still free: a valid request with it is applied.
    let reply = app
        .send(
            app.client
                .patch(&patch)
                .bearer_auth(&k.cook.access)
                .header("Idempotency-Key", "nul-2")
                .json(&json!({"rush": true})),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    assert_eq!(reply.body["rush"], true);
}
