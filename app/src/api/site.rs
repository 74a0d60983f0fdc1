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
    /// Whether the provider set their product's name (`LATCHKEY_PRODUCT_NAME`).
    pub product_named: bool,
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
            product_named: false,
            logo_url: None,
            support_url: None,
            docs_url: None,
            password_sign_in: true,
            identity_provider: None,
            return_home: None,
        }
    }
}

impl Site {
    /// What a way back to the provider's app at `href` says: the product's name when the provider set one,
    /// else the app's host (a person from the provider's app knows it by that, not as "Latchkey").
    pub fn back_to(&self, href: &str) -> String {
        if self.product_named {
            return format!("Back to {}", self.product_name);
        }
        let host = href.split_once("://").map_or(href, |(_, rest)| rest);
        let host = host.split(['/', '?', '#']).next().unwrap_or_default();
        let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
        if host.is_empty() { format!("Back to {}", self.product_name) } else { format!("Back to {host}") }
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

#[cfg(test)]
mod tests {
    use super::Site;

    #[test]
    fn the_way_back_names_the_product_or_else_the_apps_host() {
        let named = Site { product_name: "Acme Cloud".into(), product_named: true, ..Site::default() };
        assert_eq!(named.back_to("https://app.acme.example/settings"), "Back to Acme Cloud");
        let unnamed = Site::default();
        assert_eq!(unnamed.back_to("https://app.acme.example:8443/settings?tab=keys"), "Back to app.acme.example:8443");
        assert_eq!(unnamed.back_to("http://127.0.0.1:4000"), "Back to 127.0.0.1:4000");
        assert_eq!(unnamed.back_to(""), "Back to Latchkey");
    }
}
