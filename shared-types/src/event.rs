use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Order, Slug};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventKind {
    #[serde(rename = "order.confirmed")]
    OrderConfirmed,
    #[serde(rename = "order.status_changed")]
    OrderStatusChanged,
    /// A change that moved no status (lines crossed off, rush).
    #[serde(rename = "order.updated")]
    OrderUpdated,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::OrderConfirmed => "order.confirmed",
            EventKind::OrderStatusChanged => "order.status_changed",
            EventKind::OrderUpdated => "order.updated",
        }
    }
}

/// The body published to the `kitchen.events` exchange and returned by the events API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderEvent {
    pub event_id: Uuid,
    pub event: EventKind,
    /// The restaurant's event sequence number: gap-free, in commit order.
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "luigis"))]
    pub restaurant: Slug,
    pub order: Order,
}

impl OrderEvent {
    /// Routing key on the topic exchange: `orders.{slug}.{status}`.
    pub fn routing_key(&self) -> String {
        format!("orders.{}.{}", self.restaurant, self.order.status)
    }
}

/// One WebSocket text frame: the order's fields at the top level, plus the event's identity.
#[derive(Debug, Serialize)]
pub struct KitchenFrame<'a> {
    pub event: EventKind,
    pub event_id: Uuid,
    pub seq: i64,
    #[serde(flatten)]
    pub order: &'a Order,
}

impl<'a> From<&'a OrderEvent> for KitchenFrame<'a> {
    fn from(event: &'a OrderEvent) -> Self {
        KitchenFrame {
            event: event.event,
            event_id: event.event_id,
            seq: event.seq,
            order: &event.order,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OrderStatus;

    fn sample() -> OrderEvent {
        let now = Utc::now();
        OrderEvent {
            event_id: Uuid::nil(),
            event: EventKind::OrderStatusChanged,
            seq: 42,
            occurred_at: now,
            restaurant: Slug::parse("luigis").unwrap(),
            order: Order {
                id: Uuid::max(),
                restaurant: Slug::parse("luigis").unwrap(),
                status: OrderStatus::Preparing,
                version: 2,
                table_identifier: None,
                total_price: "33.98".parse().unwrap(),
                language: "en".into(),
                created_at: now,
                updated_at: now,
                items: vec![],
                rush: false,
                recalled_at: None,
                status_changed_at: now,
                ready_at: None,
                completed_at: None,
            },
        }
    }

    #[test]
    fn envelope_and_routing_key() {
        let event = sample();
        assert_eq!(event.routing_key(), "orders.luigis.preparing");
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["event"], "order.status_changed");
        assert_eq!(json["order"]["total_price"], "33.98");
        assert_eq!(json["order"]["table_identifier"], serde_json::Value::Null);
        let back: OrderEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn an_order_published_before_the_kitchen_floor_still_reads() {
        let mut json = serde_json::to_value(sample()).unwrap();
        let order = json["order"].as_object_mut().unwrap();
        for field in [
            "rush",
            "recalled_at",
            "status_changed_at",
            "ready_at",
            "completed_at",
        ] {
            order.remove(field);
        }
        let back: OrderEvent = serde_json::from_value(json).unwrap();
        assert!(!back.order.rush);
        assert_eq!(back.order.status_changed_at, back.order.created_at);
    }

    #[test]
    fn frame_puts_order_fields_at_top_level() {
        let event = sample();
        let frame = serde_json::to_value(KitchenFrame::from(&event)).unwrap();
        assert_eq!(frame["id"], serde_json::json!(Uuid::max()));
        assert_eq!(frame["status"], "preparing");
        assert_eq!(frame["seq"], 42);
        assert_eq!(frame["event"], "order.status_changed");
        assert_eq!(frame["event_id"], serde_json::json!(Uuid::nil()));
    }
}
