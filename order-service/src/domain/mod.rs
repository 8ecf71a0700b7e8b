//! Rules of the business, free of HTTP and SQL: requests parsed into types that can only hold
//! valid values, roles, order pricing.

pub mod accounts;
pub mod fields;
pub mod kitchen;
pub mod menu;
pub mod orders;
pub mod rate_limit;
pub mod restaurants;
pub mod roles;
pub mod stations;
pub mod stats;
pub mod text;
