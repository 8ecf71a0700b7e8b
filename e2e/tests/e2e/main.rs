//! End-to-end tests: the whole system, driven as its clients drive it.

mod faults;
mod flow;
mod helpers;
mod instances;
