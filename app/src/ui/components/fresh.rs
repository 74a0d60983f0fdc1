//! Data an island was rendered with on the server, fetched again in the browser after the island's own
//! actions change it. Islands cannot share the page's resources, which stay on the server.

use crate::api::ApiError;
use leptos::prelude::*;
use std::future::Future;

/// Starts as `initial`; whenever `changed` (usually the sum of some actions' versions) moves, calls `fetch`
/// and shows its answer. A failed fetch keeps what is shown: the action that prompted it reports its own
/// outcome.
pub fn kept_fresh<T, C, F, Fut>(initial: T, changed: C, fetch: F) -> ReadSignal<T>
where
    T: Send + Sync + 'static,
    C: Fn() -> usize + 'static,
    F: Fn() -> Fut + 'static,
    Fut: Future<Output = Result<T, ApiError>> + 'static,
{
    let (data, set_data) = signal(initial);
    // Effects run only in the browser: the server renders `initial`.
    Effect::new(move |seen: Option<usize>| {
        let now = changed();
        if seen.is_some_and(|seen| seen != now) {
            let fresh = fetch();
            leptos::task::spawn_local(async move {
                if let Ok(fresh) = fresh.await {
                    set_data.try_set(fresh);
                }
            });
        }
        now
    });
    data
}
