use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{OrderStatus, Slug};

/// An order as clients see it (API.md, "The Order" and "Kitchen floor"). Names, prices and
/// stations are snapshots taken when the order was confirmed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(from = "StoredOrder")]
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
    /// A rush ticket, pinned first on the kitchen screens.
    pub rush: bool,
    /// The last recall, if any.
    pub recalled_at: Option<DateTime<Utc>>,
    /// The last status move (`created_at` until the first); recalls count from it.
    pub status_changed_at: DateTime<Utc>,
    /// When the order reached `ready`; cleared by a recall to `preparing`.
    pub ready_at: Option<DateTime<Utc>>,
    /// When the order reached `completed`; cleared by a recall to `ready`.
    pub completed_at: Option<DateTime<Utc>>,
}

/// An Order as stored or published at any time: events written before the kitchen floor lack
/// its fields, and still read (the event log, a notifier consuming during an upgrade).
#[derive(Deserialize)]
struct StoredOrder {
    id: Uuid,
    restaurant: Slug,
    status: OrderStatus,
    version: i32,
    table_identifier: Option<String>,
    #[serde(with = "crate::money")]
    total_price: Decimal,
    language: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    items: Vec<OrderItem>,
    #[serde(default)]
    rush: bool,
    #[serde(default)]
    recalled_at: Option<DateTime<Utc>>,
    #[serde(default)]
    status_changed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    ready_at: Option<DateTime<Utc>>,
    #[serde(default)]
    completed_at: Option<DateTime<Utc>>,
}

impl From<StoredOrder> for Order {
    fn from(stored: StoredOrder) -> Self {
        Order {
            id: stored.id,
            restaurant: stored.restaurant,
            status: stored.status,
            version: stored.version,
            table_identifier: stored.table_identifier,
            total_price: stored.total_price,
            language: stored.language,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
            items: stored.items,
            rush: stored.rush,
            recalled_at: stored.recalled_at,
            status_changed_at: stored.status_changed_at.unwrap_or(stored.created_at),
            ready_at: stored.ready_at,
            completed_at: stored.completed_at,
        }
    }
}

/// The station a line is made at, as it was when the order was confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LineStation {
    pub id: i64,
    pub name: String,
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
    /// Where the line is made (`null`: no station).
    #[serde(default)]
    pub station: Option<LineStation>,
    /// When the line was crossed off (`null`: still to make).
    #[serde(default)]
    pub done_at: Option<DateTime<Utc>>,
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
