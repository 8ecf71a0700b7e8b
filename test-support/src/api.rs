//! A client of order-service's REST API for tests: raw calls that return status, headers and
//! JSON, plus the steps most tests need (register, open a restaurant, seed a menu, order).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// Speaks to one order-service at `base` (e.g. `http://127.0.0.1:41234`).
#[derive(Clone)]
pub struct ApiClient {
    pub base: String,
    pub client: reqwest::Client,
}

impl ApiClient {
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            base: base.into(),
            // Generous, but a hung server fails the test instead of hanging CI.
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("HTTP client"),
        }
    }
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

impl ApiClient {
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

    /// A new station `name` of the restaurant's, with the menu's category `category` made
    /// there; returns the station.
    pub async fn station_for_category(
        &self,
        by: &User,
        slug: &str,
        category: i64,
        name: &str,
    ) -> Value {
        let token = Some(by.access.as_str());
        let station = self
            .post(
                &format!("/api/restaurants/{slug}/stations/"),
                token,
                json!({"name": name}),
            )
            .await
            .expect(201);
        self.patch(
            &format!("/api/restaurants/{slug}/menu/categories/{category}/"),
            token,
            json!({"station_id": station["id"]}),
        )
        .await
        .expect(200);
        station
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

    /// The kitchen list of `slug` (`GET /api/kitchen/{slug}/orders/`), which must answer 200.
    pub async fn kitchen_list(&self, slug: &str, token: &str) -> Value {
        self.get(&format!("/api/kitchen/{slug}/orders/"), Some(token))
            .await
            .expect(200)
    }
}

/// An owner with a restaurant and menu, plus a kitchen user on its staff.
pub struct Kitchen {
    pub owner: User,
    pub cook: User,
    pub slug: String,
    pub menu: Menu,
}

impl ApiClient {
    pub async fn kitchen(&self, slug: &str) -> Kitchen {
        let owner = self.register("owner").await;
        let cook = self.register("cook").await;
        let slug = self.create_restaurant(&owner, slug).await;
        self.add_staff(&owner, &slug, &cook, "kitchen").await;
        let menu = self.seed_menu(&owner, &slug).await;
        Kitchen {
            owner,
            cook,
            slug,
            menu,
        }
    }

    /// A kitchen WebSocket ticket for `slug`.
    pub async fn ws_ticket(&self, user: &User, slug: &str) -> String {
        let body = self
            .post(
                &format!("/api/kitchen/{slug}/ws-ticket/"),
                Some(&user.access),
                json!({}),
            )
            .await
            .expect(200);
        body["ticket"].as_str().expect("ticket").to_owned()
    }
}
