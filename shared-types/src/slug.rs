use std::fmt;

use serde::{Deserialize, Serialize};

/// A restaurant's public name in URLs and routing keys: `^[a-z0-9]+(-[a-z0-9]+)*$`, at most 100
/// characters. The pattern also keeps it safe as an AMQP topic word (no `.`, `*`, `#`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

pub const SLUG_MAX_LEN: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlugError;

impl fmt::Display for SlugError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "must be 1 to 100 lowercase letters or digits, in words joined by single hyphens",
        )
    }
}

impl std::error::Error for SlugError {}

impl Slug {
    pub fn parse(text: &str) -> Result<Self, SlugError> {
        let well_formed = !text.is_empty()
            && text.len() <= SLUG_MAX_LEN
            && text.split('-').all(|word| {
                !word.is_empty()
                    && word
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        if well_formed {
            Ok(Self(text.to_owned()))
        } else {
            Err(SlugError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = SlugError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Slug::parse(&value)
    }
}

impl From<Slug> for String {
    fn from(slug: Slug) -> Self {
        slug.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Slug {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_hyphenated_lowercase_words() {
        for ok in ["luigis", "a", "pizza-2-go", "0-1"] {
            assert!(Slug::parse(ok).is_ok(), "{ok}");
        }
        assert!(Slug::parse(&"a".repeat(100)).is_ok());
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "", "Luigis", "-a", "a-", "a--b", "a.b", "a*", "a#", "a b", "é", "a_b",
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
        assert!(Slug::parse(&"a".repeat(101)).is_err());
    }
}
