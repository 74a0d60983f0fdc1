//! `/keys/:id`: a key's settings, roll and revoke.

use crate::api::ApiError;
use crate::api::auth::AccountView;
use crate::api::keys::{GRACE_CHOICES, KeyView, RevokeKey, RollKey, UpdateKey, get_key, scope_catalogue};
use crate::ui::components::form::{Field, FormAlert};
use crate::ui::components::guard::RequireAccount;
use crate::ui::components::keys::{ExpiryChoice, ScopeChoices, ShownOnce, StatusBadge};
use crate::ui::pages::NotFoundPage;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// The key detail page.
#[component]
pub fn KeyDetailPage() -> impl IntoView {
    view! {
        <Title text="Key"/>
        <RequireAccount page=key_page/>
    }
}

fn key_page(_account: AccountView) -> AnyView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let update = ServerAction::<UpdateKey>::new();
    let roll = ServerAction::<RollKey>::new();
    let revoke = ServerAction::<RevokeKey>::new();
    let key = Resource::new(
        move || (id(), update.version().get(), roll.version().get(), revoke.version().get()),
        |(id, ..)| get_key(id),
    );
    let scopes = Resource::new(|| (), |_| scope_catalogue());
    on_cleanup(move || roll.value().set(None));
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading key…"</p> }>
            {move || Suspend::new(async move {
                match (key.await, scopes.await) {
                    (Ok(key), Ok(catalogue)) => view! {
                        <KeyDetail key catalogue update roll revoke/>
                    }.into_any(),
                    (Err(ApiError::NotFound), _) => view! { <NotFoundPage/> }.into_any(),
                    (Err(err), _) | (_, Err(err)) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

#[component]
fn KeyDetail(
    key: KeyView,
    catalogue: Vec<crate::api::keys::ScopeView>,
    update: ServerAction<UpdateKey>,
    roll: ServerAction<RollKey>,
    revoke: ServerAction<RevokeKey>,
) -> impl IntoView {
    let update_result = Signal::derive(move || update.value().get().and_then(Result::err));
    let roll_result = Signal::derive(move || roll.value().get().and_then(Result::err));
    let revoke_result = Signal::derive(move || revoke.value().get().and_then(Result::err));
    let saved = move || matches!(update.value().get(), Some(Ok(_)));
    let rolled = move || roll.value().get().and_then(Result::ok);
    let confirming = RwSignal::new(false);
    let editable = matches!(
        key.status,
        crate::api::keys::KeyStatusView::Active
            | crate::api::keys::KeyStatusView::ExpiresSoon
            | crate::api::keys::KeyStatusView::Expired
    );
    let live = key.status.is_live() && !matches!(key.status, crate::api::keys::KeyStatusView::Rolled { .. });
    let revocable = !matches!(key.status, crate::api::keys::KeyStatusView::Revoked);
    let id = key.id.clone();
    view! {
        <div class="page-head">
            <p class="breadcrumb"><a href="/">"API keys"</a></p>
            <h1 class="key-title">{key.name.clone()} " " <StatusBadge status=key.status.clone()/></h1>
            <p class="lede"><code>{key.hint.clone()}</code> " · created " {key.created.clone()} " · last used " {key.last_used.clone()}</p>
        </div>
        {move || rolled().map(|shown| view! {
            <ShownOnce key=shown.plaintext/>
            <p><a class="button" href=format!("/keys/{}", shown.key.id)>"Open the new key"</a></p>
        })}
        {editable.then(|| {
            let id = id.clone();
            view! {
                <section class="card" aria-labelledby="settings-title">
                    <h2 id="settings-title">"Settings"</h2>
                    <ActionForm action=update attr:class="form" attr:novalidate=true>
                        <FormAlert result=update_result/>
                        <input type="hidden" name="id" value=id/>
                        <Field label="Name" name="name" maxlength=64 value=key.name.clone() result=update_result/>
                        <ScopeChoices scopes=catalogue checked=key.scopes.clone() result=update_result/>
                        <ExpiryChoice keep=key.expires.clone() result=update_result/>
                        <p class="actions">
                            <button type="submit" class="button button-primary">"Save changes"</button>
                            {move || saved().then(|| view! { <span class="saved" role="status">"Saved"</span> })}
                        </p>
                    </ActionForm>
                </section>
            }
        })}
        {live.then(|| {
            let id = key.id.clone();
            view! {
                <section class="card" aria-labelledby="roll-title">
                    <h2 id="roll-title">"Roll"</h2>
                    <p>"Replace this key with a new one that has the same settings. The old key keeps working for the grace period you choose, so callers can switch without downtime."</p>
                    <ActionForm action=roll attr:class="form form-inline">
                        <FormAlert result=roll_result/>
                        <input type="hidden" name="id" value=id/>
                        <div class="field">
                            <label for="field-grace">"Old key keeps working for"</label>
                            <select id="field-grace" name="grace">
                                {GRACE_CHOICES.iter().map(|(value, label)| view! { <option value=*value selected=*value == "24h">{*label}</option> }).collect_view()}
                            </select>
                        </div>
                        <button type="submit" class="button">"Roll key"</button>
                    </ActionForm>
                </section>
            }
        })}
        {revocable.then(|| {
            let id = key.id.clone();
            view! {
                <section class="card danger-zone" aria-labelledby="revoke-title">
                    <h2 id="revoke-title">"Revoke"</h2>
                    <p>"Revoking stops the key at once, everywhere. It cannot be undone."</p>
                    <FormAlert result=revoke_result/>
                    {move || if confirming.get() {
                        let id = id.clone();
                        view! {
                            <ActionForm action=revoke attr:class="confirm">
                                <input type="hidden" name="id" value=id/>
                                <span>"Revoke this key now?"</span>
                                <button type="submit" class="button button-danger">"Yes, revoke"</button>
                                <button type="button" class="button" on:click=move |_| confirming.set(false)>"Cancel"</button>
                            </ActionForm>
                        }.into_any()
                    } else {
                        view! {
                            <button type="button" class="button button-danger-outline" on:click=move |_| confirming.set(true)>"Revoke key"</button>
                        }.into_any()
                    }}
                </section>
            }
        })}
    }
}
