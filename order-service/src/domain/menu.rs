//! The menu as an owner or manager edits it, parsed: names, labels and texts within their
//! bounds, one default variant settled. Money arrives parsed already (`shared_types::money`).

use rust_decimal::Decimal;

use super::{
    fields::{Invalid, Rules},
    stations::{Change, Routing},
    text::{Name, Text},
};

pub const NAME_MAX: usize = 200;
pub const LABEL_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 2000;
pub const URL_MAX: usize = 2000;
pub const MAX_VARIANTS: usize = 50;
pub const MAX_MODIFIERS: usize = 100;

/// A category's or an item's name.
pub type MenuName = Name<NAME_MAX>;
/// A variant's label or a modifier's name.
pub type Label = Name<LABEL_MAX>;
pub type Description = Text<DESCRIPTION_MAX>;

/// An item's picture: an http(s) URL of at most 2000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUrl(String);

impl ImageUrl {
    pub fn parse(url: String) -> Result<Self, Invalid> {
        Rules::default()
            .check(
                url.chars().count() <= URL_MAX,
                format!("must be at most {URL_MAX} characters"),
            )
            .check(
                url.starts_with("https://") || url.starts_with("http://"),
                "must be an http(s) URL",
            )
            .check(!url.contains('\0'), "must not contain a NUL character")
            .verdict(|| ImageUrl(url))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone)]
pub struct CategoryDraft {
    pub name: MenuName,
    pub sort_order: i32,
    pub station_id: Routing,
}

/// A PATCH of a category: `None` keeps a field as it is; at least one is given.
#[derive(Debug, Clone, Default)]
pub struct CategoryChanges {
    pub name: Option<MenuName>,
    pub sort_order: Option<i32>,
    pub is_active: Option<bool>,
    /// `Some(None)` routes the category to no station.
    pub station_id: Change<i64>,
}

impl CategoryChanges {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.sort_order.is_none()
            && self.is_active.is_none()
            && self.station_id.is_none()
    }
}

#[derive(Debug, Clone)]
pub struct VariantDraft {
    pub label: Label,
    pub price: Decimal,
    pub is_default: bool,
}

#[derive(Debug, Clone)]
pub struct ModifierDraft {
    pub name: Label,
    pub price_adjustment: Decimal,
}

/// A new item: 1 to 50 variants, exactly one of them the default; at most 100 modifiers.
#[derive(Debug, Clone)]
pub struct ItemDraft {
    pub category_id: i64,
    pub name: MenuName,
    pub description: Description,
    pub image_url: Option<ImageUrl>,
    pub sort_order: i32,
    /// The item's own station; with none it is made at its category's.
    pub station_id: Routing,
    pub variants: Vec<VariantDraft>,
    pub modifiers: Vec<ModifierDraft>,
}

/// Checks how many variants an item has and which is its default: the first, unless one is
/// marked (`marked[i]` is variant i's `is_default`). Returns each variant's default flag.
pub fn settle_default_variant(marked: &[Option<bool>]) -> Result<Vec<bool>, Invalid> {
    let count = marked.iter().filter(|m| **m == Some(true)).count();
    Rules::default()
        .check(!marked.is_empty(), "an item needs at least one variant")
        .check(
            marked.len() <= MAX_VARIANTS,
            format!("at most {MAX_VARIANTS} variants"),
        )
        .check(count <= 1, "at most one variant can be the default")
        .verdict(|| {
            marked
                .iter()
                .enumerate()
                .map(|(i, m)| if count == 0 { i == 0 } else { *m == Some(true) })
                .collect()
        })
}

/// Bounds the number of an item's modifiers.
pub fn check_modifier_count(count: usize) -> Result<(), Invalid> {
    Rules::default()
        .check(
            count <= MAX_MODIFIERS,
            format!("at most {MAX_MODIFIERS} modifiers"),
        )
        .verdict(|| ())
}

/// A PATCH of an item: `None` keeps a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ItemChanges {
    pub name: Option<MenuName>,
    /// An explicit `null` clears the description, so it is `Some` of an empty one.
    pub description: Option<Description>,
    /// `Some(None)` removes the picture.
    pub image_url: Option<Option<ImageUrl>>,
    pub sort_order: Option<i32>,
    pub is_active: Option<bool>,
    /// `Some(None)` clears the item's own station (it is then made at its category's).
    pub station_id: Change<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct VariantChanges {
    pub label: Option<Label>,
    pub price: Option<Decimal>,
    pub is_default: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct ModifierChanges {
    pub name: Option<Label>,
    pub price_adjustment: Option<Decimal>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_variant_is_the_default_unless_one_is_marked() {
        assert_eq!(
            settle_default_variant(&[None, None]).unwrap(),
            [true, false]
        );
        assert_eq!(
            settle_default_variant(&[Some(false), Some(true)]).unwrap(),
            [false, true]
        );
        assert_eq!(
            settle_default_variant(&[Some(true), Some(true)])
                .unwrap_err()
                .messages(),
            ["at most one variant can be the default"]
        );
        assert_eq!(
            settle_default_variant(&[]).unwrap_err().messages(),
            ["an item needs at least one variant"]
        );
        assert!(settle_default_variant(&[None; 51]).is_err());
        assert!(settle_default_variant(&[None; 50]).is_ok());
    }

    #[test]
    fn image_urls_are_bounded_http_urls() {
        assert!(ImageUrl::parse("https://img.example/p.png".into()).is_ok());
        assert!(ImageUrl::parse("http://img.example/p.png".into()).is_ok());
        assert_eq!(
            ImageUrl::parse("ftp://x".into()).unwrap_err().messages(),
            ["must be an http(s) URL"]
        );
        assert_eq!(
            ImageUrl::parse("x".repeat(2001))
                .unwrap_err()
                .messages()
                .len(),
            2
        );
    }

    #[test]
    fn modifier_counts() {
        assert!(check_modifier_count(100).is_ok());
        assert!(check_modifier_count(101).is_err());
    }
}
