//! Pages only for signed-in visitors, and pages only for signed-out ones.

use crate::api::auth::{AccountView, encode_next};
use crate::ui::session::use_session;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

/// Renders `page` for the signed-in account; sends a signed-out visitor to sign-in, remembering where
/// they were going.
///
/// A page makes its resources before this, in its component, and `page` only reads them: a resource made
/// after an await gets its hydration id at a moment that differs between the server and the browser, and
/// then the browser reads another resource's data (an intermittent hydration panic).
#[component]
pub fn RequireAccount<P>(
    /// The page to render for the signed-in account.
    page: P,
) -> impl IntoView
where
    P: Fn(AccountView) -> AnyView + Clone + Send + Sync + 'static,
{
    let session = use_session();
    let location = use_location();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let here = format!("{}{}", location.pathname.get_untracked(), query_suffix(&location.search.get_untracked()));
                let page = page.clone();
                Suspend::new(async move {
                    match session.account.await {
                        // The operator requires two-factor sign-in: settings, where it is turned on, until it is.
                        Ok(Some(account)) if account.must_enrol_two_factor && !here.starts_with("/settings") => {
                            view! { <Redirect path="/settings#two-factor"/> }.into_any()
                        }
                        Ok(Some(account)) => page(account),
                        Ok(None) => view! { <Redirect path=format!("/sign-in?next={}", encode_next(&here))/> }.into_any(),
                        Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// Sends a signed-in visitor home (for the sign-in and sign-up pages).
#[component]
pub fn RedirectIfSignedIn() -> impl IntoView {
    let session = use_session();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                matches!(session.account.await, Ok(Some(_))).then(|| view! { <Redirect path="/"/> })
            })}
        </Suspense>
    }
}

fn query_suffix(search: &str) -> String {
    let search = search.trim_start_matches('?');
    if search.is_empty() { String::new() } else { format!("?{search}") }
}
