//! The pages in a real browser: headless Chromium over WebDriver against both services started
//! in-process, on PostgreSQL and RabbitMQ. One browser at a time (see `harness`).

#[path = "../e2e/helpers.rs"]
#[allow(dead_code)]
mod helpers;

mod customer;
mod harness;
mod kitchen;
mod offline;
