use std::sync::Arc;

use sqlx::PgPool;

use crate::{
    auth::{
        password::PasswordHasher, throttle::LoginLimits, tickets::TicketSigner, tokens::TokenKeys,
    },
    domain::rate_limit::ConfirmLimits,
    events::{handoff::HandedEvent, wake::OutboxWake},
    routes::pages::Pages,
    storage::{line_ids::LineIds, menu_cache::MenuCache, order_cache::OrderCache},
    telemetry::TraceContext,
};

/// What every handler may use. Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub tokens: Arc<TokenKeys>,
    pub passwords: PasswordHasher,
    pub tickets: Arc<TicketSigner>,
    /// The pages and their assets, ready to serve.
    pub pages: Arc<Pages>,
    pub login_limits: LoginLimits,
    /// Confirms per client address and per restaurant, counted in this instance's memory.
    pub confirm_limits: Arc<ConfirmLimits>,
    /// What the request bounds of an order and of an events page are.
    pub caps: Caps,
    /// Woken after each committed change, so the outbox relay publishes it at once.
    pub outbox: Arc<OutboxWake>,
    /// The orders this instance wrote last, so a kitchen write need not read them back.
    pub orders: Arc<OrderCache>,
    /// The menu entries confirms were priced with, so a confirm need not read the menu.
    pub menus: Arc<MenuCache>,
    /// Ids for new orders' lines, taken from their sequence a block at a time.
    pub line_ids: Arc<LineIds>,
    /// False when `/metrics` has a listener of its own (`METRICS_ADDR`).
    pub metrics_on_main_listener: bool,
}

impl AppState {
    /// A change of an order has committed with `event` (as stored, so with its `seq`): the
    /// order is kept as written for the next kitchen write, and the relay is woken to publish
    /// the event, handed to it in memory when it runs on this instance. Returns the order.
    pub fn order_committed(
        &self,
        restaurant_id: uuid::Uuid,
        event: shared_types::OrderEvent,
        trace_context: &TraceContext,
    ) -> shared_types::Order {
        self.orders.put(restaurant_id, &event.order);
        self.outbox.committed(|| {
            // Cannot fail for these types; if it did, the relay reads the row instead.
            let body = serde_json::to_vec(&event).ok()?;
            Some(HandedEvent {
                restaurant_id,
                seq: event.seq,
                event_id: event.event_id,
                routing_key: event.routing_key(),
                body,
                trace_context: trace_context.clone(),
                occurred_at: event.occurred_at,
            })
        });
        event.order
    }
}

/// Byte and count bounds from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub order_max_bytes: usize,
    pub events_page_max_bytes: u64,
    pub max_restaurants_per_owner: u32,
}
