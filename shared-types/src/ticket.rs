use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `aud` of kitchen WebSocket tickets, so no other token signed with the key is accepted.
pub const TICKET_AUDIENCE: &str = "kitchen-ws";
pub const TICKET_TTL_SECS: u64 = 60;

/// Claims of a kitchen WebSocket ticket: an EdDSA JWT signed by `order-service`, verified
/// offline by `kitchen-notifier`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketClaims {
    pub sub: Uuid,
    pub slug: String,
    pub aud: String,
    pub exp: u64,
    pub iat: u64,
}
