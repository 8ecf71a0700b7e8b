use std::sync::Arc;

use sqlx::PgPool;

use crate::{
    auth::{
        password::PasswordHasher, throttle::LoginLimits, tickets::TicketSigner, tokens::TokenKeys,
    },
    routes::pages::Pages,
};

/// What every handler may use. Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub tokens: Arc<TokenKeys>,
    pub passwords: PasswordHasher,
    pub tickets: Arc<TicketSigner>,
    /// The pages and their assets, ready to serve.
    pub pages: Arc<Pages>,
    pub login_limits: LoginLimits,
}
