//! `/sign-up`.

use crate::api::auth::SignUp;
use crate::api::site::use_site;
use crate::ui::components::form::{Field, FormAlert, refusal};
use crate::ui::components::guard::RedirectIfSignedIn;
use crate::ui::session::{next_and_switch_link, reload_on_success};
use leptos::prelude::*;
use leptos_meta::Title;

/// The sign-up form.
#[component]
pub fn SignUpPage() -> impl IntoView {
    let (next, sign_in_href) = next_and_switch_link("/sign-in");
    let site = use_site();
    if !site.password_sign_in {
        let way =
            site.identity_provider.map_or_else(|| format!("from {}", site.product_name), |name| format!("with {name}"));
        return view! {
            <Title text="Create an account"/>
            <RedirectIfSignedIn/>
            <section class="auth-card" aria-labelledby="sign-up-title">
                <h1 id="sign-up-title">"Accounts come from your sign-in"</h1>
                <p class="lede">{format!("There are no passwords here: sign in {way}, and your account is made the first time.")}</p>
                <a class="button button-primary button-block" href="/sign-in">"Sign in"</a>
            </section>
        }
        .into_any();
    }

    view! {
        <Title text="Create an account"/>
        <RedirectIfSignedIn/>
        <section class="auth-card" aria-labelledby="sign-up-title">
            <h1 id="sign-up-title">"Create your account"</h1>
            <p class="lede">"Issue, roll and revoke API keys yourself."</p>
            <SignUpForm next/>
            <p class="auth-switch">"Already have an account? " <a href=sign_in_href>"Sign in"</a></p>
        </section>
    }
    .into_any()
}

/// Email, password and organisation; on success, `next`.
#[island(lazy)]
fn SignUpForm(next: String) -> impl IntoView {
    crate::ui::live::island_live();
    let action = ServerAction::<SignUp>::new();
    reload_on_success(move || action.value().get(), Clone::clone);
    let result = refusal(action.value());
    let pending = action.pending();
    view! {
        <ActionForm action attr:novalidate=true attr:class="form">
            <FormAlert result/>
            <input type="hidden" name="next" value=next/>
            <Field label="Email" name="email" kind="email" autocomplete="email" maxlength=254 validate=check_email result/>
            <Field
                label="Password"
                name="password"
                kind="password"
                autocomplete="new-password"
                hint="At least 8 characters; 12 or more is better. A passphrase of a few words works well."
                validate=check_password
                result
            />
            <Field
                label="Organisation (optional)"
                name="organisation"
                autocomplete="organization"
                maxlength=100
                hint="Your company or team. Keys belong to it, and you can invite colleagues. Leave empty to use your email address; you can rename it later."
                result
            />
            <button type="submit" class="button button-primary button-block" disabled=pending>
                {move || if pending.get() { "Creating account…" } else { "Sign up" }}
            </button>
        </ActionForm>
    }
}

/// A first look in the browser; the server has the last word.
fn check_email(value: &str) -> Option<String> {
    let value = value.trim();
    let plausible = value.rsplit_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    (!plausible).then(|| "Enter an email address like name@example.com.".to_owned())
}

fn check_password(value: &str) -> Option<String> {
    match value.chars().count() {
        0..8 => Some("Use at least 8 characters; 12 or more is better.".to_owned()),
        129.. => Some("Use at most 128 characters.".to_owned()),
        _ => None,
    }
}
