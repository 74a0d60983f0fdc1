//! Email addresses as accounts use them: trimmed, lower-cased, plausibly deliverable.

use std::fmt;

/// Longest address SMTP can carry (RFC 5321 path limit less the angle brackets).
pub const MAX_EMAIL_LEN: usize = 254;

/// A normalised email address.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Why an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing but white space.
    #[error("Enter your email address.")]
    Empty,
    /// Longer than [`MAX_EMAIL_LEN`].
    #[error("That email address is too long: 254 characters at most.")]
    TooLong,
    /// Not of the form `name@example.com`.
    #[error("Enter an email address like name@example.com.")]
    Invalid,
}

impl Email {
    /// Normalises and checks `input`.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let email = normalize(input);
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if email.chars().count() > MAX_EMAIL_LEN {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = email.rsplit_once('@').ok_or(EmailError::Invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with(['.', '-'])
            && !domain.ends_with(['.', '-'])
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-');
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && local.chars().all(|c| !c.is_whitespace() && !c.is_control());
        if domain_ok && local_ok { Ok(Self(email)) } else { Err(EmailError::Invalid) }
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The form every stored address takes; also used to key sign-in throttling, so that a throttle on
/// `Ann@Example.com` also holds for `ann@example.com`.
pub fn normalize(input: &str) -> String {
    input.trim().to_lowercase()
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(Email::parse("  Ann.Lee@Example.COM \n").map(|e| e.0), Ok("ann.lee@example.com".into()));
    }

    #[test]
    fn addresses_without_a_domain_or_local_part_are_refused() {
        for bad in [
            "ann",
            "ann@",
            "@example.com",
            "ann@localhost",
            "ann@exa mple.com",
            "a b@example.com",
            "ann@.com",
            "ann@example..com",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Invalid), "{bad}");
        }
    }

    #[test]
    fn empty_and_overlong_addresses_say_so() {
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }
}
