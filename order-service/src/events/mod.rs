//! Getting committed events out to RabbitMQ: the outbox relay and its broker connection.

pub mod handoff;
pub mod marks;
pub mod publisher;
pub mod relay;
pub mod wake;
