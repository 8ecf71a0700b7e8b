//! order-service's REST API as a client sees it. Setup calls fail with an error (the run cannot
//! go on without them); calls on the load path return what happened, to be counted.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use crate::bookkeeping::{Status, table_identifier};

#[derive(Clone)]
pub struct Api {
    base: Arc<str>,
    http: reqwest::Client,
}

/// A logged-in user; the access token is replaced by a refresher on long runs. Refresh tokens
/// rotate: each refresh spends the one held and answers the next, and presenting a spent one
/// again would revoke the session, so the newest is kept.
pub struct Session {
    pub email: String,
    access: RwLock<Arc<str>>,
    refresh: RwLock<Arc<str>>,
}

impl Session {
    pub fn access(&self) -> Arc<str> {
        self.access
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// The ids an order needs.
#[derive(Clone, Copy, Debug)]
pub struct MenuIds {
    pub item: i64,
    pub variant: i64,
    pub modifier: i64,
}

/// What a load-path request came to: an HTTP status, or a failure before one arrived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Status(u16),
    Transport(String),
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Status(s) if (200..300).contains(s))
    }

    /// A label to count errors by: "409", "transport: timeout", ...
    pub fn label(&self) -> String {
        match self {
            Outcome::Status(status) => status.to_string(),
            Outcome::Transport(kind) => format!("transport: {kind}"),
        }
    }
}

fn transport(error: &reqwest::Error) -> Outcome {
    let kind = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_body() || error.is_decode() {
        "body"
    } else {
        "request"
    };
    Outcome::Transport(kind.into())
}

fn field_i64(value: &Value, what: &str) -> anyhow::Result<i64> {
    value
        .as_i64()
        .with_context(|| format!("no integer {what} in the response"))
}

impl Api {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .build()?;
        Ok(Self {
            base: base.trim_end_matches('/').into(),
            http,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a setup request; the status and JSON body (Null if none).
    async fn call(&self, request: reqwest::RequestBuilder) -> anyhow::Result<(u16, Value)> {
        let response = request.send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    async fn checked(
        &self,
        what: &str,
        expected: u16,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<Value> {
        let (status, body) = self.call(request).await.with_context(|| what.to_owned())?;
        if status != expected {
            bail!("{what}: HTTP {status}: {body}");
        }
        Ok(body)
    }

    pub async fn register(&self, email: &str, first_name: &str) -> anyhow::Result<Arc<Session>> {
        let body = self
            .checked(
                "register",
                201,
                self.http
                    .post(self.url("/api/auth/register/"))
                    .json(&json!({
                        "email": email, "password": "loadgen-pass-1",
                        "first_name": first_name, "last_name": "Loadgen"
                    })),
            )
            .await?;
        let token = |key: &str| {
            body[key]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("register: no {key} token"))
        };
        Ok(Arc::new(Session {
            email: email.to_owned(),
            access: RwLock::new(token("access")?.into()),
            refresh: RwLock::new(token("refresh")?.into()),
        }))
    }

    /// Replaces the session's access token (they live 15 minutes) and its refresh token (the
    /// one presented is spent).
    pub async fn refresh(&self, session: &Session) -> anyhow::Result<()> {
        let presented = session
            .refresh
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let body = self
            .checked(
                "refresh",
                200,
                self.http
                    .post(self.url("/api/auth/refresh/"))
                    .json(&json!({"refresh": &*presented})),
            )
            .await?;
        let token = |key: &str| {
            body[key]
                .as_str()
                .with_context(|| format!("refresh: no {key} token"))
        };
        let (access, refresh) = (token("access")?, token("refresh")?);
        *session
            .access
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = access.into();
        *session
            .refresh
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = refresh.into();
        Ok(())
    }

    pub async fn create_restaurant(&self, owner: &Session, slug: &str) -> anyhow::Result<()> {
        self.checked(
            "create restaurant",
            201,
            self.http
                .post(self.url("/api/restaurants/"))
                .bearer_auth(owner.access())
                .json(&json!({"name": format!("Loadgen {slug}"), "slug": slug})),
        )
        .await
        .map(drop)
    }

    pub async fn add_kitchen_staff(
        &self,
        owner: &Session,
        slug: &str,
        email: &str,
    ) -> anyhow::Result<()> {
        self.checked(
            "add staff",
            201,
            self.http
                .post(self.url(&format!("/api/restaurants/{slug}/staff/")))
                .bearer_auth(owner.access())
                .json(&json!({"email": email, "role": "kitchen"})),
        )
        .await
        .map(drop)
    }

    /// A category with one item of one variant ("10.00") and one modifier.
    pub async fn create_menu(&self, owner: &Session, slug: &str) -> anyhow::Result<MenuIds> {
        let base = format!("/api/restaurants/{slug}/menu");
        let category = self
            .checked(
                "create category",
                201,
                self.http
                    .post(self.url(&format!("{base}/categories/")))
                    .bearer_auth(owner.access())
                    .json(&json!({"name": "Load"})),
            )
            .await?;
        let item = self
            .checked(
                "create item",
                201,
                self.http
                    .post(self.url(&format!("{base}/items/")))
                    .bearer_auth(owner.access())
                    .json(&json!({
                        "category_id": field_i64(&category["id"], "category id")?,
                        "name": "Load test pizza",
                        "variants": [{"label": "Regular", "price": "10.00", "is_default": true}],
                        "modifiers": [{"name": "Extra cheese", "price_adjustment": "1.50"}]
                    })),
            )
            .await?;
        Ok(MenuIds {
            item: field_i64(&item["id"], "item id")?,
            variant: field_i64(&item["variants"][0]["id"], "variant id")?,
            modifier: field_i64(&item["modifiers"][0]["id"], "modifier id")?,
        })
    }

    pub async fn ws_ticket(&self, session: &Session, slug: &str) -> anyhow::Result<String> {
        let body = self
            .checked(
                "ws-ticket",
                200,
                self.http
                    .post(self.url(&format!("/api/kitchen/{slug}/ws-ticket/")))
                    .bearer_auth(session.access()),
            )
            .await?;
        body["ticket"]
            .as_str()
            .map(str::to_owned)
            .context("ws-ticket: no ticket")
    }

    /// The restaurant's event `seq` as of its kitchen list.
    pub async fn kitchen_seq(&self, session: &Session, slug: &str) -> anyhow::Result<i64> {
        let body = self
            .checked(
                "kitchen list",
                200,
                self.http
                    .get(self.url(&format!("/api/kitchen/{slug}/orders/")))
                    .bearer_auth(session.access()),
            )
            .await?;
        field_i64(&body["seq"], "seq")
    }

    /// The restaurant's newest `seq` (one page of one event after `after`).
    pub async fn last_seq(&self, session: &Session, slug: &str, after: i64) -> anyhow::Result<i64> {
        let body = self
            .checked(
                "events",
                200,
                self.http
                    .get(self.url(&format!(
                        "/api/kitchen/{slug}/events/?after={after}&limit=1"
                    )))
                    .bearer_auth(session.access()),
            )
            .await?;
        field_i64(&body["last_seq"], "last_seq")
    }

    /// Places an order tagged `tag` (see `bookkeeping::table_identifier`); with the new order's
    /// id and its line's id on success.
    pub async fn confirm(
        &self,
        slug: &str,
        menu: MenuIds,
        tag: u64,
    ) -> (Outcome, Option<(String, i64)>) {
        let request = self
            .http
            .post(self.url(&format!("/api/order/{slug}/confirm/")))
            .json(&json!({
                "items": [{
                    "menu_item_id": menu.item, "variant_id": menu.variant,
                    "quantity": 1, "modifier_ids": [menu.modifier]
                }],
                "raw_input": "one pizza with extra cheese",
                "table_identifier": table_identifier(tag)
            }));
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => return (transport(&error), None),
        };
        let status = response.status().as_u16();
        match response.bytes().await {
            Ok(bytes) => {
                let ids = serde_json::from_slice::<Value>(&bytes)
                    .ok()
                    .and_then(|order| {
                        Some((
                            order["id"].as_str()?.to_owned(),
                            order["items"][0]["id"].as_i64()?,
                        ))
                    });
                (Outcome::Status(status), ids)
            }
            Err(error) => (transport(&error), None),
        }
    }

    pub async fn move_order(&self, session: &Session, order_id: &str, status: Status) -> Outcome {
        let request = self
            .http
            .patch(self.url(&format!("/api/kitchen/orders/{order_id}/")))
            .bearer_auth(session.access())
            .json(&json!({"status": status.as_str()}));
        answer(request).await
    }

    /// One of the kitchen floor's writes (API.md, Kitchen floor) on an order.
    pub async fn floor_write(
        &self,
        session: &Session,
        order_id: &str,
        write: FloorWrite,
    ) -> Outcome {
        let path = format!("/api/kitchen/orders/{order_id}/");
        let request = match write {
            FloorWrite::Rush => self
                .http
                .patch(self.url(&path))
                .json(&json!({"rush": true})),
            FloorWrite::LineDone(line) => self
                .http
                .patch(self.url(&format!("{path}items/")))
                .json(&json!({"line_ids": [line], "done": true})),
            FloorWrite::Recall => self.http.post(self.url(&format!("{path}recall/"))),
        };
        answer(request.bearer_auth(session.access())).await
    }
}

/// The kitchen floor's writes, as the `http` scenario's `--kitchen-floor` makes them.
#[derive(Clone, Copy, Debug)]
pub enum FloorWrite {
    Rush,
    LineDone(i64),
    Recall,
}

impl FloorWrite {
    pub fn label(self) -> &'static str {
        match self {
            FloorWrite::Rush => "rush",
            FloorWrite::LineDone(_) => "items",
            FloorWrite::Recall => "recall",
        }
    }
}

/// Sends a load-path request and reads its body (so the connection goes back to the pool).
async fn answer(request: reqwest::RequestBuilder) -> Outcome {
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => return transport(&error),
    };
    let status = response.status().as_u16();
    match response.bytes().await {
        Ok(_) => Outcome::Status(status),
        Err(error) => transport(&error),
    }
}
