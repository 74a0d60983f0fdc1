//! The one error type every server function returns, shared by the server and the browser.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What went wrong, in words a user can act on. Database and other internal error text never
/// reaches this type: it is logged on the server and replaced by [`ApiError::Internal`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ApiError {
    /// A field (or, with no field, the request) was refused.
    #[error("{message}")]
    Invalid {
        /// The form field at fault, for showing the message next to it.
        field: Option<String>,
        /// What to change.
        message: String,
        /// What the form's fields held, given back so that a page posted without scripts shows it again
        /// instead of the saved values. Only fields that never hold a secret are given back.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        given: Vec<(String, String)>,
    },
    /// Unknown email or wrong password.
    #[error("Email or password is incorrect.")]
    InvalidCredentials,
    /// Too many failed sign-ins.
    #[error("Too many failed sign-ins. Try again in {}.", wait_in_words(*retry_after_secs))]
    Throttled {
        /// Seconds until the next attempt will be checked.
        retry_after_secs: u64,
    },
    /// Too many sign-ups from one client address.
    #[error("Too many sign-ups from your network. Try again in {}.", wait_in_words(*retry_after_secs))]
    SignUpsThrottled {
        /// Seconds until the next sign-up from this address is accepted.
        retry_after_secs: u64,
    },
    /// Asked too often (reset links, verification messages, second-factor codes).
    #[error("{message} Try again in {}.", wait_in_words(*retry_after_secs))]
    TooMany {
        /// What was asked too often.
        message: String,
        /// Seconds until the next request is taken.
        retry_after_secs: u64,
    },
    /// The operator requires two-factor sign-in, and this account has not turned it on.
    #[error("Turn on two-factor sign-in in your settings first: this portal requires it.")]
    TwoFactorRequired,
    /// The server is too busy checking passwords to check this one now.
    #[error("Latchkey is busy right now. Try again in a few seconds.")]
    Busy {
        /// Seconds to wait before trying again.
        retry_after_secs: u64,
    },
    /// The request needs a signed-in session.
    #[error("Sign in to continue.")]
    Unauthenticated,
    /// The signed-in person's role does not allow this (or their organisation is disabled).
    #[error("{message}")]
    Forbidden {
        /// Why, and who could.
        message: String,
    },
    /// No such thing for this person (whether it belongs to someone else or does not exist at all).
    #[error("Not found. It may have been deleted, or the link may be mistyped.")]
    NotFound,
    /// The request is valid but the thing is in a state that forbids it (a revoked key cannot roll).
    #[error("{message}")]
    Conflict {
        /// What is in the way, and what to do instead.
        message: String,
    },
    /// A failure on the server that the user cannot fix.
    #[error("Something went wrong on our side. Please try again in a moment.")]
    Internal,
    /// The request never got a proper answer (network down, server restarting).
    #[error("Latchkey could not be reached. Check your connection and try again.")]
    Unreachable,
}

impl ApiError {
    /// A refusal of one form field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid { field: Some(field.to_owned()), message: message.into(), given: Vec::new() }
    }

    /// A refusal of the whole request rather than one field.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::Invalid { field: None, message: message.into(), given: Vec::new() }
    }

    /// This refusal with what `field` held, for the form to show again. Text longer than
    /// [`GIVEN_BACK_LIMIT`] is not given back: a form posted without scripts carries it in the address.
    /// Never give back a secret.
    #[must_use]
    pub fn with_given(mut self, field: &str, text: &str) -> Self {
        if let Self::Invalid { given, .. } = &mut self
            && text.len() <= GIVEN_BACK_LIMIT
        {
            given.push((field.to_owned(), text.to_owned()));
        }
        self
    }

    /// What `field` held when this refusal was made, if it was given back.
    pub fn given(&self, field: &str) -> Option<&str> {
        match self {
            Self::Invalid { given, .. } => given.iter().find(|(name, _)| name == field).map(|(_, text)| text.as_str()),
            _ => None,
        }
    }

    /// The message for `field`, if this error is about it.
    pub fn message_for(&self, field: &str) -> Option<String> {
        match self {
            Self::Invalid { field: Some(f), message, .. } if f == field => Some(message.clone()),
            _ => None,
        }
    }

    /// Whether this error belongs to a single field rather than the whole form.
    pub fn is_field_error(&self) -> bool {
        matches!(self, Self::Invalid { field: Some(_), .. })
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                Self::invalid_request("The request was incomplete. Reload the page and try again.")
            }
            // On the server these are the request's arguments failing to parse: the caller's fault. In the
            // browser they mean the answer never arrived whole.
            ServerFnErrorErr::Deserialization(_) if cfg!(feature = "ssr") => {
                Self::invalid_request("The request could not be read. Reload the page and try again.")
            }
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Deserialization(_) => Self::Unreachable,
            _ => Self::Internal,
        }
    }
}

/// The longest text a refusal gives back to its form (see [`ApiError::with_given`]): 100 networks of an
/// allowlist fit.
pub const GIVEN_BACK_LIMIT: usize = 8 * 1024;

/// "1 second", "45 seconds", "3 minutes": how long to wait, rounded up to what a person would say.
pub fn wait_in_words(secs: u64) -> String {
    match secs {
        0 | 1 => "1 second".into(),
        2..=89 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_read_naturally() {
        assert_eq!(wait_in_words(1), "1 second");
        assert_eq!(wait_in_words(32), "32 seconds");
        assert_eq!(wait_in_words(900), "15 minutes");
        assert_eq!(wait_in_words(121), "3 minutes");
    }

    #[test]
    fn a_refusal_gives_back_what_its_form_held_but_not_a_flood_and_only_on_refusals() {
        let refused = ApiError::invalid("ip_allowlist", "'x' is not an IP address or network.")
            .with_given("ip_allowlist", "10.0.0.0/8\nx")
            .with_given("rate_limit", "7")
            .with_given("rate_window", &"9".repeat(GIVEN_BACK_LIMIT + 1));
        assert_eq!(refused.given("ip_allowlist"), Some("10.0.0.0/8\nx"));
        assert_eq!(refused.given("rate_limit"), Some("7"));
        assert_eq!(refused.given("rate_window"), None, "too long to carry in an address");
        let json = serde_json::to_string(&refused).expect("json");
        assert_eq!(serde_json::from_str::<ApiError>(&json).expect("back"), refused, "it survives the trip");
        assert_eq!(ApiError::NotFound.with_given("ip_allowlist", "x").given("ip_allowlist"), None);
        let plain = serde_json::to_string(&ApiError::invalid("name", "Too long.")).expect("json");
        assert!(!plain.contains("given"), "nothing given, nothing sent: {plain}");
    }
}
