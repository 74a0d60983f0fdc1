//! Pages inside one organisation (`/o/:org/…`): which organisation the address names, the guard that
//! renders a page for its members only, and the notice a disabled organisation shows.

use crate::api::ApiError;
use crate::api::auth::AccountView;
use crate::api::organisations::{OrganisationView, organisation};
use crate::ui::components::guard::RequireAccount;
use crate::ui::pages::NotFoundPage;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// The organisation id in the page's address (`/o/:org/…`).
pub fn use_org() -> Memo<String> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("org").unwrap_or_default())
}

/// `path` inside organisation `org`: `org_path("o1", "keys/new")` is `/o/o1/keys/new`.
pub fn org_path(org: &str, path: &str) -> String {
    format!("/o/{org}/{path}")
}

/// Renders `page` for a member of the organisation in the address: a signed-out visitor goes to sign-in, and
/// anyone who is not a member sees the same "not found" as for an organisation that does not exist.
#[component]
pub fn RequireMember<P>(
    /// The page, given the signed-in account and the organisation as they see it.
    page: P,
) -> impl IntoView
where
    P: Fn(AccountView, OrganisationView) -> AnyView + Clone + Send + Sync + 'static,
{
    let org = use_org();
    let loaded = Resource::new(move || org.get(), organisation);
    view! {
        <RequireAccount page=move |account| {
            let page = page.clone();
            view! {
                <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || {
                        let (page, account) = (page.clone(), account.clone());
                        Suspend::new(async move {
                            match loaded.await {
                                Ok(org) => view! {
                                    {org.disabled.then(|| view! { <DisabledNotice/> })}
                                    {page(account, org)}
                                }.into_any(),
                                Err(ApiError::NotFound) => view! { <NotFoundPage/> }.into_any(),
                                Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                            }
                        })
                    }}
                </Suspense>
            }.into_any()
        }/>
    }
}

/// What members of a disabled organisation see on every page of it.
#[component]
pub fn DisabledNotice() -> impl IntoView {
    view! {
        <div class="alert alert-warning" role="status" data-testid="disabled-notice">
            <strong>"This organisation is disabled."</strong>
            " The API provider has disabled it: its keys answer DISABLED and cannot be created or changed until it is enabled again. Contact the provider's support."
        </div>
    }
}
