//! Layers every request passes through.

pub mod client_ip;
pub mod origin;
pub mod request_id;
pub mod request_metrics;
pub mod security_headers;
