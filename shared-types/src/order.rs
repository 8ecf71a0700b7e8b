use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{OrderStatus, Slug};

/// An order as clients see it (API.md, "The Order"). Names and prices are snapshots taken when
/// the order was confirmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    pub id: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "luigis"))]
    pub restaurant: Slug,
    pub status: OrderStatus,
    pub version: i32,
    pub table_identifier: Option<String>,
    #[serde(with = "crate::money")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "33.98"))]
    pub total_price: Decimal,
    pub language: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub items: Vec<OrderItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderItem {
    /// The order line's own id.
    pub id: i64,
    pub menu_item_id: i64,
    pub name: String,
    pub variant_label: String,
    #[serde(with = "crate::money")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "14.99"))]
    pub variant_price: Decimal,
    pub quantity: i32,
    pub special_requests: Option<String>,
    pub modifiers: Vec<OrderItemModifier>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderItemModifier {
    /// The menu modifier's id.
    pub id: i64,
    pub name: String,
    #[serde(with = "crate::money")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "2.00"))]
    pub price_adjustment: Decimal,
}
