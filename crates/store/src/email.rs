//! An e-mail address that has passed the one rule every way of creating or renaming an account
//! shares, stored the way lookups compare it.

use std::fmt;

/// The longest address accepted (the practical limit of SMTP paths).
pub const MAX_EMAIL_CHARS: usize = 254;

/// A checked, normalised e-mail address: trimmed and lower-cased, `local@domain` with both
/// parts non-empty, no whitespace, at most [`MAX_EMAIL_CHARS`] characters. The check is loose
/// on purpose (`admin@localhost` is fine on a self-hosted install): only sending mail proves an
/// address, and this product sends none.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

/// Why a text is not an [`Email`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEmail {
    #[error("not an e-mail address (expected name@example.com)")]
    Shape,
    #[error("an e-mail address has at most {MAX_EMAIL_CHARS} characters")]
    TooLong,
}

impl Email {
    pub fn parse(text: &str) -> Result<Email, InvalidEmail> {
        let text = text.trim();
        if text.chars().count() > MAX_EMAIL_CHARS {
            return Err(InvalidEmail::TooLong);
        }
        let (local, domain) = text.split_once('@').ok_or(InvalidEmail::Shape)?;
        if local.is_empty()
            || domain.is_empty()
            || domain.contains('@')
            || text.chars().any(char::is_whitespace)
        {
            return Err(InvalidEmail::Shape);
        }
        // Addresses compare case-insensitively; storing them lower-cased lets the plain
        // `email = $1` lookups use `idx_user_email_active`.
        Ok(Email(text.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Email {
    type Err = InvalidEmail;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Email::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_rule_for_every_caller() {
        assert_eq!(
            Email::parse(" Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        assert!(Email::parse("admin@localhost").is_ok());
        for bad in [
            "ada",
            "@example.com",
            "ada@",
            "a da@example.com",
            "a@b@c",
            "",
        ] {
            assert_eq!(Email::parse(bad), Err(InvalidEmail::Shape), "{bad}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(InvalidEmail::TooLong));
    }
}
