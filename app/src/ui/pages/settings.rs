//! `/settings`: change the password, delete the account.

use crate::api::account::{ChangePassword, DeleteAccount};
use crate::api::auth::AccountView;
use crate::ui::components::form::{Field, FormAlert};
use crate::ui::components::guard::RequireAccount;
use crate::ui::session::reload_on_success;
use leptos::prelude::*;
use leptos_meta::Title;

/// The account settings page.
#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <Title text="Account settings"/>
        <RequireAccount page=settings_page/>
    }
}

fn settings_page(account: AccountView) -> AnyView {
    let change = ServerAction::<ChangePassword>::new();
    let change_value = change.value();
    let delete = ServerAction::<DeleteAccount>::new();
    let delete_value = delete.value();
    let change_result = Signal::derive(move || change_value.try_get().flatten().and_then(Result::err));
    let delete_result = Signal::derive(move || delete_value.try_get().flatten().and_then(Result::err));
    let changed = move || matches!(change_value.try_get().flatten(), Some(Ok(())));
    reload_on_success(move || delete_value.try_get().flatten(), |_| "/sign-up".to_owned());
    view! {
        <div class="page-head">
            <h1>"Account settings"</h1>
            <p class="lede">{account.email}</p>
        </div>
        <section class="card" aria-labelledby="password-title">
            <h2 id="password-title">"Change password"</h2>
            <p class="muted">"Every other browser signed in to this account is signed out."</p>
            <ActionForm action=change attr:class="form narrow-form" attr:novalidate=true>
                <FormAlert result=change_result/>
                <Field label="Current password" name="current_password" kind="password" autocomplete="current-password" maxlength=128 result=change_result/>
                <Field label="New password" name="new_password" kind="password" autocomplete="new-password" maxlength=128 hint="At least 8 characters; 12 or more is better." result=change_result/>
                <p class="actions">
                    <button type="submit" class="button button-primary">"Change password"</button>
                    {move || changed().then(|| view! { <span class="saved" role="status">"Password changed"</span> })}
                </p>
            </ActionForm>
        </section>
        <section class="card danger-zone" aria-labelledby="delete-title">
            <h2 id="delete-title">"Delete account"</h2>
            <p>"Every key of this account stops working at once, and the account and its activity log are removed. This cannot be undone."</p>
            <ActionForm action=delete attr:class="form narrow-form" attr:novalidate=true>
                <FormAlert result=delete_result/>
                <Field label="Password" name="password" kind="password" autocomplete="current-password" maxlength=128 result=delete_result/>
                <p class="actions"><button type="submit" class="button button-danger">"Delete account"</button></p>
            </ActionForm>
        </section>
    }
    .into_any()
}
