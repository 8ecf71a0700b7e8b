//! Starts an order-service in-process on port 0 against the local PostgreSQL, with a database
//! of its own that is dropped afterwards, and speaks to it over real HTTP.

use std::{str::FromStr, sync::LazyLock};

use order_service::{
    auth::tokens::{TokenKeys, TokenKind, unix_now},
    config::{Config, LogFormat},
    startup::Application,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::{
    ConnectOptions, Connection, PgPool,
    postgres::{PgConnectOptions, PgConnection},
};
use uuid::Uuid;

pub const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
pub const JWT_SECRET: &str = "integration-test-secret-integration-test-secret";

static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var("TEST_LOG").is_ok() {
        order_service::telemetry::init(LogFormat::Text);
    }
});

pub struct TestApp {
    pub base: String,
    pub db: PgPool,
    pub client: reqwest::Client,
    pub database: String,
    pub config: Config,
    _server: tokio::task::JoinHandle<()>,
}

/// A registered user and their tokens.
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub access: String,
    pub refresh: String,
}

/// The ids of the menu `seed_menu` creates.
#[derive(Debug, Clone)]
pub struct Menu {
    pub category: i64,
    pub pizza: i64,
    pub large: i64,
    pub small: i64,
    pub cheese: i64,
    pub olives: i64,
    pub salad: i64,
    pub salad_regular: i64,
}

pub fn test_config(database: &str) -> Config {
    let mut config = Config::from_lookup(|_| None).expect("default config");
    config.database_url = format!("postgres://postgres@127.0.0.1:5432/{database}");
    config.listen_addr = "127.0.0.1:0".parse().unwrap();
    config.jwt_secret = JWT_SECRET.into();
    config.database_max_connections = 10;
    // An exchange of its own, so parallel tests never hear each other's events.
    config.exchange = format!("test.kitchen.{database}");
    config
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns the app after `adjust` has had its say on the configuration (a proxied database
/// URL, say). The database name is fresh, so the service creates and migrates it.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    LazyLock::force(&TRACING);
    let database = format!("kitchen_test_{}", Uuid::new_v4().simple());
    let mut config = test_config(&database);
    adjust(&mut config);
    let app = Application::build(config.clone())
        .await
        .expect("app builds");
    let port = app.port();
    let db = app.db().clone();
    let server = tokio::spawn(async move {
        let _ = app.run_until(std::future::pending()).await;
    });
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        db,
        client: reqwest::Client::new(),
        database,
        config,
        _server: server,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Drop the test database from a thread of its own: Drop cannot await.
        let database = self.database.clone();
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                let options = PgConnectOptions::from_str(ADMIN_URL)
                    .unwrap()
                    .disable_statement_logging();
                if let Ok(mut admin) = PgConnection::connect_with(&options).await {
                    let statement = format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)");
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                        .execute(&mut admin)
                        .await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// A response with its status, headers and JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// Asserts the status and the API's error format.
    #[track_caller]
    pub fn expect_error(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "error without detail: {}",
            self.body
        );
        let content_type = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            content_type.starts_with("application/json"),
            "content-type {content_type}"
        );
        self.body
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body read");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::DELETE, path, token, None).await
    }

    pub async fn register(&self, name: &str) -> User {
        let email = format!("{name}-{}@example.com", Uuid::new_v4().simple());
        let body = self
            .post(
                "/api/auth/register/",
                None,
                json!({"email": email, "password": "pizza4ever", "first_name": name, "last_name": "Tester"}),
            )
            .await
            .expect(201);
        User {
            id: body["user"]["id"].as_str().unwrap().parse().unwrap(),
            email,
            access: body["access"].as_str().unwrap().to_owned(),
            refresh: body["refresh"].as_str().unwrap().to_owned(),
        }
    }

    /// Creates a restaurant owned by `owner`; returns its slug.
    pub async fn create_restaurant(&self, owner: &User, slug: &str) -> String {
        self.post(
            "/api/restaurants/",
            Some(&owner.access),
            json!({"name": format!("Restaurant {slug}"), "slug": slug}),
        )
        .await
        .expect(201);
        slug.to_owned()
    }

    pub async fn add_staff(&self, by: &User, slug: &str, user: &User, role: &str) {
        self.post(
            &format!("/api/restaurants/{slug}/staff/"),
            Some(&by.access),
            json!({"email": user.email, "role": role}),
        )
        .await
        .expect(201);
    }

    /// A menu: Pizza (Large 14.99, Small 9.50; Extra Cheese 2.00, Olives 0.75) and Salad
    /// (Regular 7.25).
    pub async fn seed_menu(&self, owner: &User, slug: &str) -> Menu {
        let token = Some(owner.access.as_str());
        let category = self
            .post(
                &format!("/api/restaurants/{slug}/menu/categories/"),
                token,
                json!({"name": "Mains"}),
            )
            .await
            .expect(201)["id"]
            .as_i64()
            .unwrap();
        let pizza = self
            .post(
                &format!("/api/restaurants/{slug}/menu/items/"),
                token,
                json!({
                    "category_id": category, "name": "Pizza",
                    "variants": [{"label": "Large", "price": "14.99", "is_default": true}, {"label": "Small", "price": "9.50"}],
                    "modifiers": [{"name": "Extra Cheese", "price_adjustment": "2.00"}, {"name": "Olives", "price_adjustment": "0.75"}]
                }),
            )
            .await
            .expect(201);
        let salad = self
            .post(
                &format!("/api/restaurants/{slug}/menu/items/"),
                token,
                json!({"category_id": category, "name": "Salad", "sort_order": 2,
                       "variants": [{"label": "Regular", "price": "7.25"}]}),
            )
            .await
            .expect(201);
        Menu {
            category,
            pizza: pizza["id"].as_i64().unwrap(),
            large: pizza["variants"][0]["id"].as_i64().unwrap(),
            small: pizza["variants"][1]["id"].as_i64().unwrap(),
            cheese: pizza["modifiers"][0]["id"].as_i64().unwrap(),
            olives: pizza["modifiers"][1]["id"].as_i64().unwrap(),
            salad: salad["id"].as_i64().unwrap(),
            salad_regular: salad["variants"][0]["id"].as_i64().unwrap(),
        }
    }

    /// Two large pizzas with extra cheese: (14.99 + 2.00) × 2 = 33.98.
    pub fn pizza_order(menu: &Menu) -> Value {
        json!({
            "items": [{"menu_item_id": menu.pizza, "variant_id": menu.large, "quantity": 2,
                       "modifier_ids": [menu.cheese], "special_requests": "well done"}],
            "raw_input": "two large pizzas with extra cheese",
            "table_identifier": "5",
            "language": "en"
        })
    }

    pub async fn confirm(&self, slug: &str, body: Value) -> Reply {
        self.post(&format!("/api/order/{slug}/confirm/"), None, body)
            .await
    }

    /// Confirms the standard pizza order and returns it.
    pub async fn place_order(&self, slug: &str, menu: &Menu) -> Value {
        self.confirm(slug, Self::pizza_order(menu))
            .await
            .expect(201)
    }

    pub async fn move_order(&self, token: &str, order_id: &str, status: &str) -> Reply {
        self.patch(
            &format!("/api/kitchen/orders/{order_id}/"),
            Some(token),
            json!({"status": status}),
        )
        .await
    }
}

/// An owner with a restaurant and menu, plus a kitchen user on its staff.
pub struct Kitchen {
    pub owner: User,
    pub cook: User,
    pub slug: String,
    pub menu: Menu,
}

pub async fn kitchen(app: &TestApp, slug: &str) -> Kitchen {
    let owner = app.register("owner").await;
    let cook = app.register("cook").await;
    let slug = app.create_restaurant(&owner, slug).await;
    app.add_staff(&owner, &slug, &cook, "kitchen").await;
    let menu = app.seed_menu(&owner, &slug).await;
    Kitchen {
        owner,
        cook,
        slug,
        menu,
    }
}

pub fn expired_access_token(user: Uuid) -> String {
    let now = unix_now();
    TokenKeys::new(JWT_SECRET)
        .issue_with_expiry(user, TokenKind::Access, now - 3600, now - 1800)
        .unwrap()
}
