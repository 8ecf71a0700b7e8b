//! Creates what a run needs through the public API: per restaurant an owner, a kitchen cook,
//! the restaurant and a one-item menu. Users are few on purpose: each registration costs an
//! Argon2 hash on the server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::{StreamExt, TryStreamExt, stream};

use crate::api::{Api, MenuIds, Session};

pub struct Restaurant {
    pub slug: String,
    /// Kitchen staff: moves orders and fetches tickets.
    pub cook: Arc<Session>,
    pub menu: MenuIds,
    pub tickets: Tickets,
}

pub async fn provision(api: &Api, run_id: &str, count: usize) -> anyhow::Result<Vec<Restaurant>> {
    stream::iter(0..count)
        .map(|n| async move {
            provision_one(api, run_id, n)
                .await
                .with_context(|| format!("setting up restaurant {n}"))
        })
        .buffered(4)
        .try_collect()
        .await
}

async fn provision_one(api: &Api, run_id: &str, n: usize) -> anyhow::Result<Restaurant> {
    let slug = format!("lg-{run_id}-{n}");
    let owner = api
        .register(&format!("{slug}-owner@loadgen.test"), "Owner")
        .await?;
    let cook = api
        .register(&format!("{slug}-cook@loadgen.test"), "Cook")
        .await?;
    api.create_restaurant(&owner, &slug).await?;
    api.add_kitchen_staff(&owner, &slug, &cook.email).await?;
    let menu = api.create_menu(&owner, &slug).await?;
    let tickets = Tickets::new(api.clone(), cook.clone(), slug.clone());
    Ok(Restaurant {
        slug,
        cook,
        menu,
        tickets,
    })
}

/// A WebSocket ticket, fetched again when it nears the end of its 60 s.
pub struct Tickets {
    api: Api,
    cook: Arc<Session>,
    slug: String,
    current: tokio::sync::Mutex<Option<(String, Instant)>>,
}

impl Tickets {
    const REUSE_FOR: Duration = Duration::from_secs(30);

    fn new(api: Api, cook: Arc<Session>, slug: String) -> Self {
        Self {
            api,
            cook,
            slug,
            current: tokio::sync::Mutex::new(None),
        }
    }

    pub async fn get(&self) -> anyhow::Result<String> {
        let mut current = self.current.lock().await;
        if let Some((ticket, at)) = current.as_ref()
            && at.elapsed() < Self::REUSE_FOR
        {
            return Ok(ticket.clone());
        }
        let ticket = self.api.ws_ticket(&self.cook, &self.slug).await?;
        *current = Some((ticket.clone(), Instant::now()));
        Ok(ticket)
    }
}

/// Keeps the cooks' access tokens (15 minutes) fresh for as long as it lives.
pub struct Refresher(tokio::task::JoinHandle<()>);

impl Refresher {
    pub fn start(api: &Api, restaurants: &[Restaurant]) -> Self {
        let api = api.clone();
        let sessions: Vec<_> = restaurants.iter().map(|r| r.cook.clone()).collect();
        Self(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(600)).await;
                for session in &sessions {
                    if let Err(error) = api.refresh(session).await {
                        eprintln!("loadgen: token refresh failed: {error:#}");
                    }
                }
            }
        }))
    }
}

impl Drop for Refresher {
    fn drop(&mut self) {
        self.0.abort();
    }
}
