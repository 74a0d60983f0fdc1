//! `/sign-in`: the identity provider's button when one is configured, and the password form unless the
//! operator turned passwords off.

use crate::api::auth::{SignIn, encode_next};
use crate::api::site::{OIDC_START_PATH, use_site};
use crate::ui::components::form::{Field, FormAlert, refusal};
use crate::ui::components::guard::RedirectIfSignedIn;
use crate::ui::session::next_and_switch_link;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The sign-in page. `?next=/path` says where to go afterwards; `?error=` carries why a sign-in through the
/// identity provider did not work.
#[component]
pub fn SignInPage() -> impl IntoView {
    let site = use_site();
    let (next, sign_up_href) = next_and_switch_link("/sign-up");
    let problem = use_query_map().get_untracked().get("error").map(|code| identity_provider_problem(&code));
    let oidc_href = format!("{OIDC_START_PATH}?next={}", encode_next(&next));
    let product = site.product_name.clone();
    let has_identity_provider = site.identity_provider.is_some();

    view! {
        <Title text="Sign in"/>
        <RedirectIfSignedIn/>
        <section class="auth-card" aria-labelledby="sign-in-title">
            <h1 id="sign-in-title">{format!("Sign in to {product}")}</h1>
            <p class="lede">"Manage your API keys, their scopes and their usage."</p>
            {problem.map(|message| view! { <p class="form-alert" role="alert">{message}</p> })}
            {site.identity_provider.clone().map(|name| view! {
                <a class="button button-primary button-block sso-button" href=oidc_href rel="external">
                    {format!("Sign in with {name}")}
                </a>
            })}
            {(site.password_sign_in && has_identity_provider).then(|| view! {
                <p class="divider"><span>"or with your password"</span></p>
            })}
            {site.password_sign_in.then(|| view! {
                <SignInForm next=next.clone() primary=!has_identity_provider/>
                <p class="auth-switch">{format!("New to {product}? ")} <a href=sign_up_href.clone()>"Create an account"</a></p>
            })}
            {(!site.password_sign_in && !has_identity_provider).then(|| view! {
                <p class="lede">{format!("Open the API keys page from {} to sign in.", site.product_name)}</p>
            })}
        </section>
    }
}

/// Email and password; on success, `next`. Not an island: the page stays free of the browser bundle's
/// forms. The browser posts the form itself; the server answers a refusal by sending the visitor back here
/// with the error in the address, which the action reads when the page renders.
#[component]
fn SignInForm(next: String, primary: bool) -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let result = refusal(action.value());
    let pending = action.pending();
    view! {
        <ActionForm action attr:novalidate=true attr:class="form">
            <FormAlert result/>
            <input type="hidden" name="next" value=next/>
            <Field label="Email" name="email" kind="email" autocomplete="username" maxlength=254 result/>
            <Field label="Password" name="password" kind="password" autocomplete="current-password" maxlength=128 result/>
            <button type="submit" class="button button-block" class:button-primary=primary disabled=pending>
                {move || if pending.get() { "Signing in…" } else { "Sign in" }}
            </button>
            <p class="form-aside"><a href="/forgot-password">"Forgot password?"</a></p>
        </ActionForm>
    }
}

/// What a sign-in through the identity provider that came back to `/sign-in?error=…` ran into.
fn identity_provider_problem(code: &str) -> String {
    match code {
        "email_taken" => "An account with your email address already exists here, and your identity provider has not \
                          verified that the address is yours. Sign in with your password, or ask your identity \
                          provider to verify your address."
            .to_owned(),
        "no_email" => "Your identity provider did not tell us your email address; ask it to share it.".to_owned(),
        "denied" => "The sign-in was cancelled at your identity provider.".to_owned(),
        "unavailable" => "Your identity provider could not be reached. Try again in a minute.".to_owned(),
        _ => "That sign-in did not work or took too long. Please try again.".to_owned(),
    }
}
