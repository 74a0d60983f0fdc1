//! `/settings`: change the password, two-factor sign-in, sessions, email notices, the person's own recent
//! sign-ins, delete the account.

use super::settings_security::{NoticesSection, SecurityResources, SessionsSection, TwoFactorSection};
use crate::api::ApiError;
use crate::api::account::{ChangePassword, DeleteAccount, own_activity};
use crate::api::auth::AccountView;
use crate::api::keys::ActivityView;
use crate::ui::components::form::{Asked, Field, FormAlert, refusal};
use crate::ui::components::guard::RequireAccount;
use leptos::prelude::*;
use leptos_meta::Title;

/// The account settings page.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let log = Resource::new(|| (), |_| own_activity(None));
    let security = SecurityResources::load();
    let asked = Asked::read();
    view! {
        <Title text="Account settings"/>
        <RequireAccount page=move |account| settings_page(account, log, security, asked.clone())/>
    }
}

fn settings_page(
    account: AccountView,
    log: Resource<Result<ActivityView, ApiError>>,
    security: SecurityResources,
    asked: Asked,
) -> AnyView {
    // "Sign out all other sessions" ended this many.
    let ended = asked.count("ended");
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
        <section class="card" aria-labelledby="password-title" id="password" class:hidden=!has_password>
            <h2 id="password-title">"Change password"</h2>
            <p class="muted">"Every other browser signed in to this account is signed out."</p>
            <ChangePasswordForm changed=asked.did("password")/>
        </section>
        {has_password.then(|| view! { <TwoFactorSection resources=security/> })}
        <SessionsSection resources=security ended/>
        <NoticesSection resources=security saved=asked.did("notices")/>
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

/// The current and the new password. Not an island: the browser posts the form itself, and the server
/// sends it back here, with the refusal in the address or `?done=password`.
#[component]
fn ChangePasswordForm(
    /// The password was just changed.
    changed: bool,
) -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let result = refusal(change.value());
    let changed = changed && result.get_untracked().is_none();
    view! {
        <ActionForm action=change attr:class="form narrow-form" attr:novalidate=true>
            <FormAlert result/>
            <Field label="Current password" name="current_password" kind="password" autocomplete="current-password" maxlength=128 result/>
            <Field label="New password" name="new_password" kind="password" autocomplete="new-password" maxlength=128 hint="At least 8 characters; 12 or more is better." result/>
            <p class="actions">
                <button type="submit" class="button button-primary">"Change password"</button>
                {changed.then(|| view! { <span class="saved" role="status">"Password changed"</span> })}
            </p>
        </ActionForm>
    }
}

/// The password; the server then signs the person out and sends them to the sign-up page. Not an island.
#[component]
fn DeleteAccountForm() -> impl IntoView {
    let delete = ServerAction::<DeleteAccount>::new();
    let result = refusal(delete.value());
    view! {
        <ActionForm action=delete attr:class="form narrow-form" attr:novalidate=true>
            <FormAlert result/>
            <Field label="Password" name="password" kind="password" autocomplete="current-password" maxlength=128 result/>
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
