//! Accounts: the email, password and names a user registers with.

use secrecy::{ExposeSecret, SecretString};

use super::{
    fields::{Invalid, Rules},
    text::Text,
};

pub const PASSWORD_MIN_CHARS: usize = 8;
/// Argon2 accepts any length, but an unbounded password is free CPU for an attacker.
pub const PASSWORD_MAX_CHARS: usize = 1024;
pub const NAME_MAX_CHARS: usize = 150;

/// A first or last name.
pub type PersonName = Text<NAME_MAX_CHARS>;

/// A well-formed email address, without surrounding whitespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Self, Invalid> {
        let email = text.trim();
        let well_formed = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            });
        Rules::default()
            .check(well_formed, "must be a valid email address")
            .verdict(|| Email(email.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 8 to 1024 characters, not all digits.
pub struct Password(SecretString);

impl Password {
    pub fn parse(password: SecretString) -> Result<Self, Invalid> {
        let text = password.expose_secret();
        let chars = text.chars().count();
        let problem = if chars < PASSWORD_MIN_CHARS {
            Some(format!("must be at least {PASSWORD_MIN_CHARS} characters"))
        } else if chars > PASSWORD_MAX_CHARS {
            Some(format!("must be at most {PASSWORD_MAX_CHARS} characters"))
        } else if text.chars().all(|c| c.is_ascii_digit()) {
            Some("must not be entirely numeric".to_owned())
        } else {
            None
        };
        match problem {
            Some(message) => Err(Invalid::new(message)),
            None => Ok(Password(password)),
        }
    }

    pub fn into_secret(self) -> SecretString {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse("  chef@luigis.example ").unwrap().as_str(),
            "chef@luigis.example"
        );
        for bad in [
            "",
            "chef",
            "@x.io",
            "chef@",
            "chef@localhost",
            "a b@x.io",
            "a@b@c.io",
            "a@.io",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords() {
        let ok = |p: &str| Password::parse(SecretString::from(p)).is_ok();
        assert!(ok("pizza4ever"));
        assert!(!ok("short1"));
        assert!(!ok("12345678901"));
        assert!(!ok(&"x".repeat(1025)));
        assert!(ok(&"x".repeat(1024)));
    }
}
