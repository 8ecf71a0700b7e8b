//! The orders this instance wrote last, kept in memory so a kitchen write can skip reading the
//! order back: each write is decided on the cached copy (taken out meanwhile) and stored only
//! if the order is still at that copy's `version` (every change bumps it, and `orders::apply` is the only writer of
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

    /// The order as this instance last wrote it, if it is still kept; it is taken out, so no
    /// concurrent request decides on the same copy (see `routes::kitchen`).
    pub fn take(&self, order_id: Uuid) -> Option<StaffOrder> {
        self.lock().remove(&order_id)
    }

    /// Puts back a copy taken and not written with, unless a newer one came in meanwhile.
    pub fn restore(&self, copy: StaffOrder) {
        let mut orders = self.lock();
        if orders.len() < self.capacity {
            orders.entry(copy.order.id).or_insert(copy);
        }
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
        let cached = cache.take(kept.id).unwrap();
        assert_eq!(cached.order, kept);
        assert_eq!(cached.restaurant_id, restaurant);
        assert!(cache.take(kept.id).is_none(), "taken out while in use");
        cache.restore(cached);

        kept.status = OrderStatus::Completed;
        cache.put(restaurant, &kept);
        assert!(cache.take(kept.id).is_none());
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
        assert!(cache.take(orders[0].id).is_none());
        let second = cache.take(orders[1].id).unwrap();
        assert!(cache.take(orders[2].id).is_some());
        // A newer copy put while one was taken wins over the old one coming back.
        let mut newer = second.order.clone();
        newer.version = 2;
        cache.put(restaurant, &newer);
        cache.restore(second);
        assert_eq!(cache.take(newer.id).unwrap().order.version, 2);
    }
}
