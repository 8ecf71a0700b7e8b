//! loadgen: drives a running kitchen system only through its public API (REST and the kitchen
//! WebSocket), so it measures what a client sees; `fanout --broker-tap` adds a queue of its own
//! on the events exchange, to split an event's way to the screen in hops. The binary is a thin
//! CLI over `scenarios`.

pub mod api;
pub mod bookkeeping;
pub mod chart;
pub mod common;
pub mod load;
pub mod procfs;
pub mod report;
pub mod scenarios;
pub mod setup;
pub mod sockets;
pub mod stats;
pub mod tap;
