//! The signed-in account, loaded once per page load and shared by the header and the pages.

use crate::api::ApiError;
use crate::api::auth::{AccountView, current_account, encode_next, safe_next_path};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The current session as the UI sees it.
#[derive(Clone, Copy)]
pub struct SessionState {
    /// The signed-in account, or `None` when signed out.
    pub account: Resource<Result<Option<AccountView>, ApiError>>,
}

/// Loads the session and shares it with every component below.
pub fn provide_session() {
    let account = Resource::new(|| (), |_| current_account());
    provide_context(SessionState { account });
}

/// The session provided by [`provide_session`].
pub fn use_session() -> SessionState {
    expect_context::<SessionState>()
}

/// When an island's action succeeds, loads `target(value)` as a whole new page, so that everything on it is
/// rendered anew by the server (a new session after sign-up, an organisation joined, left or switched).
pub fn reload_on_success<T, V, F>(value: V, target: F)
where
    T: 'static,
    V: Fn() -> Option<Result<T, ApiError>> + 'static,
    F: Fn(&T) -> String + 'static,
{
    Effect::new(move |_| {
        if let Some(Ok(done)) = value() {
            let _ = window().location().set_href(&target(&done));
        }
    });
}

/// Where this sign-in or sign-up page sends the visitor afterwards (its `?next=`), and a link to `other`
/// (the sign-up page from sign-in, and back) that keeps that destination.
pub fn next_and_switch_link(other: &str) -> (String, String) {
    let next = safe_next_path(use_query_map().get_untracked().get("next").as_deref());
    let link = if next == "/" { other.to_owned() } else { format!("{other}?next={}", encode_next(&next)) };
    (next, link)
}
