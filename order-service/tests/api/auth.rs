use std::time::Duration;

use order_service::auth::throttle::LoginLimits;
use serde_json::json;
use test_support::api::Reply;

use crate::helpers::{ApiClient, expired_access_token, spawn_app, spawn_app_with};

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
    // An email longer than any account's (which the guessing limit must still key by) is
    // just as unknown, not a server error.
    let endless: String = (0..400)
        .map(|_| uuid::Uuid::new_v4().simple().to_string())
        .collect();
    let endless_email = app
        .post(
            "/api/auth/login/",
            None,
            json!({"email": format!("{endless}@example.com"), "password": "pizza4ever"}),
        )
        .await
        .expect_error(401);
    assert_eq!(endless_email, unknown_email);
}

#[tokio::test]
async fn refresh_rotates_the_pair_and_spends_the_token_presented() {
    let app = spawn_app().await;
    let user = app.register("cook").await;
    let first = refresh(&app, &user.refresh).await.expect(200);
    let (access, next) = pair(&first);
    app.get("/api/restaurants/", Some(&access))
        .await
        .expect(200);
    assert_ne!(next, user.refresh);
    // The new refresh token works (once), the one presented is spent.
    let second = refresh(&app, &next).await.expect(200);
    assert_ne!(pair(&second).1, next);
    refresh(&app, &next).await.expect_error(401);

    // An access token is not a refresh token, and garbage is not either.
    refresh(&app, &user.access).await.expect_error(401);
    refresh(&app, "x.y.z").await.expect_error(401);
    // A refresh token is not an access token.
    app.get("/api/restaurants/", Some(&pair(&second).1))
        .await
        .expect_error(401);
}

#[tokio::test]
async fn a_spent_refresh_token_presented_again_revokes_its_whole_line() {
    let app = spawn_app().await;
    let user = app.register("cook").await;
    // Another login of the same user: a line of its own (another device).
    let other_device = login(&app, &user.email, PASSWORD).await.expect(200);

    // A refreshes to B; A presented again (a thief, or its owner) is 401...
    let b = pair(&refresh(&app, &user.refresh).await.expect(200)).1;
    refresh(&app, &user.refresh).await.expect_error(401);
    // ...and now B, descended from the same login, is refused too.
    refresh(&app, &b).await.expect_error(401);

    // The other line is untouched.
    refresh(&app, &pair(&other_device).1).await.expect(200);
}

#[tokio::test]
async fn logout_revokes_the_line_of_the_token_it_is_given() {
    let app = spawn_app().await;
    let user = app.register("cook").await;
    let bystander = login(&app, &user.email, PASSWORD).await.expect(200);

    // A line A0 → A1; logging out with A1 is 204 with no body, and A1 refreshes no more.
    let a1 = pair(&refresh(&app, &user.refresh).await.expect(200)).1;
    let reply = logout(&app, &a1).await;
    assert_eq!(reply.status.as_u16(), 204);
    assert!(reply.body.is_null(), "{}", reply.body);
    refresh(&app, &a1).await.expect_error(401);
    // Logging out again with it changes nothing and is no error.
    assert_eq!(logout(&app, &a1).await.status.as_u16(), 204);

    // A line C0 → C1; logging out with C0 (spent) takes C1, refreshed from it, along.
    let c0 = pair(&login(&app, &user.email, PASSWORD).await.expect(200)).1;
    let c1 = pair(&refresh(&app, &c0).await.expect(200)).1;
    assert_eq!(logout(&app, &c0).await.status.as_u16(), 204);
    refresh(&app, &c1).await.expect_error(401);

    // Not a refresh token of ours: 401 in the API's format; a body of the wrong shape: 400.
    logout(&app, "x.y.z").await.expect_error(401);
    logout(&app, &user.access).await.expect_error(401);
    logout(&app, &expired_access_token(user.id))
        .await
        .expect_error(401);
    app.post("/api/auth/logout/", None, json!({"refresh": 5}))
        .await
        .expect_error(400);
    app.post("/api/auth/logout/", None, json!([]))
        .await
        .expect_error(400);
    app.post("/api/auth/logout/", None, json!({}))
        .await
        .expect_error(400);

    // None of that touched another line.
    refresh(&app, &pair(&bystander).1).await.expect(200);
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_get_at_most_one_pair() {
    let app = spawn_app().await;
    let user = app.register("cook").await;
    let replies =
        futures_util::future::join_all((0..8).map(|_| refresh(&app, &user.refresh))).await;
    let winners: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "{replies:?}");
    assert!(
        replies
            .iter()
            .all(|r| [200, 401].contains(&r.status.as_u16()))
    );
    // The losers presented a spent token: the line is revoked, the winner's pair included.
    refresh(&app, &pair(&winners[0].body).1)
        .await
        .expect_error(401);
    let tokens: i64 = sqlx::query_scalar("SELECT count(*) FROM refresh_tokens")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(tokens, 2, "the first token and one successor, no more");
}

#[tokio::test]
async fn login_is_limited_per_email_with_the_contract_s_limits() {
    let app = spawn_app().await;
    assert_eq!(app.config.login_limits, LoginLimits::default());
    let user = app.register("cook").await;
    let neighbour = app.register("neighbour").await;
    for _ in 0..10 {
        login(&app, &user.email, "wrong-password")
            .await
            .expect_error(401);
    }
    let verified = app.passwords.verifications();
    assert_eq!(verified, 10);

    // The 11th attempt is refused whatever the password, in any case of the email.
    for (email, password) in [
        (user.email.clone(), PASSWORD),
        (user.email.to_uppercase(), PASSWORD),
        (user.email.clone(), "wrong-password"),
    ] {
        let reply = login(&app, &email, password).await;
        let retry_after: u64 = reply.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
        reply.expect_error(429);
    }
    // ...at the cost of no Argon2 work.
    assert_eq!(app.passwords.verifications(), verified);

    // Another email from the same address is not limited.
    login(&app, &neighbour.email, PASSWORD).await.expect(200);
}

#[tokio::test]
async fn a_successful_login_clears_the_email_s_count() {
    let app = spawn_app().await;
    let user = app.register("cook").await;
    for _ in 0..9 {
        login(&app, &user.email, "wrong-password")
            .await
            .expect_error(401);
    }
    login(&app, &user.email, PASSWORD).await.expect(200);
    // Ten more failures are allowed again, not one.
    for _ in 0..10 {
        login(&app, &user.email, "wrong-password")
            .await
            .expect_error(401);
    }
    login(&app, &user.email, PASSWORD).await.expect_error(429);
}

#[tokio::test]
async fn login_is_limited_per_client_address_and_successes_do_not_count() {
    let app = spawn_app_with(|config| {
        config.login_limits = LoginLimits {
            per_email: 10,
            per_address: 3,
            window: Duration::from_secs(15 * 60),
        }
    })
    .await;
    let user = app.register("cook").await;
    // Successes give their attempt back: three of them leave room for three failures.
    for _ in 0..3 {
        login(&app, &user.email, PASSWORD).await.expect(200);
    }
    for guess in 0..3 {
        login(
            &app,
            &format!("nobody{guess}@example.com"),
            "wrong-password",
        )
        .await
        .expect_error(401);
    }
    // Three failures from 127.0.0.1, each for another email: this address is limited, for
    // every email and the right password too.
    login(&app, &user.email, PASSWORD).await.expect_error(429);
    login(&app, "someone-else@example.com", "x")
        .await
        .expect_error(429);
    assert_eq!(app.passwords.verifications(), 6);

    // Another client address (the TCP peer's, 127.0.0.2) is not.
    let elsewhere = ApiClient {
        base: app.base.clone(),
        client: reqwest::Client::builder()
            .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap(),
    };
    login(&elsewhere, &user.email, PASSWORD).await.expect(200);
    // A forwarding header is no way around it.
    let forwarded = app
        .send(
            app.client
                .post(app.url("/api/auth/login/"))
                .header("x-forwarded-for", "198.51.100.1")
                .header("forwarded", "for=198.51.100.1")
                .json(&json!({"email": user.email, "password": PASSWORD})),
        )
        .await;
    forwarded.expect_error(429);
}

#[tokio::test]
async fn instances_on_one_database_share_the_limits() {
    let first = spawn_app_with(|config| config.login_limits.per_email = 3).await;
    let second = first.another_instance().await;
    let user = first.register("cook").await;
    for _ in 0..3 {
        login(&first, &user.email, "wrong-password")
            .await
            .expect_error(401);
    }
    login(&second, &user.email, PASSWORD)
        .await
        .expect_error(429);
    assert_eq!(second.passwords.verifications(), 0);
}

#[tokio::test]
async fn concurrent_guesses_get_no_more_password_checks_than_the_limit() {
    let app = spawn_app_with(|config| config.login_limits.per_email = 4).await;
    let user = app.register("cook").await;
    let replies =
        futures_util::future::join_all((0..16).map(|_| login(&app, &user.email, "wrong-password")))
            .await;
    let count = |status: u16| replies.iter().filter(|r| r.status == status).count();
    assert_eq!((count(401), count(429)), (4, 12), "{replies:?}");
    assert_eq!(app.passwords.verifications(), 4);
}

const PASSWORD: &str = "pizza4ever";

async fn login(api: &ApiClient, email: &str, password: &str) -> Reply {
    api.post(
        "/api/auth/login/",
        None,
        json!({"email": email, "password": password}),
    )
    .await
}

async fn refresh(api: &ApiClient, token: &str) -> Reply {
    api.post("/api/auth/refresh/", None, json!({"refresh": token}))
        .await
}

async fn logout(api: &ApiClient, token: &str) -> Reply {
    api.post("/api/auth/logout/", None, json!({"refresh": token}))
        .await
}

/// The `access` and `refresh` of a token pair.
fn pair(body: &serde_json::Value) -> (String, String) {
    let token = |key: &str| {
        body[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} in {body}"))
            .to_owned()
    };
    (token("access"), token("refresh"))
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
