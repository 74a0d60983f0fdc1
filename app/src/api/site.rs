//! How the portal presents itself: the provider's product name, logo and links, and the ways in. Set by the
//! operator at start-up; the server puts it into the context, and the page carries it to the browser.

use serde::{Deserialize, Serialize};

/// The portal's brand and the sign-in methods on offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// The product's name: "Latchkey" unless the provider set theirs.
    pub product_name: String,
    /// Whether the provider set a brand of their own.
    pub branded: bool,
    /// The logo's address, when there is one.
    pub logo_url: Option<String>,
    /// The footer's Support link.
    pub support_url: Option<String>,
    /// The footer's Documentation link.
    pub docs_url: Option<String>,
    /// Whether password sign-up and sign-in are on.
    pub password_sign_in: bool,
    /// The OpenID Connect identity provider's name, when sign-in through one is configured.
    pub identity_provider: Option<String>,
    /// The provider's app, for a way back from a portal link that did not work.
    pub return_home: Option<String>,
}

impl Default for Site {
    fn default() -> Self {
        Self {
            product_name: "Latchkey".to_owned(),
            branded: false,
            logo_url: None,
            support_url: None,
            docs_url: None,
            password_sign_in: true,
            identity_provider: None,
            return_home: None,
        }
    }
}

/// Where the identity provider sign-in starts; a plain link, for the browser to leave the app.
pub const OIDC_START_PATH: &str = "/auth/oidc/start";

/// The site's settings: on the server from the context, in the browser from the page that carried them.
pub fn provide_site() -> Site {
    use leptos::prelude::*;
    let site = SharedValue::new(|| use_context::<Site>().unwrap_or_default()).into_inner();
    provide_context(site.clone());
    site
}

/// The site provided by [`provide_site`].
pub fn use_site() -> Site {
    leptos::prelude::use_context::<Site>().unwrap_or_default()
}
