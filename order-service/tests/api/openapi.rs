use reqwest::Method;
use serde_json::Value;

use crate::helpers::spawn_app;

/// Every route of API.md, as (method, path).
const CONTRACT: &[(&str, &str)] = &[
    ("post", "/api/auth/register/"),
    ("post", "/api/auth/login/"),
    ("post", "/api/auth/refresh/"),
    ("post", "/api/auth/logout/"),
    ("post", "/api/restaurants/"),
    ("get", "/api/restaurants/"),
    ("post", "/api/restaurants/{slug}/staff/"),
    ("delete", "/api/restaurants/{slug}/staff/{user_id}/"),
    ("post", "/api/restaurants/{slug}/menu/categories/"),
    (
        "patch",
        "/api/restaurants/{slug}/menu/categories/{category_id}/",
    ),
    ("post", "/api/restaurants/{slug}/menu/items/"),
    ("patch", "/api/restaurants/{slug}/menu/items/{item_id}/"),
    (
        "patch",
        "/api/restaurants/{slug}/menu/variants/{variant_id}/",
    ),
    (
        "patch",
        "/api/restaurants/{slug}/menu/modifiers/{modifier_id}/",
    ),
    ("post", "/api/restaurants/{slug}/stations/"),
    ("get", "/api/restaurants/{slug}/stations/"),
    ("patch", "/api/restaurants/{slug}/stations/{station_id}/"),
    ("delete", "/api/restaurants/{slug}/stations/{station_id}/"),
    ("get", "/api/order/{slug}/menu/"),
    ("post", "/api/order/{slug}/confirm/"),
    ("get", "/api/order/{slug}/status/{order_id}/"),
    ("get", "/api/kitchen/{slug}/events/"),
    ("patch", "/api/kitchen/orders/{order_id}/"),
    ("patch", "/api/kitchen/orders/{order_id}/items/"),
    ("post", "/api/kitchen/orders/{order_id}/recall/"),
    ("get", "/api/kitchen/{slug}/orders/"),
    ("get", "/api/kitchen/{slug}/stats/"),
    ("post", "/api/kitchen/{slug}/ws-ticket/"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
];

fn operations(document: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                found.push((method.to_owned(), path.clone()));
            }
        }
    }
    found
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_the_router_serves() {
    let app = spawn_app().await;
    let document = app.get("/api/openapi.json", None).await.expect(200);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    let documented = operations(&document);

    for (method, path) in CONTRACT {
        assert!(
            documented.contains(&(method.to_string(), path.to_string())),
            "{method} {path} is in API.md but not in the OpenAPI document"
        );
    }
    // Each documented operation is a real route: never the router's 404 fallback nor a 405.
    for (method, path) in &documented {
        let concrete = path
            .replace("{slug}", "nowhere")
            .replace("{order_id}", &uuid::Uuid::new_v4().to_string())
            .replace("{user_id}", &uuid::Uuid::new_v4().to_string())
            .replace("{item_id}", "1")
            .replace("{category_id}", "1")
            .replace("{station_id}", "1")
            .replace("{variant_id}", "1")
            .replace("{modifier_id}", "1");
        assert!(!concrete.contains('{'), "unfilled parameter in {path}");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let reply = app
            .send(app.client.request(method.clone(), app.url(&concrete)))
            .await;
        assert_ne!(reply.status.as_u16(), 405, "{method} {path}");
        assert_ne!(
            reply.body["detail"], "Not found.",
            "{method} {path} is documented but not routed"
        );
    }
    // Operations carry their error responses and the bearer scheme where auth is needed.
    let patch = &document["paths"]["/api/kitchen/orders/{order_id}/"]["patch"];
    for status in ["200", "400", "401", "404", "409"] {
        assert!(
            patch["responses"].get(status).is_some(),
            "PATCH order lacks {status}"
        );
    }
    // Auth: refresh answers a pair, logout 204, login's guessing limit 429 with Retry-After.
    let auth = |path: &str| document["paths"][path]["post"]["responses"].clone();
    assert_eq!(
        auth("/api/auth/refresh/")["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/TokenPair"
    );
    for status in ["204", "400", "401"] {
        assert!(
            auth("/api/auth/logout/").get(status).is_some(),
            "logout lacks {status}"
        );
    }
    assert!(
        auth("/api/auth/login/")["429"]["headers"]["Retry-After"].is_object(),
        "{}",
        auth("/api/auth/login/")
    );
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());
    assert!(document["components"]["schemas"]["Order"].is_object());
    assert_eq!(
        document["components"]["schemas"]["Order"]["properties"]["total_price"]["type"],
        "string"
    );
    // The kitchen floor's fields (API.md, "The Order, for the kitchen").
    let schemas = &document["components"]["schemas"];
    for field in [
        "rush",
        "recalled_at",
        "status_changed_at",
        "ready_at",
        "completed_at",
    ] {
        assert!(
            schemas["Order"]["properties"][field].is_object(),
            "Order lacks {field}"
        );
    }
    for field in ["station", "done_at"] {
        assert!(
            schemas["OrderItem"]["properties"][field].is_object(),
            "OrderItem lacks {field}"
        );
    }
    assert!(schemas["KitchenList"]["properties"]["all_day"].is_object());
    for (path, method) in [
        ("/api/kitchen/orders/{order_id}/items/", "patch"),
        ("/api/kitchen/orders/{order_id}/recall/", "post"),
    ] {
        let responses = &document["paths"][path][method]["responses"];
        for status in ["200", "400", "401", "404", "409"] {
            assert!(
                responses.get(status).is_some(),
                "{method} {path} lacks {status}"
            );
        }
    }
}
