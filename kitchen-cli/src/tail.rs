//! A terminal kitchen screen, following API.md's recipe: open the socket, read the list (seq S),
//! apply frames with seq > S, reload the list on `resync`.

use anyhow::{Context, bail};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::demo::login;

pub async fn run(
    slug: &str,
    email: &str,
    password: &str,
    api: &str,
    notifier: &str,
) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let access = login(&http, api, email, password).await?;
    let ticket: Value = http
        .post(format!("{api}/api/kitchen/{slug}/ws-ticket/"))
        .bearer_auth(&access)
        .json(&json!({}))
        .send()
        .await?
        .json()
        .await?;
    let ticket = ticket["ticket"]
        .as_str()
        .context("no ticket: is this user staff of the restaurant?")?;
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("{notifier}/ws/kitchen/{slug}/?ticket={ticket}"))
            .await
            .context("cannot open the kitchen socket")?;
    let mut applied = show_list(&http, api, slug, &access).await?;
    loop {
        tokio::select! {
            _ = service_common::shutdown::signal() => return Ok(()),
            message = socket.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let frame: Value = serde_json::from_str(&text)?;
                    if frame["event"] == "resync" {
                        println!("-- resync: reloading the kitchen list");
                        applied = show_list(&http, api, slug, &access).await?;
                        continue;
                    }
                    if frame["event"] == "heartbeat" {
                        let seen = frame["seq"].as_i64();
                        println!("-- live · seq {}", seen.map_or("none yet".to_owned(), |s| s.to_string()));
                        if let Some(seen) = seen.filter(|seen| *seen > applied) {
                            println!("-- missed events {}..{seen}: see GET /api/kitchen/{slug}/events/?after={applied}", applied + 1);
                        }
                        continue;
                    }
                    if !matches!(frame["event"].as_str(), Some("order.confirmed" | "order.status_changed" | "order.updated")) {
                        // Clients ignore frames whose event they do not know (API.md).
                        continue;
                    }
                    let seq = frame["seq"].as_i64().unwrap_or(0);
                    if seq <= applied {
                        continue;
                    }
                    if seq > applied + 1 {
                        println!("-- missed events {}..{}: see GET /api/kitchen/{slug}/events/?after={applied}", applied + 1, seq - 1);
                    }
                    applied = seq;
                    println!("{}", line(&frame, seq));
                }
                Some(Ok(Message::Close(frame))) => bail!("the notifier closed the socket: {frame:?}"),
                Some(Ok(_)) => {}
                Some(Err(error)) => bail!("socket error: {error}"),
                None => bail!("the socket closed"),
            }
        }
    }
}

async fn show_list(
    http: &reqwest::Client,
    api: &str,
    slug: &str,
    access: &str,
) -> anyhow::Result<i64> {
    let list: Value = http
        .get(format!("{api}/api/kitchen/{slug}/orders/"))
        .bearer_auth(access)
        .send()
        .await?
        .json()
        .await?;
    let seq = list["seq"].as_i64().context("no seq in the kitchen list")?;
    let orders = list["orders"].as_array().cloned().unwrap_or_default();
    println!("-- {} active order(s) as of seq {seq}", orders.len());
    for order in &orders {
        println!("{}", line(order, seq));
    }
    Ok(seq)
}

fn line(order: &Value, seq: i64) -> String {
    let items: Vec<String> = order["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    format!(
                        "{}× {} {}",
                        i["quantity"],
                        i["variant_label"].as_str().unwrap_or(""),
                        i["name"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "seq {seq:>5}  {:<10} v{}  table {:<4} {:>8}  {}  {}",
        order["status"].as_str().unwrap_or("?"),
        order["version"],
        order["table_identifier"].as_str().unwrap_or("-"),
        order["total_price"].as_str().unwrap_or("?"),
        order["id"].as_str().unwrap_or("?"),
        items.join(", ")
    )
}
