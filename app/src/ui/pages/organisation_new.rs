//! `/organisations/new`: create another organisation, owned by the signed-in person.

use crate::api::organisations::CreateOrganisation;
use crate::ui::components::form::{Field, FormAlert, refusal};
use crate::ui::components::guard::RequireAccount;
use crate::ui::session::reload_on_success;
use leptos::prelude::*;
use leptos_meta::Title;

/// The page.
#[component]
pub fn NewOrganisationPage() -> impl IntoView {
    view! {
        <Title text="New organisation"/>
        <RequireAccount page=move |_| view! {
            <div class="page-head">
                <h1>"New organisation"</h1>
                <p class="lede">"An organisation holds API keys for a team or company. You will be its owner and can invite others."</p>
            </div>
            <section class="card narrow-card">
                <NewOrganisationForm/>
            </section>
        }.into_any()/>
    }
}

/// The form: a name; on success the new organisation's keys page.
#[island(lazy)]
pub fn NewOrganisationForm() -> impl IntoView {
    crate::ui::live::island_live();
    let action = ServerAction::<CreateOrganisation>::new();
    reload_on_success(move || action.value().get(), Clone::clone);
    let result = refusal(action.value());
    let pending = action.pending();
    view! {
        <ActionForm action attr:class="form" attr:novalidate=true>
            <FormAlert result/>
            <Field label="Name" name="name" maxlength=100 autocomplete="organization" hint="Your company's or team's name." result/>
            <button type="submit" class="button button-primary" disabled=pending>
                {move || if pending.get() { "Creating…" } else { "Create organisation" }}
            </button>
        </ActionForm>
    }
}
