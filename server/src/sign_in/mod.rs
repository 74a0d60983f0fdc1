//! Ways into the portal besides its own passwords (those are server functions in `app::api::auth`): a
//! portal link from the provider's app, and the provider's OpenID Connect identity provider.

pub mod oidc;
pub mod portal_link;

use app::api::server_context::ClientIp;
use app::domain::activity::Client;
use axum::Extension;
use axum::http::{HeaderMap, header};

/// Where a request came from, as the activity log records it.
pub fn client_of(ip: Option<Extension<ClientIp>>, headers: &HeaderMap) -> Client {
    let ip = ip.and_then(|Extension(ip)| ip.0);
    let user_agent = headers.get(header::USER_AGENT).and_then(|agent| agent.to_str().ok()).map(str::to_owned);
    Client { ip, user_agent }
}
