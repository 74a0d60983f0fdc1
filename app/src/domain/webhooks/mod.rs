//! Webhooks: events about keys, organisations and members, signed as [Standard Webhooks] and delivered at
//! least once to the endpoints that asked for them.
//!
//! - [`events`]: what happened, written in the same transaction as the change, with one delivery row per
//!   endpoint that receives it;
//! - [`endpoints`]: where events go (an organisation's own endpoints, and the operator's for every
//!   organisation), each with a signing secret that rotates with an overlap;
//! - [`deliveries`]: the claimed-row queue, its retry schedule and the delivery log;
//! - [`target`]: which URLs customers may give (no loopback, private, link-local or metadata addresses);
//! - [`signing`]: secrets and signatures;
//! - [`sender`]: the HTTP side.
//!
//! [Standard Webhooks]: https://www.standardwebhooks.com/

pub mod deliveries;
pub mod endpoints;
pub mod events;
pub mod sender;
pub mod signing;
pub mod target;

pub use endpoints::{Endpoint, EndpointError, NewEndpoint, Owner};
pub use events::EventType;
pub use sender::WebhookSender;
pub use signing::SigningSecret;
pub use target::TargetPolicy;
