//! A request id for every request: kept from `X-Request-Id` when a proxy in front set one, else made here;
//! it goes into the request's log span and back in the response's `X-Request-Id`, so a customer's report
//! and the operator's logs meet.

use axum::http::{HeaderValue, Request};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tower_http::request_id::{MakeRequestId, RequestId};

/// Makes ids `{instance}-{sequence}`: a random tag per process and a counter, so ids are unique across
/// instances without a random draw (or a system call) per request.
#[derive(Debug, Clone)]
pub struct NextRequestId {
    instance: Arc<str>,
    sequence: Arc<AtomicU64>,
}

impl NextRequestId {
    /// A new sequence with a random instance tag (the process id, should the OS have no randomness).
    pub fn new() -> Self {
        let tag = app::domain::random::secret_bytes::<4>().map_or(std::process::id(), u32::from_be_bytes);
        Self { instance: Arc::from(format!("{tag:08x}")), sequence: Arc::new(AtomicU64::new(1)) }
    }
}

impl Default for NextRequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl MakeRequestId for NextRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.instance)).ok().map(RequestId::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_and_name_their_instance() {
        let mut ids = NextRequestId::new();
        let request = Request::new(());
        let first = ids.make_request_id(&request).expect("an id");
        let second = ids.make_request_id(&request).expect("an id");
        assert_ne!(first.header_value(), second.header_value());
        let other = NextRequestId::new().make_request_id(&request).expect("an id");
        let tag = |id: &RequestId| id.header_value().to_str().expect("ascii").split('-').next().map(str::to_owned);
        assert_eq!(tag(&first), tag(&second));
        assert_ne!(tag(&first), tag(&other), "two instances tag their ids apart (a 1 in 2^32 chance aside)");
    }
}
