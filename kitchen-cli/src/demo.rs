//! Demo data, created through the public API as any client would.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

pub const DEMO_SLUG: &str = "demo-trattoria";
pub const OWNER_EMAIL: &str = "owner@demo.kitchen";
pub const COOK_EMAIL: &str = "cook@demo.kitchen";
pub const DEMO_PASSWORD: &str = "kitchen-demo-1";
/// The demo restaurant's stations, in the order they are made.
pub const DEMO_STATIONS: [&str; 3] = ["grill", "cold", "bar"];

/// A demo item: its name and its variants (label, price); the first is the default.
type DemoItem = (&'static str, &'static [(&'static str, &'static str)]);

/// The demo menu: each category with the station it is made at and its items, in menu order
/// (`kitchen order` orders the first item).
const DEMO_MENU: &[(&str, &str, &[DemoItem])] = &[
    (
        "Pizze",
        "grill",
        &[
            ("Margherita", &[("Large", "11.50"), ("Small", "8.00")]),
            ("Diavola", &[("Large", "13.00"), ("Small", "9.50")]),
        ],
    ),
    (
        "Antipasti",
        "cold",
        &[
            ("Caprese", &[("Regular", "8.50")]),
            ("Vitello tonnato", &[("Regular", "10.00")]),
        ],
    ),
    (
        "Bevande",
        "bar",
        &[
            ("Limonata", &[("Glass", "3.50")]),
            ("Negroni", &[("Glass", "9.00")]),
        ],
    ),
];

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

/// The body of a 201, or why `what` was not created.
fn created((status, body): (u16, Value), what: &str) -> anyhow::Result<Value> {
    if status != 201 {
        bail!(
            "could not create {what} of the demo ({status}): {}",
            body["detail"]
        );
    }
    Ok(body)
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
        // Each category is made at a station, so `tail` and a station's screen
        // (`GET /api/kitchen/{slug}/orders/?station=…`) show every line where it is made.
        let mut stations = Vec::new();
        for name in DEMO_STATIONS {
            let station = created(
                call(
                    http.post(format!("{base}/stations/"))
                        .bearer_auth(&owner)
                        .json(&json!({"name": name})),
                )
                .await?,
                &format!("the station '{name}'"),
            )?;
            stations.push((name, station["id"].clone()));
        }
        for (category, station, items) in DEMO_MENU {
            let station_id = stations
                .iter()
                .find(|(name, _)| name == station)
                .map(|(_, id)| id.clone())
                .context("a demo category at an unknown station")?;
            let category = created(
                call(
                    http.post(format!("{base}/menu/categories/"))
                        .bearer_auth(&owner)
                        .json(&json!({"name": category, "station_id": station_id})),
                )
                .await?,
                &format!("the category '{category}'"),
            )?;
            for (name, variants) in *items {
                let variants: Vec<Value> = variants
                    .iter()
                    .map(|(label, price)| json!({"label": label, "price": price}))
                    .collect();
                let modifiers = if *station == "grill" {
                    json!([{"name": "Extra Cheese", "price_adjustment": "2.00"}])
                } else {
                    json!([])
                };
                created(
                    call(
                        http.post(format!("{base}/menu/items/"))
                            .bearer_auth(&owner)
                            .json(&json!({"category_id": category["id"], "name": name,
                                          "variants": variants, "modifiers": modifiers})),
                    )
                    .await?,
                    &format!("the item '{name}'"),
                )?;
            }
        }
    } else if status != 409 {
        bail!("could not create the demo restaurant ({status})");
    }
    println!();
    println!("Demo restaurant '{DEMO_SLUG}' is ready.");
    println!("  kitchen display {api}/kitchen/   (log in as the kitchen user)");
    println!("  customer page   {api}/order/{DEMO_SLUG}/");
    println!("  owner        {OWNER_EMAIL} / {DEMO_PASSWORD}");
    println!("  kitchen user {COOK_EMAIL} / {DEMO_PASSWORD}");
    println!("  menu (API)   {api}/api/order/{DEMO_SLUG}/menu/");
    println!(
        "  stations     {} (Pizze, Antipasti and Bevande are made there)",
        DEMO_STATIONS.join(", ")
    );
    // The flag only when the address is not the commands' default.
    let at = if api == "http://127.0.0.1:8080" {
        String::new()
    } else {
        format!(" --order-service {api}")
    };
    println!(
        "Or watch the kitchen feed in a terminal (these ask for the password, or read KITCHEN_PASSWORD):"
    );
    println!(
        "  cargo run --release -p kitchen-cli -- tail {DEMO_SLUG} --email {COOK_EMAIL} --notifier ws://{notifier}{at}"
    );
    println!("Place an order (a third terminal):");
    println!("  cargo run --release -p kitchen-cli -- order {DEMO_SLUG}{at}");
    println!("The stations, and routing a category (ids in the menu) to another station:");
    println!(
        "  cargo run --release -p kitchen-cli -- station list {DEMO_SLUG} --email {OWNER_EMAIL}{at}"
    );
    println!(
        "  cargo run --release -p kitchen-cli -- station route {DEMO_SLUG} <category_id> <station_id|none> --email {OWNER_EMAIL}{at}"
    );
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
