//! `/sign-up`. Reached from an invitation link (`?next=/invitations/…`), it says what the person is joining,
//! fills in the invited address and asks for no organisation: the account joins the invitation's.

use crate::api::auth::SignUp;
use crate::api::organisations::{InvitationOfferView, invitation};
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

    let secret = next.strip_prefix("/invitations/").map(str::to_owned);
    let offer = Resource::new(
        move || secret.clone(),
        |secret| async move {
            match secret {
                Some(secret) => invitation(secret).await.ok(),
                None => None,
            }
        },
    );
    view! {
        <Title text="Create an account"/>
        <RedirectIfSignedIn/>
        <section class="auth-card" aria-labelledby="sign-up-title">
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    let (next, sign_in_href) = (next.clone(), sign_in_href.clone());
                    Suspend::new(async move {
                        let offer = offer.await;
                        view! {
                            {heading(offer.as_ref())}
                            <SignUpForm next email=offer.as_ref().map(|offer| offer.email.clone()) joining=offer.is_some()/>
                            <p class="auth-switch">"Already have an account? " <a href=sign_in_href>"Sign in"</a></p>
                        }
                    })
                }}
            </Suspense>
        </section>
    }
    .into_any()
}

/// What signing up does: join the organisation that invited them, or start one.
fn heading(offer: Option<&InvitationOfferView>) -> impl IntoView + use<> {
    match offer {
        Some(offer) => view! {
            <h1 id="sign-up-title">{format!("Join {}", offer.organisation)}</h1>
            <p class="lede">
                {offer.invited_by.clone()} " invited " <strong>{offer.email.clone()}</strong> " as "
                <strong>{offer.role.clone()}</strong> ". Create your account with that address to accept."
            </p>
        }
        .into_any(),
        None => view! {
            <h1 id="sign-up-title">"Create your account"</h1>
            <p class="lede">"Issue, roll and revoke API keys yourself."</p>
        }
        .into_any(),
    }
}

/// Email, password and (unless joining an organisation that invited them) an organisation; on success,
/// where the server says.
#[island(lazy)]
fn SignUpForm(
    /// Where to go afterwards.
    next: String,
    /// The invited address, filled in.
    email: Option<String>,
    /// Signing up through an invitation: the account joins its organisation, so none is asked for.
    joining: bool,
) -> impl IntoView {
    crate::ui::live::island_live();
    let action = ServerAction::<SignUp>::new();
    reload_on_success(move || action.value().get(), Clone::clone);
    let result = refusal(action.value());
    let pending = action.pending();
    view! {
        <ActionForm action attr:novalidate=true attr:class="form">
            <FormAlert result/>
            <input type="hidden" name="next" value=next/>
            <Field label="Email" name="email" kind="email" autocomplete="email" maxlength=254 validate=check_email value=email.unwrap_or_default() result/>
            <Field
                label="Password"
                name="password"
                kind="password"
                autocomplete="new-password"
                hint="At least 8 characters; 12 or more is better. A passphrase of a few words works well."
                validate=check_password
                result
            />
            {(!joining).then(|| view! {
                <Field
                    label="Organisation (optional)"
                    name="organisation"
                    autocomplete="organization"
                    maxlength=100
                    hint="Your company or team. Keys belong to it, and you can invite colleagues. Leave empty to use your email address; you can rename it later."
                    result
                />
            })}
            <button type="submit" class="button button-primary button-block" disabled=pending>
                {move || match (pending.get(), joining) {
                    (true, _) => "Creating account…",
                    (false, true) => "Sign up and join",
                    (false, false) => "Sign up",
                }}
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
