use serde_json::json;

use crate::helpers::{expired_access_token, spawn_app};

#[tokio::test]
async fn register_returns_user_and_tokens_and_stores_only_an_argon2id_hash() {
    let app = spawn_app().await;
    let body = app
        .post(
            "/api/auth/register/",
            None,
            json!({"email": "Chef@Luigis.example", "password": "pizza4ever", "first_name": "Mario", "last_name": "Rossi"}),
        )
        .await
        .expect(201);
    assert_eq!(body["user"]["email"], "Chef@Luigis.example");
    assert_eq!(body["user"]["first_name"], "Mario");
    assert_eq!(body["user"]["last_name"], "Rossi");
    assert!(
        body["user"]["id"]
            .as_str()
            .unwrap()
            .parse::<uuid::Uuid>()
            .is_ok()
    );
    assert!(body["access"].as_str().unwrap().split('.').count() == 3);
    assert!(body["refresh"].as_str().unwrap().split('.').count() == 3);

    let stored: String = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");
    assert!(!stored.contains("pizza4ever"));

    // The access token works on an authenticated route.
    app.get("/api/restaurants/", Some(body["access"].as_str().unwrap()))
        .await
        .expect(200);
}

#[tokio::test]
async fn emails_are_unique_case_insensitively() {
    let app = spawn_app().await;
    let register = |email: &str| json!({"email": email, "password": "pizza4ever", "first_name": "A", "last_name": "B"});
    app.post("/api/auth/register/", None, register("chef@luigis.example"))
        .await
        .expect(201);
    app.post("/api/auth/register/", None, register("CHEF@luigis.example"))
        .await
        .expect_error(409);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(users, 1);
}

#[tokio::test]
async fn register_validates_password_and_email() {
    let app = spawn_app().await;
    for (email, password, field) in [
        ("a@b.example", "short", "password"),
        ("a@b.example", "1234567890", "password"),
        ("not-an-email", "pizza4ever", "email"),
    ] {
        let body = app
            .post(
                "/api/auth/register/",
                None,
                json!({"email": email, "password": password, "first_name": "A", "last_name": "B"}),
            )
            .await
            .expect_error(400);
        assert!(body["errors"][field].is_array(), "{body}");
    }
    app.post("/api/auth/register/", None, json!({"email": "a@b.example"}))
        .await
        .expect_error(400);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

#[tokio::test]
async fn login_gives_tokens_and_one_message_for_unknown_email_or_wrong_password() {
    let app = spawn_app().await;
    let user = app.register("cook").await;
    let ok = app
        .post(
            "/api/auth/login/",
            None,
            json!({"email": user.email.to_uppercase(), "password": "pizza4ever"}),
        )
        .await
        .expect(200);
    let access = ok["access"].as_str().unwrap();
    assert!(ok["refresh"].is_string());
    app.get("/api/restaurants/", Some(access)).await.expect(200);

    let wrong_password = app
        .post(
            "/api/auth/login/",
            None,
            json!({"email": user.email, "password": "pizza5ever"}),
        )
        .await
        .expect_error(401);
    let unknown_email = app
        .post(
            "/api/auth/login/",
            None,
            json!({"email": "nobody@example.com", "password": "pizza4ever"}),
        )
        .await
        .expect_error(401);
    assert_eq!(wrong_password, unknown_email);
}

#[tokio::test]
async fn refresh_gives_a_new_access_token_and_refuses_anything_else() {
    let app = spawn_app().await;
    let user = app.register("cook").await;
    let body = app
        .post("/api/auth/refresh/", None, json!({"refresh": user.refresh}))
        .await
        .expect(200);
    app.get("/api/restaurants/", Some(body["access"].as_str().unwrap()))
        .await
        .expect(200);

    // An access token is not a refresh token, and garbage is not either.
    app.post("/api/auth/refresh/", None, json!({"refresh": user.access}))
        .await
        .expect_error(401);
    app.post("/api/auth/refresh/", None, json!({"refresh": "x.y.z"}))
        .await
        .expect_error(401);
    // A refresh token is not an access token.
    app.get("/api/restaurants/", Some(&user.refresh))
        .await
        .expect_error(401);
}

#[tokio::test]
async fn missing_bad_and_expired_tokens_are_401() {
    let app = spawn_app().await;
    let user = app.register("cook").await;
    let reply = app.get("/api/restaurants/", None).await;
    assert_eq!(reply.headers.get("www-authenticate").unwrap(), "Bearer");
    reply.expect_error(401);
    app.get("/api/restaurants/", Some("not-a-token"))
        .await
        .expect_error(401);
    app.get("/api/restaurants/", Some(&expired_access_token(user.id)))
        .await
        .expect_error(401);
    let basic = app
        .send(
            app.client
                .get(app.url("/api/restaurants/"))
                .basic_auth("a", Some("b")),
        )
        .await;
    basic.expect_error(401);
}
