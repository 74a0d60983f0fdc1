//! `/`: sends a signed-in person to the keys of their first organisation, or offers to create one when
//! they belong to none (say, after being removed from their only one). Also answers the addresses the
//! portal had before organisations (`/keys/…`, `/usage`, `/activity`), so old links and bookmarks land on
//! the same page of the person's first organisation.

use crate::api::ApiError;
use crate::api::organisations::{OrganisationView, my_organisations};
use crate::ui::components::guard::RequireAccount;
use crate::ui::components::org::org_path;
use crate::ui::pages::organisation_new::NewOrganisationForm;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

/// The home page.
#[component]
pub fn HomePage() -> impl IntoView {
    let mine = Resource::new(|| (), |_| my_organisations());
    view! {
        <Title text="API keys"/>
        <RequireAccount page=move |_| to_first_organisation(mine, "keys".to_owned())/>
    }
}

/// A pre-organisations address: the same page in the person's first organisation.
#[component]
pub fn LegacyRedirect() -> impl IntoView {
    let mine = Resource::new(|| (), |_| my_organisations());
    let location = use_location();
    let path = location.pathname.get_untracked();
    let search = location.search.get_untracked();
    let search = search.trim_start_matches('?');
    let mut rest = path.trim_start_matches('/').to_owned();
    if !search.is_empty() {
        rest = format!("{rest}?{search}");
    }
    view! {
        <RequireAccount page=move |_| to_first_organisation(mine, rest.clone())/>
    }
}

fn to_first_organisation(mine: Resource<Result<Vec<OrganisationView>, ApiError>>, rest: String) -> AnyView {
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let rest = rest.clone();
                Suspend::new(async move {
                    match mine.await {
                        Ok(list) => match list.first() {
                            Some(first) => view! { <Redirect path=org_path(&first.id, &rest)/> }.into_any(),
                            None => no_organisation().into_any(),
                        },
                        Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}

fn no_organisation() -> impl IntoView {
    view! {
        <section class="card narrow">
            <h1>"You are not in an organisation"</h1>
            <p>"Keys belong to organisations. Create one for your team, or ask a colleague to invite you to theirs."</p>
            <NewOrganisationForm/>
        </section>
    }
}
