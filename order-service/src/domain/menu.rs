//! Menu input: what an owner or manager may send, and its bounds.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use crate::error::{ApiResult, FieldErrors};

pub const NAME_MAX: usize = 200;
pub const LABEL_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 2000;
pub const URL_MAX: usize = 2000;
pub const MAX_VARIANTS: usize = 50;
pub const MAX_MODIFIERS: usize = 100;

/// A PATCH field: absent (`None`), explicitly `null` (`Some(None)`) or a value.
pub type Patch<T> = Option<Option<T>>;

/// Deserializes a present field (even `null`) into `Some(_)`; use with `#[serde(default)]`.
pub fn present<'de, T, D>(deserializer: D) -> Result<Patch<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The same for money, which must be a string.
pub fn present_money<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Patch<Decimal>, D::Error> {
    shared_types::money::option::deserialize(deserializer).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategory {
    pub name: String,
    #[serde(default)]
    pub sort_order: Option<i32>,
}

impl NewCategory {
    pub fn validate(&self) -> ApiResult<()> {
        let mut errors = FieldErrors::default();
        check_name(&self.name, "name", NAME_MAX, &mut errors);
        errors.into_result()
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    pub category_id: i64,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub image_url: Option<String>,
    #[serde(default)]
    pub sort_order: Option<i32>,
    pub variants: Vec<NewVariant>,
    #[serde(default)]
    pub modifiers: Option<Vec<NewModifier>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewVariant {
    pub label: String,
    #[serde(with = "shared_types::money")]
    #[schema(value_type = String, example = "14.99")]
    pub price: Decimal,
    #[serde(default)]
    pub is_default: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewModifier {
    pub name: String,
    #[serde(with = "shared_types::money")]
    #[schema(value_type = String, example = "2.00")]
    pub price_adjustment: Decimal,
}

impl NewItem {
    /// Validates the item and settles which variant is the default (the first, unless one is
    /// marked). Returns the default flags in variant order.
    pub fn validate(&self) -> ApiResult<Vec<bool>> {
        let mut errors = FieldErrors::default();
        check_name(&self.name, "name", NAME_MAX, &mut errors);
        if let Some(description) = &self.description {
            errors.max_chars(description, DESCRIPTION_MAX, "description");
        }
        if let Some(url) = &self.image_url {
            check_url(url, &mut errors);
        }
        if self.variants.is_empty() {
            errors.add("variants", "an item needs at least one variant");
        }
        if self.variants.len() > MAX_VARIANTS {
            errors.add("variants", format!("at most {MAX_VARIANTS} variants"));
        }
        for (i, variant) in self.variants.iter().enumerate() {
            check_name(
                &variant.label,
                &format!("variants[{i}].label"),
                LABEL_MAX,
                &mut errors,
            );
        }
        let modifiers = self.modifiers.as_deref().unwrap_or_default();
        if modifiers.len() > MAX_MODIFIERS {
            errors.add("modifiers", format!("at most {MAX_MODIFIERS} modifiers"));
        }
        for (i, modifier) in modifiers.iter().enumerate() {
            check_name(
                &modifier.name,
                &format!("modifiers[{i}].name"),
                LABEL_MAX,
                &mut errors,
            );
        }
        let marked = self
            .variants
            .iter()
            .filter(|v| v.is_default == Some(true))
            .count();
        if marked > 1 {
            errors.add("variants", "at most one variant can be the default");
        }
        errors.into_result()?;
        Ok(self
            .variants
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if marked == 0 {
                    i == 0
                } else {
                    v.is_default == Some(true)
                }
            })
            .collect())
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub image_url: Patch<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i32>)]
    pub sort_order: Patch<i32>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub is_active: Patch<bool>,
}

impl ItemPatch {
    pub fn validate(&self) -> ApiResult<()> {
        let mut errors = FieldErrors::default();
        not_null(&self.name, "name", &mut errors);
        not_null(&self.sort_order, "sort_order", &mut errors);
        not_null(&self.is_active, "is_active", &mut errors);
        if let Some(Some(name)) = &self.name {
            check_name(name, "name", NAME_MAX, &mut errors);
        }
        if let Some(Some(description)) = &self.description {
            errors.max_chars(description, DESCRIPTION_MAX, "description");
        }
        if let Some(Some(url)) = &self.image_url {
            check_url(url, &mut errors);
        }
        errors.into_result()
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VariantPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub label: Patch<String>,
    #[serde(default, deserialize_with = "present_money")]
    #[schema(value_type = Option<String>, example = "14.99")]
    pub price: Patch<Decimal>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<bool>)]
    pub is_default: Patch<bool>,
}

impl VariantPatch {
    pub fn validate(&self) -> ApiResult<()> {
        let mut errors = FieldErrors::default();
        not_null(&self.label, "label", &mut errors);
        not_null(&self.price, "price", &mut errors);
        not_null(&self.is_default, "is_default", &mut errors);
        if let Some(Some(label)) = &self.label {
            check_name(label, "label", LABEL_MAX, &mut errors);
        }
        errors.into_result()
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModifierPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default, deserialize_with = "present_money")]
    #[schema(value_type = Option<String>, example = "2.00")]
    pub price_adjustment: Patch<Decimal>,
}

impl ModifierPatch {
    pub fn validate(&self) -> ApiResult<()> {
        let mut errors = FieldErrors::default();
        not_null(&self.name, "name", &mut errors);
        not_null(&self.price_adjustment, "price_adjustment", &mut errors);
        if let Some(Some(name)) = &self.name {
            check_name(name, "name", LABEL_MAX, &mut errors);
        }
        errors.into_result()
    }
}

fn check_name(text: &str, field: &str, max: usize, errors: &mut FieldErrors) {
    if text.trim().is_empty() {
        errors.add(field, "must not be blank");
    } else {
        errors.max_chars(text, max, field);
    }
}

fn check_url(url: &str, errors: &mut FieldErrors) {
    errors.max_chars(url, URL_MAX, "image_url");
    errors.check(
        url.starts_with("https://") || url.starts_with("http://"),
        "image_url",
        "must be an http(s) URL",
    );
}

fn not_null<T>(value: &Patch<T>, field: &str, errors: &mut FieldErrors) {
    if matches!(value, Some(None)) {
        errors.add(field, "may not be null");
    }
}
