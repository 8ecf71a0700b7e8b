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

/// The document says what the service enforces (issue #12): a client generated from it, or a
/// fuzzer, sends nothing the service refuses for its shape, and knows every status it can get.
#[tokio::test]
async fn the_document_states_the_bounds_and_statuses_the_service_enforces() {
    let app = spawn_app().await;
    let document = app.get("/api/openapi.json", None).await.expect(200);
    let schemas = &document["components"]["schemas"];
    let operation = |path: &str, method: &str| document["paths"][path][method].clone();
    let parameter = |path: &str, method: &str, name: &str| {
        operation(path, method)["parameters"]
            .as_array()
            .and_then(|all| all.iter().find(|p| p["name"] == name).cloned())
            .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"))
    };

    // Slugs, in bodies and in every path.
    let slug = &schemas["NewRestaurant"]["properties"]["slug"];
    assert_eq!(slug["maxLength"], 100);
    assert!(
        slug["pattern"]
            .as_str()
            .unwrap()
            .ends_with("[a-z0-9]+(-[a-z0-9]+)*$")
    );
    for (path, method) in [
        ("/api/order/{slug}/confirm/", "post"),
        ("/api/kitchen/{slug}/events/", "get"),
        ("/api/restaurants/{slug}/menu/items/", "post"),
    ] {
        let schema = &parameter(path, method, "slug")["schema"];
        assert_eq!(schema["pattern"], "^[a-z0-9]+(-[a-z0-9]+)*$", "{path}");
        assert_eq!(schema["maxLength"], 100, "{path}");
    }

    // Bounds of numbers, lists and texts.
    let line = &schemas["ConfirmLine"]["properties"];
    assert_eq!(line["quantity"]["minimum"], 1);
    assert_eq!(line["quantity"]["maximum"], 99);
    assert_eq!(line["modifier_ids"]["maxItems"], 20);
    assert_eq!(line["modifier_ids"]["uniqueItems"], true);
    assert_eq!(
        schemas["ConfirmRequest"]["properties"]["items"]["minItems"],
        1
    );
    assert_eq!(
        schemas["ConfirmRequest"]["properties"]["raw_input"]["maxLength"],
        2000
    );
    let after = &parameter("/api/kitchen/{slug}/events/", "get", "after")["schema"];
    assert_eq!(after["minimum"], 0);
    let limit = &parameter("/api/kitchen/{slug}/events/", "get", "limit")["schema"];
    assert_eq!(
        (limit["minimum"].clone(), limit["maximum"].clone()),
        (1.into(), 1000.into())
    );
    // A NUL cannot be stored: every stored text says so.
    for (schema, field) in [
        ("ConfirmRequest", "raw_input"),
        ("ConfirmLine", "special_requests"),
        ("NewCategory", "name"),
        ("NewRestaurant", "name"),
        ("Register", "first_name"),
    ] {
        let pattern = schemas[schema]["properties"][field]["pattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{schema}.{field} has no pattern"));
        assert!(pattern.contains("[^\\u0000"), "{schema}.{field}: {pattern}");
    }

    // PATCH bodies: which fields may be null (API.md; README "Behaviour worth knowing").
    let nullable = |schema: &str, field: &str| {
        let property = &schemas[schema]["properties"][field];
        assert!(property.is_object(), "{schema}.{field} is not documented");
        property["type"]
            .as_array()
            .is_some_and(|types| types.contains(&"null".into()))
    };
    for (schema, field, may_be_null) in [
        ("ItemPatch", "name", false),
        ("ItemPatch", "is_active", false),
        ("ItemPatch", "description", true),
        ("ItemPatch", "station_id", true),
        ("VariantPatch", "label", false),
        ("VariantPatch", "price", false),
        ("ModifierPatch", "name", false),
        ("CategoryPatch", "name", false),
        ("CategoryPatch", "station_id", true),
    ] {
        assert_eq!(nullable(schema, field), may_be_null, "{schema}.{field}");
    }
    assert_eq!(schemas["CategoryPatch"]["minProperties"], 1);
    assert_eq!(schemas["OrderPatchBody"]["minProperties"], 1);

    // Statuses every route of a kind can give.
    let responses = |path: &str, method: &str| operation(path, method)["responses"].clone();
    for (path, method) in [
        (
            "/api/restaurants/{slug}/menu/variants/{variant_id}/",
            "patch",
        ),
        ("/api/order/{slug}/confirm/", "post"),
        ("/api/auth/login/", "post"),
        ("/api/kitchen/orders/{order_id}/items/", "patch"),
    ] {
        for status in ["400", "413", "415", "503"] {
            assert!(
                responses(path, method).get(status).is_some(),
                "{method} {path} lacks {status}"
            );
        }
    }
    assert!(responses("/api/restaurants/", "get").get("401").is_some());
    assert!(
        responses("/api/kitchen/{slug}/orders/", "get")["503"]["headers"]["Retry-After"]
            .is_object()
    );
    for path in ["/api/auth/login/", "/api/order/{slug}/confirm/"] {
        assert!(
            responses(path, "post")["429"]["headers"]["Retry-After"].is_object(),
            "{path} lacks 429 with Retry-After"
        );
    }

    // Links from what is created to what acts on it (a client, or a stateful fuzzer, follows
    // them).
    let links = &responses("/api/order/{slug}/confirm/", "post")["201"]["links"];
    assert_eq!(
        links["UpdateOrder"]["parameters"]["order_id"],
        "$response.body#/id"
    );
}
