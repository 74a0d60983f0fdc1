//! Server functions and the wire types they exchange with the browser. Each server function is thin:
//! read the request, call the domain, map the answer.

pub mod account;
pub mod auth;
pub mod error;
pub mod keys;
pub mod operator;
pub mod organisations;
pub mod outcome;
pub mod recovery;
pub mod security;
#[cfg(feature = "ssr")]
pub mod server_context;
pub mod service_tokens;
pub mod site;
pub mod usage;
pub mod webhooks;

pub use error::ApiError;
