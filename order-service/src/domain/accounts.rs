use crate::error::FieldErrors;

pub const PASSWORD_MIN_CHARS: usize = 8;
/// Argon2 accepts any length, but an unbounded password is free CPU for an attacker.
pub const PASSWORD_MAX_CHARS: usize = 1024;
pub const NAME_MAX_CHARS: usize = 150;

pub fn validate_email(email: &str, errors: &mut FieldErrors) {
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
    errors.check(well_formed, "email", "must be a valid email address");
}

pub fn validate_password(password: &str, errors: &mut FieldErrors) {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        errors.add(
            "password",
            format!("must be at least {PASSWORD_MIN_CHARS} characters"),
        );
    } else if chars > PASSWORD_MAX_CHARS {
        errors.add(
            "password",
            format!("must be at most {PASSWORD_MAX_CHARS} characters"),
        );
    } else if password.chars().all(|c| c.is_ascii_digit()) {
        errors.add("password", "must not be entirely numeric");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email_ok(email: &str) -> bool {
        let mut errors = FieldErrors::default();
        validate_email(email, &mut errors);
        errors.is_empty()
    }

    fn password_ok(password: &str) -> bool {
        let mut errors = FieldErrors::default();
        validate_password(password, &mut errors);
        errors.is_empty()
    }

    #[test]
    fn emails() {
        assert!(email_ok("chef@luigis.example"));
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
            assert!(!email_ok(bad), "{bad}");
        }
    }

    #[test]
    fn passwords() {
        assert!(password_ok("pizza4ever"));
        assert!(!password_ok("short1"));
        assert!(!password_ok("12345678901"));
        assert!(!password_ok(&"x".repeat(1025)));
    }
}
