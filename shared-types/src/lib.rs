//! Types shared by `order-service` and `kitchen-notifier`: the Order as clients see it, the
//! status machine, the event envelope, the staff messages and the WebSocket ticket claims. Kept
//! free of database and broker crates so both services (and test clients) can depend on it
//! cheaply.

pub mod error;
pub mod event;
pub mod money;
pub mod order;
pub mod slug;
pub mod staff;
pub mod status;
pub mod ticket;

pub use error::ErrorBody;
pub use event::{EventKind, KitchenFrame, OrderEvent};
pub use order::{LineStation, Order, OrderItem, OrderItemModifier};
pub use slug::{Slug, SlugError};
pub use staff::{StaffEventKind, StaffRemoved};
pub use status::{OrderStatus, TransitionError};
pub use ticket::{TICKET_AUDIENCE, TICKET_TTL_SECS, TicketClaims};
