//! order-service: the REST API of the kitchen order system. It owns the database, and every
//! change of an order writes its event into the outbox in the same transaction.

pub mod auth;
pub mod config;
pub mod domain;
pub mod dto;
pub mod error;
pub mod events;
pub mod extract;
pub mod routes;
pub mod startup;
pub mod state;
pub mod storage;
pub mod telemetry;
mod web_files;
