//! The contract between the hub and whatever carries events to it (RabbitMQ in production, a
//! fake in the hub's unit tests). The hub asks the link to bind and unbind restaurants; the
//! link hands deliveries and "the connection came back" to a [`LinkEvents`] it was given.
//! Neither side imports the other: both depend only on this module.

use futures_util::future::BoxFuture;
use shared_types::Slug;

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("the broker is not connected")]
    Disconnected,
    #[error("binding failed: {0}")]
    Failed(String),
}

/// Routes a restaurant's events to this instance, or stops routing them. Implementations
/// serialize their own operations; the hub guarantees it never has a bind and an unbind of the
/// same restaurant in flight at once.
pub trait BrokerLink: Send + Sync + 'static {
    fn bind<'a>(&'a self, slug: &'a Slug) -> BoxFuture<'a, Result<(), BindError>>;
    fn unbind<'a>(&'a self, slug: &'a Slug) -> BoxFuture<'a, Result<(), BindError>>;
}

/// What the link reports to the hub.
pub trait LinkEvents: Send + Sync + 'static {
    /// One order event (`orders.{slug}.*`) as the relay published it.
    fn deliver(&self, body: &[u8]) -> Ingested;
    /// One message about a restaurant's staff (`staff.{slug}.*`), such as `staff.removed`.
    fn deliver_staff(&self, body: &[u8]) -> Ingested;
    /// The link was lost and is back, with every binding restored: events may have passed.
    fn restored(&self);
}

/// What became of a delivery (a metrics label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingested {
    Sent,
    Duplicate,
    HeldBack,
    NotWatched,
    Malformed,
    /// A `staff.removed`: that user's sockets at that restaurant were closed.
    AccessRemoved,
}

impl Ingested {
    pub fn as_str(self) -> &'static str {
        match self {
            Ingested::Sent => "sent",
            Ingested::Duplicate => "duplicate",
            Ingested::HeldBack => "held_back",
            Ingested::NotWatched => "not_watched",
            Ingested::Malformed => "malformed",
            Ingested::AccessRemoved => "access_removed",
        }
    }
}
