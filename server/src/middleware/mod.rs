//! Layers every request passes through.

pub mod client_ip;
pub mod origin;
pub mod security_headers;
