//! Counts every answer by route pattern and status for the operator's metrics.

use crate::metrics::Metrics;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

/// Counts the answer to `request` under the route it matched, or `unmatched`.
pub async fn count_answers(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let response = next.run(request).await;
    metrics.answered(route.as_ref().map_or("unmatched", MatchedPath::as_str), response.status());
    response
}
