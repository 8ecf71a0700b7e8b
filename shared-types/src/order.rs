use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{OrderStatus, Slug};

/// An order as clients see it (API.md, "The Order"). Names and prices are snapshots taken when
/// the order was confirmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: Uuid,
    pub restaurant: Slug,
    pub status: OrderStatus,
    pub version: i32,
    pub table_identifier: Option<String>,
    #[serde(with = "crate::money")]
    pub total_price: Decimal,
    pub language: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub items: Vec<OrderItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderItem {
    /// The order line's own id.
    pub id: i64,
    pub menu_item_id: i64,
    pub name: String,
    pub variant_label: String,
    #[serde(with = "crate::money")]
    pub variant_price: Decimal,
    pub quantity: i32,
    pub special_requests: Option<String>,
    pub modifiers: Vec<OrderItemModifier>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderItemModifier {
    /// The menu modifier's id.
    pub id: i64,
    pub name: String,
    #[serde(with = "crate::money")]
    pub price_adjustment: Decimal,
}
