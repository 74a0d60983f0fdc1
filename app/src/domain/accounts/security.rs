//! How password accounts are protected, as the operator set it.

use crate::domain::sealing::Sealer;

/// The operator's account-security settings.
#[derive(Debug, Clone)]
pub struct AccountSecurity {
    /// Password accounts must turn on two-factor sign-in before they do anything else
    /// (`LATCHKEY_REQUIRE_TWO_FACTOR`). Accounts from the provider's app or identity provider are exempt.
    pub require_two_factor: bool,
    /// Password accounts whose address is not verified may create keys (`LATCHKEY_UNVERIFIED_MAY_CREATE_KEYS`).
    pub unverified_may_create_keys: bool,
    /// Seals TOTP secrets (`LATCHKEY_ENCRYPTION_KEY`).
    pub sealer: Sealer,
    /// Browsers reach the portal over https: cookies are Secure and `__Host-` prefixed.
    pub secure_cookies: bool,
}

impl Default for AccountSecurity {
    fn default() -> Self {
        Self {
            require_two_factor: false,
            unverified_may_create_keys: true,
            sealer: Sealer::default(),
            secure_cookies: false,
        }
    }
}

impl AccountSecurity {
    /// Whether `account` must turn on two-factor sign-in before anything else.
    pub fn must_enrol(&self, account: &super::Account) -> bool {
        self.require_two_factor && account.has_password && !account.two_factor
    }

    /// Whether `account` may create keys, as far as its address goes.
    pub fn may_create_keys(&self, account: &super::Account) -> bool {
        self.unverified_may_create_keys || !account.has_password || account.email_verified
    }
}
