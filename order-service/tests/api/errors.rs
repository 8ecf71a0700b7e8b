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
