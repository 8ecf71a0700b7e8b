//! Tests of kitchen-notifier over real sockets: the notifier in-process, the local RabbitMQ,
//! the test publishing events as order-service's relay would and reading them as a kitchen
//! screen would.

mod broker;
mod capacity;
mod fanout;
mod fuzz;
mod handshake;
mod heartbeat;
mod helpers;
mod protocol;
mod revocation;
mod sequencing;
mod slow;
mod ticket_key;
