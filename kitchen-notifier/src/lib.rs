//! kitchen-notifier: pushes a restaurant's order events from RabbitMQ to its kitchen screens
//! over WebSocket. It has no database: tickets are verified offline, and the event log in
//! order-service is the source of truth a client falls back to.

pub mod batching;
pub mod broker;
pub mod client_frames;
pub mod config;
pub mod feed;
pub mod hub;
pub mod link;
pub mod routes;
pub mod startup;
pub mod state;
pub mod tickets;
pub mod ws;
