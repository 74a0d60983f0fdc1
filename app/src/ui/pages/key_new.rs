//! `/o/:org/keys/new`: create a key, then see it once.

use crate::api::ApiError;
use crate::api::keys::{CreateKey, ScopeView, scope_catalogue};
use crate::api::organisations::OrganisationView;
use crate::ui::components::form::{Field, FormAlert, refusal};
use crate::ui::components::keys::{ExpiryChoice, ScopeChoices, ShownOnce};
use crate::ui::components::org::{RequireMember, org_path};
use leptos::prelude::*;
use leptos_meta::Title;

/// The create-key page.
#[component]
pub fn NewKeyPage() -> impl IntoView {
    let scopes = Resource::new(|| (), |_| scope_catalogue());
    view! {
        <Title text="Create key"/>
        <RequireMember page=move |_, org| new_key_page(org, scopes)/>
    }
}

fn new_key_page(org: OrganisationView, scopes: Resource<Result<Vec<ScopeView>, ApiError>>) -> AnyView {
    let keys = org_path(&org.id, "keys");
    if !org.can.create_keys {
        return view! {
            <div class="page-head">
                <p class="breadcrumb"><a href=keys>"API keys"</a></p>
                <h1>"Create key"</h1>
            </div>
            <p class="alert alert-error" role="alert">
                {if org.disabled { "This organisation is disabled; keys cannot be created." } else { "Your role (viewer) cannot create keys. Ask an admin or owner." }}
            </p>
        }
        .into_any();
    }
    let product = crate::api::site::use_site().product_name;
    view! {
        <div class="page-head">
            <p class="breadcrumb"><a href=keys>"API keys"</a></p>
            <h1>"Create key"</h1>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || { let (org, product) = (org.id.clone(), product.clone()); Suspend::new(async move {
                match scopes.await {
                    // The scope and expiry fields are rendered here, on the server, and stay as they are in
                    // the browser: the island's code is only the form's own.
                    Ok(catalogue) => view! {
                        <NewKeyForm org product>
                            <ScopeChoices scopes=catalogue result=Signal::stored(None)/>
                            <ExpiryChoice result=Signal::stored(None)/>
                        </NewKeyForm>
                    }.into_any(),
                    Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}}
        </Suspense>
    }
    .into_any()
}

/// The form around the scope and expiry fields (`children`, rendered by the server); once the key is
/// created, the key shown once in its place.
#[island(lazy)]
fn NewKeyForm(org: String, product: String, children: Children) -> impl IntoView {
    crate::ui::live::island_live();
    let keys = org_path(&org, "keys");
    let org_for_form = org.clone();
    let action = ServerAction::<CreateKey>::new();
    let action_value = action.value();
    let result = refusal(action_value);
    let created = move || action_value.try_get().flatten().and_then(Result::ok);
    // What is wrong with the server-rendered fields, which cannot show it themselves.
    let fields_error = move || {
        result
            .get()
            .and_then(|err| ["scopes", "expires_at", "custom_date"].into_iter().find_map(|f| err.message_for(f)))
    };
    // The key lives only in this page's memory: leaving the page forgets it.
    // Reached through the signal, not the action: when the page goes away the action may be disposed first,
    // and then its value (and the secret in it) is already gone.
    let shown_value = action.value();
    on_cleanup(move || {
        // Untracked: a notification now would run the page's effects while it is being disposed.
        shown_value.try_update_untracked(|shown| *shown = None);
    });
    let pending = action.pending();
    let fields = children();
    view! {
        {move || created().map(|shown| {
            let (keys, settings) = (keys.clone(), org_path(&org, &format!("keys/{}", shown.key.id)));
            view! {
                <ShownOnce key=shown.plaintext product=product.clone()/>
                <section class="card">
                    <dl class="details">
                        <div><dt>"Name"</dt><dd>{shown.key.name.clone()}</dd></div>
                        <div><dt>"Scopes"</dt><dd>{shown.key.scopes.join(", ")}</dd></div>
                        <div><dt>"Expires"</dt><dd>{shown.key.expires.clone()}</dd></div>
                    </dl>
                    <p class="actions">
                        <a class="button button-primary" href=keys>"Done"</a>
                        <a class="button" href=settings>"Key settings"</a>
                    </p>
                </section>
            }
        })}
        <div class:hidden=move || created().is_some()>
            <ActionForm action attr:class="card form" attr:novalidate=true>
                <FormAlert result/>
                <input type="hidden" name="org" value=org_for_form/>
                <Field label="Name" name="name" maxlength=64 hint="Where the key is used, e.g. \"Billing service (production)\"." result/>
                {fields}
                <p class="field-error form-fields-error" aria-live="polite">{fields_error}</p>
                <button type="submit" class="button button-primary" disabled=pending>
                    {move || if pending.get() { "Creating…" } else { "Create key" }}
                </button>
            </ActionForm>
        </div>
    }
}
