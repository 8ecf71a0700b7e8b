//! End-to-end tests: the whole system, driven as its clients drive it.

mod configuration;
mod faults;
mod floor;
mod flow;
mod helpers;
mod instances;
mod reliability;
mod revocation;
