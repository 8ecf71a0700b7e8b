use std::sync::{Arc, atomic::AtomicI64};

use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{broker::Broker, config::Tuning, hub::Hub, tickets::TicketVerifier};

#[derive(Clone)]
pub struct AppState {
    pub hub: Arc<Hub>,
    pub broker: Arc<Broker>,
    pub tickets: Arc<TicketVerifier>,
    pub tuning: Tuning,
    /// Every socket task, to wait for on shutdown.
    pub sockets: TaskTracker,
    /// Cancelled on shutdown; each socket holds a child token and sends close 1001.
    pub shutdown: CancellationToken,
    pub connected_sockets: Arc<AtomicI64>,
}
