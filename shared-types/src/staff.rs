//! Messages about a restaurant's staff that order-service publishes next to the order events.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Slug;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StaffEventKind {
    #[serde(rename = "staff.removed")]
    StaffRemoved,
}

/// A staff row was deleted: that user is no longer staff of `restaurant`. Published to the
/// events exchange with routing key `staff.{slug}.removed`, so notifiers close the user's
/// kitchen sockets there. It is not an order event: it takes no number of the restaurant's
/// `seq`, is not in the event log and never reaches a client as a frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffRemoved {
    pub event: StaffEventKind,
    pub event_id: Uuid,
    pub restaurant: Slug,
    pub user_id: Uuid,
    pub occurred_at: DateTime<Utc>,
}

impl StaffRemoved {
    /// Routing key on the topic exchange: `staff.{slug}.removed`.
    pub fn routing_key(&self) -> String {
        format!("staff.{}.removed", self.restaurant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_named_and_keyed_by_its_restaurant() {
        let message = StaffRemoved {
            event: StaffEventKind::StaffRemoved,
            event_id: Uuid::nil(),
            restaurant: Slug::parse("luigis").unwrap(),
            user_id: Uuid::nil(),
            occurred_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        };
        assert_eq!(message.routing_key(), "staff.luigis.removed");
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(json["event"], "staff.removed");
        assert_eq!(json["restaurant"], "luigis");
        assert_eq!(json["user_id"], Uuid::nil().to_string());
        let back: StaffRemoved = serde_json::from_value(json).unwrap();
        assert_eq!(back, message);
        // Another event name is not this message.
        let other = serde_json::json!({"event": "order.confirmed", "event_id": Uuid::nil(),
            "restaurant": "luigis", "user_id": Uuid::nil(), "occurred_at": "2026-01-01T00:00:00Z"});
        assert!(serde_json::from_value::<StaffRemoved>(other).is_err());
    }
}
