//! `/settings`: change the password, two-factor sign-in, sessions, email notices, the person's own recent
//! sign-ins, delete the account.

use super::settings_security::{NoticesSection, SecurityResources, SessionsSection, TwoFactorSection};
use crate::api::ApiError;
use crate::api::account::{ChangePassword, DeleteAccount, own_activity};
use crate::api::auth::AccountView;
use crate::api::keys::ActivityView;
use crate::ui::components::form::{Field, FormAlert};
use crate::ui::components::guard::RequireAccount;
use crate::ui::session::reload_on_success;
use leptos::prelude::*;
use leptos_meta::Title;

/// The account settings page.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let log = Resource::new(|| (), |_| own_activity(None));
    let security = SecurityResources::load();
    view! {
        <Title text="Account settings"/>
        <RequireAccount page=move |account| settings_page(account, log, security)/>
    }
}

fn settings_page(
    account: AccountView,
    log: Resource<Result<ActivityView, ApiError>>,
    security: SecurityResources,
) -> AnyView {
    let has_password = account.has_password;
    let product = crate::api::site::use_site().product_name;
    view! {
        <div class="page-head">
            <h1>"Account settings"</h1>
            <p class="lede">{account.email}</p>
        </div>
        {(!has_password).then(|| view! {
            <section class="card" aria-labelledby="sign-in-method-title">
                <h2 id="sign-in-method-title">"How you sign in"</h2>
                <p class="muted">{format!("Your account has no password here: you sign in through {product}, which keeps your name, email address and role up to date. To leave, ask an administrator there.")}</p>
            </section>
        })}
        <section class="card" aria-labelledby="password-title" class:hidden=!has_password>
            <h2 id="password-title">"Change password"</h2>
            <p class="muted">"Every other browser signed in to this account is signed out."</p>
            <ChangePasswordForm/>
        </section>
        {has_password.then(|| view! { <TwoFactorSection resources=security/> })}
        <SessionsSection resources=security/>
        <NoticesSection resources=security/>
        <section class="card" aria-labelledby="sign-ins-title">
            <h2 id="sign-ins-title">"Recent sign-ins"</h2>
            <p class="muted">"Your own log: sign-ins, failed sign-ins, sign-outs, password and two-factor changes, newest first. Key changes are in each organisation's activity."</p>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match log.await {
                        Ok(log) => own_log(log).into_any(),
                        Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        <section class="card danger-zone" aria-labelledby="delete-title" class:hidden=!has_password>
            <h2 id="delete-title">"Delete account"</h2>
            <p>"The organisations only you belong to are deleted with it: their keys stop working at once. Organisations with other members keep their keys; if you are the only owner of one, make someone else an owner first. This cannot be undone."</p>
            <DeleteAccountForm/>
        </section>
    }
    .into_any()
}

/// The current and the new password.
#[island(lazy)]
fn ChangePasswordForm() -> impl IntoView {
    crate::ui::live::island_live();
    let change = ServerAction::<ChangePassword>::new();
    let change_value = change.value();
    let change_result = Signal::derive(move || change_value.try_get().flatten().and_then(Result::err));
    let changed = move || matches!(change_value.try_get().flatten(), Some(Ok(())));
    view! {
        <ActionForm action=change attr:class="form narrow-form" attr:novalidate=true>
            <FormAlert result=change_result/>
            <Field label="Current password" name="current_password" kind="password" autocomplete="current-password" maxlength=128 result=change_result/>
            <Field label="New password" name="new_password" kind="password" autocomplete="new-password" maxlength=128 hint="At least 8 characters; 12 or more is better." result=change_result/>
            <p class="actions">
                <button type="submit" class="button button-primary">"Change password"</button>
                {move || changed().then(|| view! { <span class="saved" role="status">"Password changed"</span> })}
            </p>
        </ActionForm>
    }
}

/// The password, then the sign-up page.
#[island(lazy)]
fn DeleteAccountForm() -> impl IntoView {
    crate::ui::live::island_live();
    let delete = ServerAction::<DeleteAccount>::new();
    let delete_value = delete.value();
    let delete_result = Signal::derive(move || delete_value.try_get().flatten().and_then(Result::err));
    reload_on_success(move || delete_value.try_get().flatten(), |_| "/sign-up".to_owned());
    view! {
        <ActionForm action=delete attr:class="form narrow-form" attr:novalidate=true>
            <FormAlert result=delete_result/>
            <Field label="Password" name="password" kind="password" autocomplete="current-password" maxlength=128 result=delete_result/>
            <p class="actions"><button type="submit" class="button button-danger">"Delete account"</button></p>
        </ActionForm>
    }
}

fn own_log(log: ActivityView) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="activity">
                <thead><tr><th scope="col">"When"</th><th scope="col">"What"</th><th scope="col">"From"</th></tr></thead>
                <tbody>
                    {log.events.into_iter().map(|event| view! {
                        <tr>
                            <td data-label="When">{event.when}</td>
                            <td data-label="What">{event.what}</td>
                            <td data-label="From">
                                {event.client_ip.unwrap_or_else(|| "unknown".into())}
                                {event.user_agent.map(|agent| view! { <span class="detail">{agent}</span> })}
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
