//! Why input was refused, field by field: plain data, turned into the API's 400 by
//! `ApiError`'s `From`.

use std::collections::BTreeMap;

/// Why one value was refused: one or more short messages ("must not be blank"), in the order
/// its rules were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(Vec<String>);

impl Invalid {
    pub fn new(message: impl Into<String>) -> Self {
        Invalid(vec![message.into()])
    }

    pub fn messages(&self) -> &[String] {
        &self.0
    }
}

/// Checks a value against several rules, so it reports every rule it breaks.
#[derive(Debug, Default)]
pub struct Rules(Vec<String>);

impl Rules {
    pub fn check(mut self, ok: bool, message: impl Into<String>) -> Self {
        if !ok {
            self.0.push(message.into());
        }
        self
    }

    /// `value` if no rule broke.
    pub fn verdict<T>(self, value: impl FnOnce() -> T) -> Result<T, Invalid> {
        if self.0.is_empty() {
            Ok(value())
        } else {
            Err(Invalid(self.0))
        }
    }
}

/// Every invalid field of one request, so a client learns about all of them at once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    /// One invalid field.
    pub fn one(field: &str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        errors
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    /// The parsed value, or `None` with its messages recorded under `field`.
    pub fn take<T>(&mut self, field: &str, parsed: Result<T, Invalid>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(Invalid(messages)) => {
                for message in messages {
                    self.add(field, message);
                }
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_fields(self) -> BTreeMap<String, Vec<String>> {
        self.0
    }

    /// `value` if no field was invalid, else these errors. `value` is the parsed fields, each
    /// `None` exactly when its parse recorded an error here.
    pub fn or<T>(self, value: Option<T>) -> Result<T, FieldErrors> {
        match value {
            Some(value) if self.is_empty() => Ok(value),
            _ => Err(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_report_every_broken_rule_in_order() {
        let broken = Rules::default()
            .check(false, "first")
            .check(true, "fine")
            .check(false, "second")
            .verdict(|| ());
        assert_eq!(broken.unwrap_err().messages(), ["first", "second"]);
        assert_eq!(Rules::default().check(true, "fine").verdict(|| 7), Ok(7));
    }

    #[test]
    fn take_records_messages_under_the_field() {
        let mut errors = FieldErrors::default();
        assert_eq!(errors.take("a", Ok::<_, Invalid>(1)), Some(1));
        assert!(errors.is_empty());
        assert_eq!(errors.take::<i32>("b", Err(Invalid::new("bad"))), None);
        assert_eq!(errors.clone().or(Some(1)), Err(errors.clone()));
        assert_eq!(errors.into_fields()["b"], ["bad"]);
        assert_eq!(FieldErrors::default().or(Some(2)), Ok(2));
    }
}
