//! Confirming an order: the request as parsed at the edge, and pricing it against the
//! restaurant's menu. Prices always come from the menu, never from the client.

use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;
use serde::Deserialize;

use super::{
    fields::{FieldErrors, Invalid, Rules},
    text::Text,
};

pub const MAX_LINES: usize = 100;
pub const MAX_MODIFIERS_PER_LINE: usize = 20;
pub const RAW_INPUT_MAX: usize = 2000;
pub const SPECIAL_REQUESTS_MAX: usize = 500;
pub const TABLE_IDENTIFIER_MAX: usize = 50;
pub const LANGUAGE_MAX: usize = 35;
pub const DEFAULT_LANGUAGE: &str = "en";
pub const IDEMPOTENCY_KEY_MAX: usize = 255;

pub type RawInput = Text<RAW_INPUT_MAX>;
pub type SpecialRequests = Text<SPECIAL_REQUESTS_MAX>;
pub type TableIdentifier = Text<TABLE_IDENTIFIER_MAX>;

/// How many of one line: 1 to 99.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(u8);

impl Quantity {
    pub fn parse(quantity: i64) -> Result<Self, Invalid> {
        u8::try_from(quantity)
            .ok()
            .filter(|q| (1..=99).contains(q))
            .map(Quantity)
            .ok_or_else(|| Invalid::new("must be between 1 and 99"))
    }

    pub fn get(self) -> i32 {
        i32::from(self.0)
    }
}

/// The order's language: not blank, at most 35 characters, no NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Language(String);

impl Language {
    pub fn parse(text: String) -> Result<Self, Invalid> {
        Rules::default()
            .check(!text.trim().is_empty(), "must not be blank")
            .check(
                text.chars().count() <= LANGUAGE_MAX,
                format!("must be at most {LANGUAGE_MAX} characters"),
            )
            .check(!text.contains('\0'), super::text::NUL)
            .verdict(|| Language(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for Language {
    fn default() -> Self {
        Language(DEFAULT_LANGUAGE.to_owned())
    }
}

/// The modifiers chosen for one line: at most 20, none twice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModifierIds(Vec<i64>);

impl ModifierIds {
    pub fn parse(ids: Vec<i64>) -> Result<Self, Invalid> {
        let distinct = ids.iter().collect::<HashSet<_>>().len();
        Rules::default()
            .check(
                ids.len() <= MAX_MODIFIERS_PER_LINE,
                format!("at most {MAX_MODIFIERS_PER_LINE} modifiers per line"),
            )
            .check(distinct == ids.len(), "must not repeat a modifier")
            .verdict(|| ModifierIds(ids))
    }

    pub fn as_slice(&self) -> &[i64] {
        &self.0
    }
}

/// `Idempotency-Key`: 1 to 255 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The Idempotency-Key header must be 1 to 255 printable ASCII characters.")]
pub struct InvalidIdempotencyKey;

impl IdempotencyKey {
    pub fn parse(raw: &[u8]) -> Result<Self, InvalidIdempotencyKey> {
        let printable = raw.iter().all(|b| (0x20..=0x7e).contains(b));
        if raw.is_empty() || raw.len() > IDEMPOTENCY_KEY_MAX || !printable {
            return Err(InvalidIdempotencyKey);
        }
        String::from_utf8(raw.to_vec())
            .map(IdempotencyKey)
            .map_err(|_| InvalidIdempotencyKey)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An order has 1 to 100 lines.
pub fn check_line_count(count: usize) -> Result<(), Invalid> {
    Rules::default()
        .check(count > 0, "an order needs at least one item")
        .check(
            count <= MAX_LINES,
            format!("at most {MAX_LINES} lines per order"),
        )
        .verdict(|| ())
}

/// An Order's size as the JSON every copy of it has (event row, AMQP message, WebSocket
/// frame, replay ring, events page), counted without building it. Should it not serialize
/// (it always does), it counts as too large.
pub fn serialized_len(order: &shared_types::Order) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, order) {
        Ok(()) => counter.0,
        Err(_) => usize::MAX,
    }
}

/// An Order must stay within `max_bytes` as JSON: each line copies the menu's names, and a
/// confirm within every count and length bound could otherwise make a megabyte-sized Order
/// that every change of it sends again.
pub fn check_order_size(order: &shared_types::Order, max_bytes: usize) -> Result<(), FieldErrors> {
    let bytes = serialized_len(order);
    if bytes <= max_bytes {
        return Ok(());
    }
    Err(FieldErrors::one(
        "items",
        format!(
            "the order is too large ({bytes} bytes as JSON, at most {max_bytes}): \
             send fewer lines, modifiers or shorter requests, or split it into several orders"
        ),
    ))
}

/// One line of a parsed confirm request.
#[derive(Debug, Clone)]
pub struct ValidatedLine {
    pub menu_item_id: i64,
    pub variant_id: i64,
    pub quantity: Quantity,
    pub modifier_ids: ModifierIds,
    /// `None` when none or an empty one was given.
    pub special_requests: Option<SpecialRequests>,
}

/// A confirm request within every bound that needs no database: 1 to 100 lines, bounded
/// texts. Whether its items are on the menu is for `price` to tell.
#[derive(Debug, Clone)]
pub struct ValidatedConfirm {
    lines: Vec<ValidatedLine>,
    pub raw_input: RawInput,
    /// `None` when none or a blank one was given.
    pub table_identifier: Option<TableIdentifier>,
    pub language: Language,
}

impl ValidatedConfirm {
    /// Checks the number of lines (the lines and texts are parsed already).
    pub fn new(
        lines: Vec<ValidatedLine>,
        raw_input: RawInput,
        table_identifier: Option<TableIdentifier>,
        language: Language,
    ) -> Result<Self, Invalid> {
        check_line_count(lines.len())?;
        Ok(ValidatedConfirm {
            lines,
            raw_input,
            table_identifier: table_identifier.filter(|table| !table.is_blank()),
            language,
        })
    }

    pub fn lines(&self) -> &[ValidatedLine] {
        &self.lines
    }

    /// How many lines: at most `MAX_LINES`, so it fits any integer column.
    pub fn line_count(&self) -> i32 {
        // `new` bounds the count at MAX_LINES (100).
        self.lines.len() as i32
    }

    /// The distinct menu items asked for.
    pub fn menu_item_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.lines.iter().map(|l| l.menu_item_id).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// An active menu item of the restaurant, with its own variants and modifiers.
#[derive(Debug, Clone, Deserialize)]
pub struct MenuEntry {
    pub id: i64,
    pub name: String,
    /// Where the item is made: its own station, else its category's, else none.
    #[serde(default)]
    pub station: Option<shared_types::LineStation>,
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
    pub quantity: Quantity,
    pub special_requests: Option<SpecialRequests>,
    pub modifiers: Vec<MenuModifier>,
    pub station: Option<shared_types::LineStation>,
}

/// An order's lines as priced from the menu, and its total.
#[derive(Debug, Clone)]
pub struct PricedOrder {
    pub lines: Vec<PricedLine>,
    pub total: Decimal,
}

/// Prices the order: `sum((variant.price + sum(modifier.price_adjustment)) * quantity)`.
/// Every item must be on `menu` (the restaurant's active menu), every variant and modifier one
/// of that item's own.
pub fn price(
    request: &ValidatedConfirm,
    menu: &HashMap<i64, MenuEntry>,
) -> Result<PricedOrder, FieldErrors> {
    let mut errors = FieldErrors::default();
    let mut lines = Vec::with_capacity(request.lines.len());
    let mut total = Decimal::ZERO;
    for (i, line) in request.lines.iter().enumerate() {
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
        for id in line.modifier_ids.as_slice() {
            match item.modifiers.iter().find(|m| m.id == *id) {
                Some(modifier) => modifiers.push(modifier.clone()),
                None => errors.add(
                    &format!("items[{i}].modifier_ids"),
                    format!("{id} is not a modifier of this item"),
                ),
            }
        }
        let unit = variant.price
            + modifiers
                .iter()
                .map(|m| m.price_adjustment)
                .sum::<Decimal>();
        total += unit * Decimal::from(line.quantity.get());
        lines.push(PricedLine {
            menu_item_id: item.id,
            name: item.name.clone(),
            variant_id: variant.id,
            variant_label: variant.label.clone(),
            variant_price: variant.price,
            quantity: line.quantity,
            special_requests: line.special_requests.clone(),
            modifiers,
            station: item.station.clone(),
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if total > shared_types::money::MAX {
        return Err(FieldErrors::one(
            "items",
            "the order's total exceeds 99999999.99",
        ));
    }
    Ok(PricedOrder { lines, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menu() -> HashMap<i64, MenuEntry> {
        let pizza = MenuEntry {
            id: 12,
            name: "Pizza".into(),
            station: None,
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

    fn line(variant_id: i64, modifier_ids: Vec<i64>, quantity: i64) -> ValidatedLine {
        ValidatedLine {
            menu_item_id: 12,
            variant_id,
            quantity: Quantity::parse(quantity).unwrap(),
            modifier_ids: ModifierIds::parse(modifier_ids).unwrap(),
            special_requests: None,
        }
    }

    fn request(lines: Vec<ValidatedLine>) -> ValidatedConfirm {
        ValidatedConfirm::new(
            lines,
            RawInput::parse("two large pizzas".into()).unwrap(),
            None,
            Language::default(),
        )
        .unwrap()
    }

    #[test]
    fn prices_variant_plus_modifiers_times_quantity() {
        let priced = price(&request(vec![line(1, vec![3], 2)]), &menu()).unwrap();
        assert_eq!(priced.total.to_string(), "33.98");
        assert_eq!(priced.lines[0].modifiers.len(), 1);
        assert_eq!(priced.lines[0].quantity.get(), 2);
    }

    #[test]
    fn refuses_foreign_variants_and_modifiers() {
        assert!(price(&request(vec![line(2, vec![], 1)]), &menu()).is_err());
        assert!(price(&request(vec![line(1, vec![4], 1)]), &menu()).is_err());
    }

    #[test]
    fn quantities_are_1_to_99() {
        for ok in [1, 42, 99] {
            assert_eq!(Quantity::parse(ok).unwrap().get(), ok as i32);
        }
        for bad in [0, 100, -1, 256, i64::MAX, i64::MIN] {
            assert_eq!(
                Quantity::parse(bad).unwrap_err().messages(),
                ["must be between 1 and 99"],
                "{bad}"
            );
        }
    }

    #[test]
    fn modifier_lists_are_short_and_distinct() {
        assert!(ModifierIds::parse(vec![3, 4]).is_ok());
        assert_eq!(
            ModifierIds::parse(vec![3, 3]).unwrap_err().messages(),
            ["must not repeat a modifier"]
        );
        assert_eq!(
            ModifierIds::parse(vec![7; 21]).unwrap_err().messages(),
            [
                "at most 20 modifiers per line",
                "must not repeat a modifier"
            ]
        );
        assert!(ModifierIds::parse((0..20).collect()).is_ok());
    }

    #[test]
    fn languages_are_not_blank_and_bounded() {
        assert_eq!(Language::default().as_str(), "en");
        assert_eq!(Language::parse("de-CH".into()).unwrap().as_str(), "de-CH");
        assert!(Language::parse(" ".into()).is_err());
        assert!(Language::parse("x".repeat(36)).is_err());
        assert_eq!(
            Language::parse(" ".repeat(36))
                .unwrap_err()
                .messages()
                .len(),
            2
        );
    }

    #[test]
    fn an_order_has_1_to_100_lines_and_a_blank_table_is_none() {
        let raw = || RawInput::parse(String::new()).unwrap();
        let none = ValidatedConfirm::new(vec![], raw(), None, Language::default());
        assert_eq!(
            none.unwrap_err().messages(),
            ["an order needs at least one item"]
        );
        let many = ValidatedConfirm::new(
            vec![line(1, vec![], 1); 101],
            raw(),
            None,
            Language::default(),
        );
        assert_eq!(
            many.unwrap_err().messages(),
            ["at most 100 lines per order"]
        );
        let blank_table = TableIdentifier::parse("  ".into()).ok();
        let full = ValidatedConfirm::new(
            vec![line(1, vec![], 1); 100],
            raw(),
            blank_table,
            Language::default(),
        )
        .unwrap();
        assert_eq!(full.line_count(), 100);
        assert_eq!(full.menu_item_ids(), [12]);
        assert!(full.table_identifier.is_none());
    }

    #[test]
    fn idempotency_keys() {
        assert_eq!(
            IdempotencyKey::parse(b"abc-123").unwrap().as_str(),
            "abc-123"
        );
        assert!(IdempotencyKey::parse(&[b'~'; 255]).is_ok());
        assert!(IdempotencyKey::parse(b"").is_err());
        assert!(IdempotencyKey::parse(&[b'a'; 256]).is_err());
        assert!(IdempotencyKey::parse(b"tab\there").is_err());
        assert!(IdempotencyKey::parse("caf\u{e9}".as_bytes()).is_err());
    }
}
