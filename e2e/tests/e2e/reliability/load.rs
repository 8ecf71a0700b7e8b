//! Load during a fault: workers that confirm orders and move each one to completed, as
//! customers and cooks do, through the public API. A request that fails (the fault) is counted
//! and its order abandoned; the worker goes on with a new one.

use std::time::Duration;

use serde_json::{Value, json};
use test_support::api::{ApiClient, Kitchen};
use tokio::{sync::watch, task::JoinHandle};

#[derive(Debug, Default, Clone, Copy)]
pub struct LoadStats {
    pub succeeded: usize,
    pub failed: usize,
}

pub struct Load {
    stop: watch::Sender<bool>,
    workers: Vec<JoinHandle<LoadStats>>,
}

/// A large order (ten lines, each with a long special request): frames of about 5 KB, so a
/// cut lands inside one.
pub fn large_order(kitchen: &Kitchen) -> Value {
    let line = json!({"menu_item_id": kitchen.menu.pizza, "variant_id": kitchen.menu.large,
                      "quantity": 1, "modifier_ids": [kitchen.menu.cheese],
                      "special_requests": "no basil, extra crisp, cut in eight ".repeat(10)});
    json!({
        "items": vec![line; 10],
        "raw_input": "ten pizzas",
        "table_identifier": "12",
        "language": "en"
    })
}

impl Load {
    /// `workers` workers ordering `body` at `kitchen` on `api`.
    pub fn start(api: &ApiClient, kitchen: &Kitchen, body: Value, workers: usize) -> Self {
        let (stop, stopped) = watch::channel(false);
        let workers = (0..workers)
            .map(|_| {
                tokio::spawn(work(
                    api.clone(),
                    kitchen.slug.clone(),
                    kitchen.cook.access.clone(),
                    body.clone(),
                    stopped.clone(),
                ))
            })
            .collect();
        Self { stop, workers }
    }

    pub async fn stop(self) -> LoadStats {
        let _ = self.stop.send(true);
        let mut total = LoadStats::default();
        for worker in self.workers {
            let stats = worker.await.expect("a load worker ends");
            total.succeeded += stats.succeeded;
            total.failed += stats.failed;
        }
        total
    }
}

async fn work(
    api: ApiClient,
    slug: String,
    token: String,
    body: Value,
    stopped: watch::Receiver<bool>,
) -> LoadStats {
    let mut stats = LoadStats::default();
    let confirm = api.url(&format!("/api/order/{slug}/confirm/"));
    while !*stopped.borrow() {
        let placed = api.client.post(&confirm).json(&body).send().await;
        let order: Option<Value> = match placed {
            Ok(response) if response.status().as_u16() == 201 => response.json().await.ok(),
            _ => None,
        };
        let Some(id) = order.and_then(|order| order["id"].as_str().map(str::to_owned)) else {
            stats.failed += 1;
            // Paced retries while the fault lasts, not a busy loop.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        stats.succeeded += 1;
        let moves = api.url(&format!("/api/kitchen/orders/{id}/"));
        for status in ["preparing", "ready", "completed"] {
            let moved = api
                .client
                .patch(&moves)
                .bearer_auth(&token)
                .json(&json!({"status": status}))
                .send()
                .await;
            if moved.is_ok_and(|response| response.status().is_success()) {
                stats.succeeded += 1;
            } else {
                stats.failed += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
                break;
            }
        }
        // About 100 events a second with two workers: load, without starving the machine.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stats
}
