//! A new restaurant's name and slug.

use shared_types::Slug;

use super::fields::{Invalid, Rules};

pub const NAME_MAX: usize = 200;
/// Slugs that would collide with fixed path segments (`/api/kitchen/orders/…`).
const RESERVED_SLUGS: &[&str] = &["orders"];

/// A restaurant's display name: not blank, at most 200 characters, stored trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestaurantName(String);

impl RestaurantName {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        Rules::default()
            .check(!text.trim().is_empty(), "must not be blank")
            .check(
                text.chars().count() <= NAME_MAX,
                format!("must be at most {NAME_MAX} characters"),
            )
            .check(!text.contains('\0'), super::text::NUL)
            .verdict(|| RestaurantName(text.trim().to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A slug a new restaurant may take: well-formed and not reserved.
pub fn new_restaurant_slug(text: &str) -> Result<Slug, Invalid> {
    match Slug::parse(text) {
        Err(error) => Err(Invalid::new(error.to_string())),
        Ok(slug) if RESERVED_SLUGS.contains(&slug.as_str()) => Err(Invalid::new("is reserved")),
        Ok(slug) => Ok(slug),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            RestaurantName::parse(" Luigi's ").unwrap().as_str(),
            "Luigi's"
        );
        assert!(RestaurantName::parse("  ").is_err());
        assert!(RestaurantName::parse(&"x".repeat(201)).is_err());
    }

    #[test]
    fn slugs_are_well_formed_and_not_reserved() {
        assert_eq!(new_restaurant_slug("luigis").unwrap().as_str(), "luigis");
        assert_eq!(
            new_restaurant_slug("orders").unwrap_err().messages(),
            ["is reserved"]
        );
        assert!(new_restaurant_slug("Luigis").is_err());
    }
}
