//! Response bodies of the REST API, typed so the OpenAPI document is generated from the very
//! types the handlers return. Storage decodes the JSON trees SQL builds (menus, items) straight
//! into them.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shared_types::{Order, OrderEvent};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserDto {
    pub id: Uuid,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    pub user: UserDto,
    pub access: String,
    pub refresh: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RestaurantDto {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipDto {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    /// `owner`, `manager` or `kitchen`.
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffDto {
    pub user_id: Uuid,
    pub email: String,
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryDto {
    pub id: i64,
    pub name: String,
    pub sort_order: i32,
    pub is_active: bool,
    /// The station its items are made at (unless an item has its own), or `null`.
    pub station_id: Option<i64>,
}

/// A station of a restaurant (grill, cold, bar, …).
#[derive(Debug, Serialize, ToSchema)]
pub struct StationDto {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VariantDto {
    pub id: i64,
    pub label: String,
    #[serde(with = "shared_types::money")]
    #[schema(value_type = String, example = "14.99")]
    pub price: Decimal,
    pub is_default: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ModifierDto {
    pub id: i64,
    pub name: String,
    #[serde(with = "shared_types::money")]
    #[schema(value_type = String, example = "2.00")]
    pub price_adjustment: Decimal,
}

/// A menu item as its owner sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MenuItemDto {
    pub id: i64,
    pub category_id: i64,
    pub name: String,
    pub description: String,
    pub image_url: Option<String>,
    pub sort_order: i32,
    pub is_active: bool,
    /// The item's own station, or `null`: then it is made at its category's station.
    pub station_id: Option<i64>,
    pub variants: Vec<VariantDto>,
    pub modifiers: Vec<ModifierDto>,
}

/// The customer's menu.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublicMenu {
    pub restaurant_name: String,
    pub categories: Vec<PublicCategory>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublicCategory {
    pub id: i64,
    pub name: String,
    pub sort_order: i32,
    pub items: Vec<PublicItem>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublicItem {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub image_url: Option<String>,
    pub variants: Vec<VariantDto>,
    pub modifiers: Vec<ModifierDto>,
}

/// The kitchen list: active orders as of the restaurant's event `seq`.
#[derive(Debug, Serialize, ToSchema)]
pub struct KitchenList {
    pub seq: i64,
    pub orders: Vec<Order>,
    /// What is still to make over the listed orders (that station's lines only, when one is
    /// asked for), largest count first.
    pub all_day: Vec<AllDayCount>,
}

/// One entry of the all-day count: the quantity of lines not yet done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AllDayCount {
    pub menu_item_id: i64,
    pub name: String,
    pub variant_label: String,
    pub quantity: i64,
}

impl From<crate::domain::kitchen::AllDayEntry> for AllDayCount {
    fn from(entry: crate::domain::kitchen::AllDayEntry) -> Self {
        AllDayCount {
            menu_item_id: entry.menu_item_id,
            name: entry.name,
            variant_label: entry.variant_label,
            quantity: entry.quantity,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<OrderEvent>,
    /// The restaurant's newest `seq`: a page ending below it has more after it.
    pub last_seq: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ticket {
    pub ticket: String,
    /// Seconds.
    pub expires_in: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketKey {
    /// Always `EdDSA`.
    pub algorithm: String,
    /// Ed25519 public key, SPKI PEM.
    pub public_key: String,
    /// The key's RFC 7638 thumbprint; tickets signed with it carry it as their header's `kid`.
    pub kid: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: String,
}

/// The kitchen's timings over `[from, to)`: counts of the orders confirmed in it, their
/// ticket times (confirm to first `ready`), and each station's line times (confirm to the
/// line crossed off in it). Seconds have at most one decimal place; `null` where there is
/// nothing to measure.
#[derive(Debug, Serialize, ToSchema)]
pub struct KitchenStats {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub orders: StatsOrders,
    pub ticket_seconds: TicketSeconds,
    /// Every current station of the restaurant, by name (case-insensitively); one without
    /// lines done in the window has `lines: 0` and `null` percentiles. A line counts at the
    /// station it was snapshotted at, shown under that station's current name; a deleted
    /// station is no longer listed.
    pub stations: Vec<StationSeconds>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsOrders {
    /// Orders confirmed in the window.
    pub confirmed: i64,
    /// Of those, the ones now `completed`.
    pub completed: i64,
    /// Of those, the ones now `cancelled`.
    pub cancelled: i64,
}

/// Seconds from confirm to the first `ready` (a recall does not undo it), over the orders
/// confirmed in the window that reached `ready`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketSeconds {
    pub count: i64,
    #[schema(example = 612.4)]
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub max: Option<f64>,
}

/// Seconds from the order's confirm to `done_at`, over the station's lines crossed off in the
/// window (lines count at the station they were snapshotted at).
#[derive(Debug, Serialize, ToSchema)]
pub struct StationSeconds {
    pub id: i64,
    pub name: String,
    pub lines: i64,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
}
