//! Headers that protect clients: no MIME sniffing anywhere, no caching of API answers (tokens
//! above all), and cross-origin browser access only for configured origins.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{spawn_app, spawn_app_with};

#[tokio::test]
async fn every_response_says_nosniff_and_api_answers_are_not_cached() {
    let app = spawn_app().await;
    let user = app.register("owner").await;
    let slug = app.create_restaurant(&user, "luigis").await;
    let login = app
        .post(
            "/api/auth/login/",
            None,
            json!({"email": user.email, "password": "pizza4ever"}),
        )
        .await;
    let refresh = app
        .post(
            "/api/auth/refresh/",
            None,
            json!({"refresh": login.body["refresh"]}),
        )
        .await;
    let ticket = app
        .post(
            &format!("/api/kitchen/{slug}/ws-ticket/"),
            Some(&user.access),
            json!({}),
        )
        .await;
    let missing = app.get("/no/such/page", None).await;
    let unauthorized = app.get("/api/restaurants/", None).await;
    for (what, reply, status) in [
        ("login", &login, 200),
        ("refresh", &refresh, 200),
        ("ws-ticket", &ticket, 200),
        ("unknown path", &missing, 404),
        ("no token", &unauthorized, 401),
    ] {
        assert_eq!(reply.status.as_u16(), status, "{what}: {}", reply.body);
        assert_eq!(reply.headers["x-content-type-options"], "nosniff", "{what}");
    }
    for (what, reply) in [
        ("login", &login),
        ("refresh", &refresh),
        ("ws-ticket", &ticket),
        ("no token", &unauthorized),
    ] {
        assert_eq!(reply.headers["cache-control"], "no-store", "{what}");
    }
}

async fn preflight(app: &crate::helpers::TestApp, origin: &str) -> reqwest::header::HeaderMap {
    app.send(
        app.client
            .request(Method::OPTIONS, app.url("/api/restaurants/"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type",
            ),
    )
    .await
    .headers
}

#[tokio::test]
async fn other_origins_cannot_drive_the_api_from_a_browser() {
    let app = spawn_app().await;
    let headers = preflight(&app, "https://evil.example").await;
    assert!(
        headers.get("access-control-allow-origin").is_none(),
        "{headers:?}"
    );
    let simple = app
        .send(
            app.client
                .get(app.url("/api/order/luigis/menu/"))
                .header("Origin", "https://evil.example"),
        )
        .await;
    assert!(simple.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn configured_origins_may() {
    let app = spawn_app_with(|config| {
        config.cors_allowed_origins = vec!["https://kitchen.example".into()];
    })
    .await;
    let headers = preflight(&app, "https://kitchen.example").await;
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://kitchen.example"
    );
    assert!(
        preflight(&app, "https://evil.example")
            .await
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn a_body_that_is_not_a_json_object_is_400_on_every_route() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let slug = app.create_restaurant(&owner, "luigis").await;
    let token = Some(owner.access.as_str());
    for (path, body, auth) in [
        (
            "/api/auth/login/".to_owned(),
            json!(["a@example.com", "pizza4ever"]),
            None,
        ),
        (
            "/api/auth/register/".to_owned(),
            json!(["a@example.com", "pizza4ever", "A", "B"]),
            None,
        ),
        (
            "/api/restaurants/".to_owned(),
            json!(["Luigi", "luigi"]),
            token,
        ),
        (
            format!("/api/restaurants/{slug}/stations/"),
            json!(["fry"]),
            token,
        ),
        (
            format!("/api/restaurants/{slug}/menu/categories/"),
            json!(["Mains"]),
            token,
        ),
        (
            format!("/api/order/{slug}/confirm/"),
            json!([[], "raw"]),
            None,
        ),
        (
            format!("/api/restaurants/{slug}/stations/"),
            json!("fry"),
            token,
        ),
    ] {
        let reply = app.post(&path, auth, body.clone()).await;
        assert_eq!(reply.status.as_u16(), 400, "{path} {body}: {}", reply.body);
        assert!(reply.body["detail"].is_string());
    }
    // Nothing was made.
    let stations = app
        .get(&format!("/api/restaurants/{slug}/stations/"), token)
        .await
        .expect(200);
    assert_eq!(stations, json!([]));
}
