//! Every message Latchkey sends, as the data it is rendered from. Stored in the outbox as JSON, so a
//! message queued by one version renders in the next: fields are only ever added, with defaults.

use serde::{Deserialize, Serialize};

/// Key notices a person may turn off; security notices cannot be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A key was created in an organisation one looks after.
    KeyCreated,
    /// A key expires in 7 days, or in 1.
    KeyExpiring,
    /// A key expired.
    KeyExpired,
    /// Someone else revoked a key.
    KeyRevoked,
}

impl NoticeKind {
    /// Every kind, in the order settings shows them.
    pub const ALL: [Self; 4] = [Self::KeyCreated, Self::KeyExpiring, Self::KeyExpired, Self::KeyRevoked];

    /// As stored in `accounts.muted_notices`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeyCreated => "key_created",
            Self::KeyExpiring => "key_expiring",
            Self::KeyExpired => "key_expired",
            Self::KeyRevoked => "key_revoked",
        }
    }

    /// Parses [`NoticeKind::as_str`].
    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == stored)
    }

    /// What the settings page calls it.
    pub fn label(self) -> &'static str {
        match self {
            Self::KeyCreated => "A key is created",
            Self::KeyExpiring => "A key expires in 7 days, and again 1 day before",
            Self::KeyExpired => "A key has expired",
            Self::KeyRevoked => "Someone else revokes a key",
        }
    }
}

/// A key, as notices name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRef {
    /// The organisation's id (for the link).
    pub organisation_id: String,
    /// The organisation's name.
    pub organisation: String,
    /// The key's id.
    pub key_id: String,
    /// The key's name.
    pub key_name: String,
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mail {
    /// Prove you receive mail here; carries a link minted when it is sent.
    VerifyEmail {
        /// The `account_links` row.
        link_id: String,
    },
    /// Choose a new password; carries a link minted when it is sent.
    PasswordReset {
        /// The `account_links` row.
        link_id: String,
    },
    /// The password was changed (or reset).
    PasswordChanged {
        /// Through a reset link rather than in settings.
        by_reset: bool,
        /// When, formatted.
        at: String,
        /// From where.
        from: String,
    },
    /// Two-factor sign-in was turned on.
    TwoFactorEnabled {
        /// When, formatted.
        at: String,
        /// From where.
        from: String,
    },
    /// Two-factor sign-in was turned off.
    TwoFactorDisabled {
        /// When, formatted.
        at: String,
        /// From where.
        from: String,
    },
    /// A sign-in from a browser this account has not used before.
    NewSignIn {
        /// When, formatted.
        at: String,
        /// The browser and address.
        from: String,
    },
    /// A key was created.
    KeyCreated {
        /// Which.
        key: KeyRef,
        /// By whom.
        by: String,
        /// From where.
        from: String,
    },
    /// A key expires soon.
    KeyExpiring {
        /// Which.
        key: KeyRef,
        /// When it expires, formatted.
        expires_at: String,
        /// "7 days" or "1 day".
        within: String,
    },
    /// A key expired.
    KeyExpired {
        /// Which.
        key: KeyRef,
        /// When, formatted.
        expired_at: String,
    },
    /// Someone revoked a key.
    KeyRevoked {
        /// Which.
        key: KeyRef,
        /// By whom.
        by: String,
    },
    /// A leak report found a key in public. A security notice: it cannot be turned off.
    KeyLeaked {
        /// Which.
        key: KeyRef,
        /// Where it was found.
        url: String,
        /// Who reported it.
        source: String,
        /// Whether Latchkey revoked it.
        revoked: bool,
    },
    /// An invitation to join an organisation; carries a link of its own, minted when it is sent.
    Invitation {
        /// The `invitations` row.
        invitation_id: String,
        /// The organisation's name.
        organisation: String,
        /// The role it gives.
        role: String,
        /// Who invited.
        invited_by: String,
        /// When the invitation ends, formatted.
        expires_at: String,
    },
    /// A webhook endpoint failed for days and was paused.
    WebhookDisabled {
        /// The organisation's id (for the link).
        organisation_id: String,
        /// The organisation's name.
        organisation: String,
        /// The endpoint's URL.
        url: String,
        /// Since when every delivery failed, formatted.
        failing_since: String,
    },
}

impl Mail {
    /// The stored kind, for the outbox's `kind` column and for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::VerifyEmail { .. } => "verify_email",
            Self::PasswordReset { .. } => "password_reset",
            Self::PasswordChanged { .. } => "password_changed",
            Self::TwoFactorEnabled { .. } => "two_factor_enabled",
            Self::TwoFactorDisabled { .. } => "two_factor_disabled",
            Self::NewSignIn { .. } => "new_sign_in",
            Self::KeyCreated { .. } => "key_created",
            Self::KeyExpiring { .. } => "key_expiring",
            Self::KeyExpired { .. } => "key_expired",
            Self::KeyRevoked { .. } => "key_revoked",
            Self::KeyLeaked { .. } => "key_leaked",
            Self::WebhookDisabled { .. } => "webhook_disabled",
            Self::Invitation { .. } => "invitation",
        }
    }

    /// The key notice this is, which people may turn off; `None` for messages that always go.
    pub fn notice_kind(&self) -> Option<NoticeKind> {
        match self {
            Self::KeyCreated { .. } => Some(NoticeKind::KeyCreated),
            Self::KeyExpiring { .. } => Some(NoticeKind::KeyExpiring),
            Self::KeyExpired { .. } => Some(NoticeKind::KeyExpired),
            Self::KeyRevoked { .. } => Some(NoticeKind::KeyRevoked),
            _ => None,
        }
    }

    /// The single-use link this message carries, if any.
    pub fn link(&self) -> Option<CarriedLink<'_>> {
        match self {
            Self::VerifyEmail { link_id } | Self::PasswordReset { link_id } => Some(CarriedLink::Account(link_id)),
            Self::Invitation { invitation_id, .. } => Some(CarriedLink::Invitation(invitation_id)),
            _ => None,
        }
    }
}

/// A single-use link a message carries, by the row its secret is drawn for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CarriedLink<'a> {
    /// An `account_links` row: verifying an address, resetting a password.
    Account(&'a str),
    /// An `invitations` row.
    Invitation(&'a str),
}

/// A moment as messages show it.
pub fn format_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%-d %b %Y, %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_kinds_round_trip_through_storage() {
        for kind in NoticeKind::ALL {
            assert_eq!(NoticeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(NoticeKind::parse("password_changed"), None);
    }

    #[test]
    fn messages_round_trip_through_the_outbox_as_json() {
        let mail = Mail::KeyRevoked {
            key: KeyRef {
                organisation_id: "o".into(),
                organisation: "Acme".into(),
                key_id: "k".into(),
                key_name: "ci".into(),
            },
            by: "ann@example.com".into(),
        };
        let json = serde_json::to_string(&mail).expect("json");
        assert!(json.contains("\"kind\":\"key_revoked\""));
        assert_eq!(serde_json::from_str::<Mail>(&json).expect("parse"), mail);
    }
}
