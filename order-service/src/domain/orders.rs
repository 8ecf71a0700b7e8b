//! Confirming an order: the request's bounds, and pricing it against the restaurant's menu.
//! Prices always come from the menu, never from the client.

use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, FieldErrors};

pub const MAX_LINES: usize = 100;
pub const MAX_MODIFIERS_PER_LINE: usize = 20;
pub const RAW_INPUT_MAX: usize = 2000;
pub const SPECIAL_REQUESTS_MAX: usize = 500;
pub const TABLE_IDENTIFIER_MAX: usize = 50;
pub const LANGUAGE_MAX: usize = 35;
pub const DEFAULT_LANGUAGE: &str = "en";
pub const IDEMPOTENCY_KEY_MAX: usize = 255;

/// Serializable as well, so the request can be stored with its idempotency key and a replay
/// compared with it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ConfirmRequest {
    pub items: Vec<ConfirmLine>,
    pub raw_input: String,
    #[serde(default)]
    pub table_identifier: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ConfirmLine {
    pub menu_item_id: i64,
    pub variant_id: i64,
    pub quantity: i64,
    #[serde(default)]
    pub modifier_ids: Option<Vec<i64>>,
    #[serde(default)]
    pub special_requests: Option<String>,
}

impl ConfirmRequest {
    /// Bounds that need no database.
    pub fn validate(&self) -> ApiResult<()> {
        let mut errors = FieldErrors::default();
        if self.items.is_empty() {
            errors.add("items", "an order needs at least one item");
        }
        if self.items.len() > MAX_LINES {
            errors.add("items", format!("at most {MAX_LINES} lines per order"));
        }
        errors.max_chars(&self.raw_input, RAW_INPUT_MAX, "raw_input");
        if let Some(table) = &self.table_identifier {
            errors.max_chars(table, TABLE_IDENTIFIER_MAX, "table_identifier");
        }
        if let Some(language) = &self.language {
            errors.check(!language.trim().is_empty(), "language", "must not be blank");
            errors.max_chars(language, LANGUAGE_MAX, "language");
        }
        for (i, line) in self.items.iter().enumerate() {
            if !(1..=99).contains(&line.quantity) {
                errors.add(&format!("items[{i}].quantity"), "must be between 1 and 99");
            }
            if let Some(text) = &line.special_requests {
                errors.max_chars(
                    text,
                    SPECIAL_REQUESTS_MAX,
                    &format!("items[{i}].special_requests"),
                );
            }
            let modifiers = line.modifier_ids.as_deref().unwrap_or_default();
            if modifiers.len() > MAX_MODIFIERS_PER_LINE {
                errors.add(
                    &format!("items[{i}].modifier_ids"),
                    format!("at most {MAX_MODIFIERS_PER_LINE} modifiers per line"),
                );
            }
            let distinct: HashSet<i64> = modifiers.iter().copied().collect();
            if distinct.len() != modifiers.len() {
                errors.add(
                    &format!("items[{i}].modifier_ids"),
                    "must not repeat a modifier",
                );
            }
        }
        errors.into_result()
    }

    pub fn menu_item_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.items.iter().map(|l| l.menu_item_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The table, with a blank one meaning none.
    pub fn table(&self) -> Option<String> {
        self.table_identifier
            .as_ref()
            .filter(|t| !t.trim().is_empty())
            .cloned()
    }

    pub fn language(&self) -> String {
        self.language
            .clone()
            .unwrap_or_else(|| DEFAULT_LANGUAGE.to_owned())
    }
}

/// An active menu item of the restaurant, with its own variants and modifiers.
#[derive(Debug, Clone, Deserialize)]
pub struct MenuEntry {
    pub id: i64,
    pub name: String,
    pub variants: Vec<MenuVariant>,
    pub modifiers: Vec<MenuModifier>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MenuVariant {
    pub id: i64,
    pub label: String,
    #[serde(with = "shared_types::money")]
    pub price: Decimal,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MenuModifier {
    pub id: i64,
    pub name: String,
    #[serde(with = "shared_types::money")]
    pub price_adjustment: Decimal,
}

/// One order line with the menu's names and prices copied in.
#[derive(Debug, Clone)]
pub struct PricedLine {
    pub menu_item_id: i64,
    pub name: String,
    pub variant_id: i64,
    pub variant_label: String,
    pub variant_price: Decimal,
    pub quantity: i32,
    pub special_requests: Option<String>,
    pub modifiers: Vec<MenuModifier>,
}

/// Prices the order: `sum((variant.price + sum(modifier.price_adjustment)) * quantity)`.
/// Every item must be on `menu` (the restaurant's active menu), every variant and modifier one
/// of that item's own.
pub fn price(
    request: &ConfirmRequest,
    menu: &HashMap<i64, MenuEntry>,
) -> ApiResult<(Vec<PricedLine>, Decimal)> {
    let mut errors = FieldErrors::default();
    let mut lines = Vec::with_capacity(request.items.len());
    let mut total = Decimal::ZERO;
    for (i, line) in request.items.iter().enumerate() {
        let Some(item) = menu.get(&line.menu_item_id) else {
            errors.add(
                &format!("items[{i}].menu_item_id"),
                "is not an item on this restaurant's menu",
            );
            continue;
        };
        let Some(variant) = item.variants.iter().find(|v| v.id == line.variant_id) else {
            errors.add(
                &format!("items[{i}].variant_id"),
                "is not a variant of this item",
            );
            continue;
        };
        let mut modifiers = Vec::new();
        for id in line.modifier_ids.as_deref().unwrap_or_default() {
            match item.modifiers.iter().find(|m| m.id == *id) {
                Some(modifier) => modifiers.push(modifier.clone()),
                None => errors.add(
                    &format!("items[{i}].modifier_ids"),
                    format!("{id} is not a modifier of this item"),
                ),
            }
        }
        let quantity = i32::try_from(line.quantity).unwrap_or(0);
        let unit = variant.price
            + modifiers
                .iter()
                .map(|m| m.price_adjustment)
                .sum::<Decimal>();
        total += unit * Decimal::from(quantity);
        lines.push(PricedLine {
            menu_item_id: item.id,
            name: item.name.clone(),
            variant_id: variant.id,
            variant_label: variant.label.clone(),
            variant_price: variant.price,
            quantity,
            special_requests: line.special_requests.clone().filter(|s| !s.is_empty()),
            modifiers,
        });
    }
    errors.into_result()?;
    if total > shared_types::money::MAX {
        return Err(ApiError::field(
            "items",
            "the order's total exceeds 99999999.99",
        ));
    }
    Ok((lines, total))
}

/// `Idempotency-Key`: 1 to 255 printable ASCII characters.
pub fn parse_idempotency_key(raw: &[u8]) -> ApiResult<String> {
    let printable = raw.iter().all(|b| (0x20..=0x7e).contains(b));
    if raw.is_empty() || raw.len() > IDEMPOTENCY_KEY_MAX || !printable {
        return Err(ApiError::bad_request(
            "The Idempotency-Key header must be 1 to 255 printable ASCII characters.",
        ));
    }
    Ok(String::from_utf8_lossy(raw).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menu() -> HashMap<i64, MenuEntry> {
        let pizza = MenuEntry {
            id: 12,
            name: "Pizza".into(),
            variants: vec![MenuVariant {
                id: 1,
                label: "Large".into(),
                price: "14.99".parse().unwrap(),
            }],
            modifiers: vec![MenuModifier {
                id: 3,
                name: "Extra Cheese".into(),
                price_adjustment: "2.00".parse().unwrap(),
            }],
        };
        HashMap::from([(12, pizza)])
    }

    fn request(variant_id: i64, modifier_ids: Vec<i64>, quantity: i64) -> ConfirmRequest {
        ConfirmRequest {
            items: vec![ConfirmLine {
                menu_item_id: 12,
                variant_id,
                quantity,
                modifier_ids: Some(modifier_ids),
                special_requests: None,
            }],
            raw_input: "two large pizzas".into(),
            table_identifier: None,
            language: None,
        }
    }

    #[test]
    fn prices_variant_plus_modifiers_times_quantity() {
        let (lines, total) = price(&request(1, vec![3], 2), &menu()).unwrap();
        assert_eq!(total.to_string(), "33.98");
        assert_eq!(lines[0].modifiers.len(), 1);
    }

    #[test]
    fn refuses_foreign_variants_and_modifiers() {
        assert!(price(&request(2, vec![], 1), &menu()).is_err());
        assert!(price(&request(1, vec![4], 1), &menu()).is_err());
    }

    #[test]
    fn shape_checks() {
        assert!(request(1, vec![], 0).validate().is_err());
        assert!(request(1, vec![], 100).validate().is_err());
        assert!(request(1, vec![3, 3], 1).validate().is_err());
        assert!(request(1, vec![3], 99).validate().is_ok());
    }

    #[test]
    fn idempotency_keys() {
        assert!(parse_idempotency_key(b"abc-123").is_ok());
        assert!(parse_idempotency_key(b"").is_err());
        assert!(parse_idempotency_key(&[b'a'; 256]).is_err());
        assert!(parse_idempotency_key(b"tab\there").is_err());
    }
}
