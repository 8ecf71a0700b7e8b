use std::sync::Arc;

use sqlx::PgPool;

use crate::auth::{
    password::PasswordHasher, throttle::LoginLimits, tickets::TicketSigner, tokens::TokenKeys,
};

/// What every handler may use. Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub tokens: Arc<TokenKeys>,
    pub passwords: PasswordHasher,
    pub tickets: Arc<TicketSigner>,
    pub login_limits: LoginLimits,
}
