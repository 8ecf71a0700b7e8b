//! Bounded texts. Bounds count characters, as PostgreSQL's `length()` does, so a value that
//! parses here also fits its column's CHECK; and a text never holds a NUL character, which
//! valid JSON can carry (`"\u0000"`) but a PostgreSQL `text` cannot store.

use super::fields::{Invalid, Rules};

fn too_long(max: usize) -> String {
    format!("must be at most {max} characters")
}

pub const NUL: &str = "must not contain a NUL character";

/// A text looked up as given (a login's email, a staff member's): only the NUL is refused,
/// since no stored value can hold one and PostgreSQL refuses the query.
pub fn storable(text: &str) -> Result<&str, Invalid> {
    Rules::default()
        .check(!text.contains('\0'), NUL)
        .verdict(|| text)
}

/// Any text of at most `MAX` characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Text<MAX> {
    pub fn parse(text: String) -> Result<Self, Invalid> {
        Rules::default()
            .check(text.chars().count() <= MAX, too_long(MAX))
            .check(!text.contains('\0'), NUL)
            .verdict(|| Text(text))
    }

    pub fn empty() -> Self {
        Text(String::new())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

/// A name or label: not blank, at most `MAX` characters (a blank one is told only that).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name<const MAX: usize>(String);

impl<const MAX: usize> Name<MAX> {
    pub fn parse(text: String) -> Result<Self, Invalid> {
        if text.trim().is_empty() {
            return Err(Invalid::new("must not be blank"));
        }
        Rules::default()
            .check(text.chars().count() <= MAX, too_long(MAX))
            .check(!text.contains('\0'), NUL)
            .verdict(|| Name(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_bounded_by_characters_not_bytes() {
        assert!(Text::<3>::parse("ééé".into()).is_ok());
        assert_eq!(
            Text::<3>::parse("abcd".into()).unwrap_err().messages(),
            ["must be at most 3 characters"]
        );
        assert!(Text::<3>::parse(String::new()).unwrap().is_empty());
        assert!(Text::<3>::parse("  ".into()).unwrap().is_blank());
    }

    #[test]
    fn texts_and_names_hold_no_nul() {
        assert_eq!(
            Text::<9>::parse("a\0b".into()).unwrap_err().messages(),
            [NUL]
        );
        assert_eq!(
            Name::<9>::parse("grill\0".into()).unwrap_err().messages(),
            [NUL]
        );
        assert_eq!(
            Name::<3>::parse("\0".repeat(4))
                .unwrap_err()
                .messages()
                .len(),
            2
        );
    }

    #[test]
    fn names_are_not_blank() {
        assert_eq!(Name::<5>::parse("Pizza".into()).unwrap().as_str(), "Pizza");
        for blank in ["", "   ", "\t"] {
            assert_eq!(
                Name::<5>::parse(blank.into()).unwrap_err().messages(),
                ["must not be blank"]
            );
        }
        assert_eq!(
            Name::<5>::parse("Pizzas".into()).unwrap_err().messages(),
            ["must be at most 5 characters"]
        );
    }
}
