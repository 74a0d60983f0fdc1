//! Records the client's address for throttling and the activity log.

use app::api::server_context::ClientIp;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;

/// Puts the peer address into the request's extensions as [`ClientIp`]. Behind a proxy this is the
/// proxy's address; trusting forwarded headers is a deliberate setting yet to come.
pub async fn record_client_ip(mut request: Request, next: Next) -> Response {
    let ip = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    request.extensions_mut().insert(ClientIp(ip));
    next.run(request).await
}
