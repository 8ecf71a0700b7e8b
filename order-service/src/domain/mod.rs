//! Rules of the business, free of HTTP and SQL: roles, input validation, order pricing.

pub mod accounts;
pub mod menu;
pub mod orders;
pub mod roles;
