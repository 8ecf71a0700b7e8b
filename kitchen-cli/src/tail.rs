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

/// One order as a line of text: status, rush, table, and each line with its station, struck
/// through (`✓`) once done.
fn line(order: &Value, seq: i64) -> String {
    let items: Vec<String> = order["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| {
                    let done = if i["done_at"].is_string() { "✓ " } else { "" };
                    let station = i["station"]["name"]
                        .as_str()
                        .map(|name| format!(" @{name}"))
                        .unwrap_or_default();
                    format!(
                        "{done}{}× {} {}{station}",
                        i["quantity"],
                        i["variant_label"].as_str().unwrap_or(""),
                        i["name"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let done = order["items"]
        .as_array()
        .map(|items| items.iter().filter(|i| i["done_at"].is_string()).count())
        .unwrap_or(0);
    let total = order["items"].as_array().map_or(0, Vec::len);
    format!(
        "seq {seq:>5}  {:<15} v{}  table {:<4} {:>8}  {}  [{done}/{total} done]  {}",
        format!(
            "{}{}",
            order["status"].as_str().unwrap_or("?"),
            if order["rush"] == true { " RUSH" } else { "" }
        ),
        order["version"],
        order["table_identifier"].as_str().unwrap_or("-"),
        order["total_price"].as_str().unwrap_or("?"),
        order["id"].as_str().unwrap_or("?"),
        items.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn a_line_shows_rush_stations_and_lines_done() {
        let order = json!({
            "id": "5b2f", "status": "preparing", "version": 3, "rush": true,
            "table_identifier": "7", "total_price": "21.74",
            "items": [
                {"quantity": 2, "variant_label": "Large", "name": "Pizza",
                 "station": {"id": 1, "name": "grill"}, "done_at": "2026-12-02T12:00:00Z"},
                {"quantity": 1, "variant_label": "Regular", "name": "Salad", "station": null, "done_at": null}
            ]
        });
        let text = super::line(&order, 9);
        assert!(text.contains("preparing RUSH"), "{text}");
        assert!(text.contains("✓ 2× Large Pizza @grill"), "{text}");
        assert!(
            text.contains("1× Regular Salad,") || text.ends_with("1× Regular Salad"),
            "{text}"
        );
        assert!(text.contains("[1/2 done]"), "{text}");
    }
}
