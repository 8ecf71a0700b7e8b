//! Integration tests of order-service: the real service on a real socket, against the local
//! PostgreSQL, one fresh database per test.

mod auth;
mod caps;
mod customer;
mod errors;
mod events;
mod floor;
mod headers;
mod helpers;
mod kitchen;
mod menu;
mod menu_copy;
mod migrations;
mod openapi;
mod ops;
mod order_cache;
mod outbox_wake;
mod pages;
mod restaurants;
mod stations;
mod stats;
