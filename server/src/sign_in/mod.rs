//! Ways into the portal besides its own passwords (those are server functions in `app::api::auth`): a
//! portal link from the provider's app, and the provider's OpenID Connect identity provider.

pub mod oidc;
pub mod portal_link;
