//! The orders this instance wrote last, kept in memory so a kitchen write can skip reading the
//! order back: each write is decided on the cached copy and stored only if the order is still
//! at that copy's `version` (every change bumps it, and `orders::apply` is the only writer of
//! an order after its confirm), so a stale copy costs one failed write and the ordinary read,
//! never a wrong answer. (So an order changed by hand, in psql, must get `version + 1` too, as
//! the tests' back-dating does.) Only active orders are kept, at most `capacity`, the oldest (by their
//! time-ordered UUIDv7 id) going first.

use std::collections::BTreeMap;
use std::sync::Mutex;

use shared_types::Order;
use uuid::Uuid;

use super::orders::StaffOrder;

/// Every active order of a hundred busy restaurants; an order is about 1-2 KiB in memory, so
/// at most ~15 MiB.
pub const DEFAULT_CAPACITY: usize = 10_000;

#[derive(Debug)]
pub struct OrderCache {
    orders: Mutex<BTreeMap<Uuid, StaffOrder>>,
    capacity: usize,
}

impl OrderCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            orders: Mutex::new(BTreeMap::new()),
            capacity,
        }
    }

    /// The order as this instance last wrote it, if it is still kept.
    pub fn get(&self, order_id: Uuid) -> Option<StaffOrder> {
        self.lock().get(&order_id).cloned()
    }

    /// Keeps `order` as just written; a completed or cancelled one is let go.
    pub fn put(&self, restaurant_id: Uuid, order: &Order) {
        let mut orders = self.lock();
        if order.status.is_final() {
            orders.remove(&order.id);
            return;
        }
        orders.insert(
            order.id,
            StaffOrder {
                restaurant_id,
                order: order.clone(),
            },
        );
        while orders.len() > self.capacity {
            orders.pop_first();
        }
    }

    /// The kept copy turned out stale.
    pub fn forget(&self, order_id: Uuid) {
        self.lock().remove(&order_id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<Uuid, StaffOrder>> {
        // The map is consistent after every operation, so a panic elsewhere cannot leave it
        // half-changed.
        self.orders
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared_types::{OrderStatus, Slug};

    fn order(status: OrderStatus) -> Order {
        let now = chrono::Utc::now();
        Order {
            id: Uuid::now_v7(),
            restaurant: Slug::parse("luigis").unwrap(),
            status,
            version: 1,
            table_identifier: None,
            total_price: rust_decimal::Decimal::ONE,
            language: "en".into(),
            created_at: now,
            updated_at: now,
            items: Vec::new(),
            rush: false,
            recalled_at: None,
            status_changed_at: now,
            ready_at: None,
            completed_at: None,
        }
    }

    #[test]
    fn keeps_active_orders_and_lets_finished_ones_go() {
        let cache = OrderCache::new(10);
        let restaurant = Uuid::now_v7();
        let mut kept = order(OrderStatus::Ready);
        cache.put(restaurant, &kept);
        let cached = cache.get(kept.id).unwrap();
        assert_eq!(cached.order, kept);
        assert_eq!(cached.restaurant_id, restaurant);

        kept.status = OrderStatus::Completed;
        cache.put(restaurant, &kept);
        assert!(cache.get(kept.id).is_none());
        let cancelled = order(OrderStatus::Cancelled);
        cache.put(restaurant, &cancelled);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn beyond_its_capacity_the_oldest_orders_go_first() {
        let cache = OrderCache::new(2);
        let restaurant = Uuid::now_v7();
        let orders: Vec<Order> = (0..3).map(|_| order(OrderStatus::Confirmed)).collect();
        for kept in &orders {
            cache.put(restaurant, kept);
        }
        assert!(cache.get(orders[0].id).is_none());
        assert!(cache.get(orders[1].id).is_some());
        assert!(cache.get(orders[2].id).is_some());
        cache.forget(orders[2].id);
        assert!(cache.get(orders[2].id).is_none());
    }
}
