//! Demo data, created through the public API as any client would.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

pub const DEMO_SLUG: &str = "demo-trattoria";
pub const OWNER_EMAIL: &str = "owner@demo.kitchen";
pub const COOK_EMAIL: &str = "cook@demo.kitchen";
pub const DEMO_PASSWORD: &str = "kitchen-demo-1";

/// Waits (up to 60 s) for a service's `/readyz`.
pub async fn wait_ready(base: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = http.get(format!("{base}/readyz")).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{base} did not become ready within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn call(request: reqwest::RequestBuilder) -> anyhow::Result<(u16, Value)> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, body))
}

/// Logs in, registering first if the account does not exist yet.
pub async fn account(
    http: &reqwest::Client,
    api: &str,
    email: &str,
    name: &str,
) -> anyhow::Result<String> {
    let (status, body) = call(
        http.post(format!("{api}/api/auth/register/")).json(
            &json!({"email": email, "password": DEMO_PASSWORD, "first_name": name, "last_name": "Demo"}),
        ),
    )
    .await?;
    if status == 201 {
        return body["access"]
            .as_str()
            .map(str::to_owned)
            .context("no access token");
    }
    login(http, api, email, DEMO_PASSWORD).await
}

pub async fn login(
    http: &reqwest::Client,
    api: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let (status, body) = call(
        http.post(format!("{api}/api/auth/login/"))
            .json(&json!({"email": email, "password": password})),
    )
    .await?;
    if status != 200 {
        bail!("login as {email} failed ({status}): {}", body["detail"]);
    }
    body["access"]
        .as_str()
        .map(str::to_owned)
        .context("no access token")
}

/// The demo restaurant with a menu, an owner and a kitchen user (kept if they exist).
pub async fn seed(api: &str, notifier: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let owner = account(&http, api, OWNER_EMAIL, "Olivia").await?;
    account(&http, api, COOK_EMAIL, "Carlo").await?;
    let (status, _) = call(
        http.post(format!("{api}/api/restaurants/"))
            .bearer_auth(&owner)
            .json(&json!({"name": "Demo Trattoria", "slug": DEMO_SLUG})),
    )
    .await?;
    if status == 201 {
        let base = format!("{api}/api/restaurants/{DEMO_SLUG}");
        call(
            http.post(format!("{base}/staff/"))
                .bearer_auth(&owner)
                .json(&json!({"email": COOK_EMAIL, "role": "kitchen"})),
        )
        .await?;
        let (_, category) = call(
            http.post(format!("{base}/menu/categories/"))
                .bearer_auth(&owner)
                .json(&json!({"name": "Pizze"})),
        )
        .await?;
        for (name, large, small) in [
            ("Margherita", "11.50", "8.00"),
            ("Diavola", "13.00", "9.50"),
        ] {
            call(
                http.post(format!("{base}/menu/items/")).bearer_auth(&owner).json(&json!({
                    "category_id": category["id"], "name": name,
                    "variants": [{"label": "Large", "price": large, "is_default": true}, {"label": "Small", "price": small}],
                    "modifiers": [{"name": "Extra Cheese", "price_adjustment": "2.00"}]
                })),
            )
            .await?;
        }
    } else if status != 409 {
        bail!("could not create the demo restaurant ({status})");
    }
    println!();
    println!("Demo restaurant '{DEMO_SLUG}' is ready.");
    println!("  owner        {OWNER_EMAIL} / {DEMO_PASSWORD}");
    println!("  kitchen user {COOK_EMAIL} / {DEMO_PASSWORD}");
    println!("  menu         {api}/api/order/{DEMO_SLUG}/menu/");
    println!("Watch the kitchen feed (another terminal):");
    println!(
        "  cargo run --release -p kitchen-cli -- tail {DEMO_SLUG} --email {COOK_EMAIL} --password {DEMO_PASSWORD} --notifier ws://{notifier}"
    );
    println!("Place an order (a third terminal):");
    println!("  cargo run --release -p kitchen-cli -- order {DEMO_SLUG}");
    println!();
    Ok(())
}

/// Orders two of the first item of the menu, as a customer.
pub async fn place_order(api: &str, slug: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let (status, menu) = call(http.get(format!("{api}/api/order/{slug}/menu/"))).await?;
    if status != 200 {
        bail!("no menu for '{slug}' ({status})");
    }
    let item = menu["categories"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find_map(|c| c["items"].as_array()?.first().cloned())
        })
        .context("the menu has no items")?;
    let variant = &item["variants"][0];
    let (status, order) = call(http.post(format!("{api}/api/order/{slug}/confirm/")).json(
        &json!({
            "items": [{"menu_item_id": item["id"], "variant_id": variant["id"], "quantity": 2}],
            "raw_input": format!("two {}", item["name"].as_str().unwrap_or("items")),
            "table_identifier": "7"
        }),
    ))
    .await?;
    if status != 201 {
        bail!("the order was refused ({status}): {}", order["detail"]);
    }
    println!(
        "order {} confirmed: 2 × {} {}, total {}",
        order["id"].as_str().unwrap_or("?"),
        variant["label"].as_str().unwrap_or(""),
        item["name"].as_str().unwrap_or(""),
        order["total_price"].as_str().unwrap_or("?")
    );
    Ok(())
}
