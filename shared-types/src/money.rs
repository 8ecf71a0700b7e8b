//! Money on the wire is a decimal string with exactly two places (`"33.98"`), never a float.
//!
//! Use with `#[serde(with = "shared_types::money")]`. Deserialization accepts only strings:
//! a JSON number would pass through f64 and could silently change the amount.

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

/// Largest amount a `numeric(10,2)` column holds.
/// 9_999_999_999 × 10⁻² = 99999999.99
pub const MAX: Decimal = Decimal::from_parts(1_410_065_407, 2, 0, false, 2);

pub fn to_string(amount: &Decimal) -> String {
    format!("{:.2}", amount)
}

pub fn serialize<S: Serializer>(amount: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&to_string(amount))
}

pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse(&text).map_err(D::Error::custom)
}

/// Parses a client-supplied amount: a plain decimal string, at most two places, within `0..=MAX`.
pub fn parse(text: &str) -> Result<Decimal, &'static str> {
    let valid_shape = !text.is_empty()
        && text.chars().all(|c| c.is_ascii_digit() || c == '.')
        && text.matches('.').count() <= 1
        && !text.starts_with('.')
        && !text.ends_with('.');
    if !valid_shape {
        return Err("must be a non-negative decimal string such as \"12.50\"");
    }
    let amount: Decimal = text
        .parse()
        .map_err(|_| "must be a non-negative decimal string such as \"12.50\"")?;
    if amount.scale() > 2 {
        return Err("must have at most 2 decimal places");
    }
    if amount > MAX {
        return Err("must be at most 99999999.99");
    }
    Ok(amount)
}

/// For optional money fields in PATCH bodies.
pub mod option {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, de::Error as _};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => super::parse(&text).map(Some).map_err(D::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn formats_two_places() {
        assert_eq!(to_string(&Decimal::from_str("2").unwrap()), "2.00");
        assert_eq!(to_string(&Decimal::from_str("33.980").unwrap()), "33.98");
        assert_eq!(to_string(&Decimal::from_str("14.9").unwrap()), "14.90");
    }

    #[test]
    fn parses_only_plain_non_negative_amounts() {
        assert_eq!(parse("14.99").unwrap(), Decimal::from_str("14.99").unwrap());
        assert_eq!(parse("0").unwrap(), Decimal::ZERO);
        for bad in [
            "",
            "-1",
            "1.999",
            "1e3",
            " 1",
            "abc",
            "1.",
            ".5",
            "1.2.3",
            "100000000.00",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(parse("99999999.99").unwrap(), MAX);
    }

    #[test]
    fn rejects_json_numbers() {
        #[derive(serde::Deserialize)]
        struct P {
            #[serde(with = "super")]
            #[allow(dead_code)]
            price: Decimal,
        }
        assert!(serde_json::from_str::<P>(r#"{"price": 1.5}"#).is_err());
        assert!(serde_json::from_str::<P>(r#"{"price": "1.50"}"#).is_ok());
    }
}
