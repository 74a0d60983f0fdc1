//! `/invitations/:secret`: the page an invitation link opens. It says who invited whom to what, and lets the
//! invited person accept: signed in with the invited address, at once; signed out, after signing in or up
//! (the link comes back afterwards).

use crate::api::ApiError;
use crate::api::auth::encode_next;
use crate::api::organisations::{AcceptInvitation, InvitationOfferView, invitation};
use crate::ui::components::form::{FormAlert, refusal};
use crate::ui::session::reload_on_success;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// The invitation page.
#[component]
pub fn InvitationPage() -> impl IntoView {
    let params = use_params_map();
    let secret = move || params.read().get("secret").unwrap_or_default();
    let offer = Resource::new(secret, invitation);
    view! {
        <Title text="Invitation"/>
        <section class="auth-card" aria-labelledby="invitation-title">
            <Suspense fallback=|| view! { <p class="loading">"Loading invitation…"</p> }>
                {move || Suspend::new(async move {
                    match offer.await {
                        Ok(offer) => offer_view(offer, secret()).into_any(),
                        Err(ApiError::NotFound) => unusable("This invitation link is not valid. Check that it was copied whole, or ask for a new one.".to_owned()).into_any(),
                        Err(err) => unusable(err.to_string()).into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

fn unusable(message: String) -> impl IntoView {
    view! {
        <h1 id="invitation-title">"Invitation"</h1>
        <p class="alert alert-error" role="alert">{message}</p>
        <p><a class="button" href="/">"Go to your home page"</a></p>
    }
}

fn offer_view(offer: InvitationOfferView, secret: String) -> impl IntoView {
    let here = encode_next(&format!("/invitations/{secret}"));
    let what = view! {
        <h1 id="invitation-title">{format!("Join {}", offer.organisation)}</h1>
        <p class="lede">
            {offer.invited_by.clone()} " invited " <strong>{offer.email.clone()}</strong>
            " to manage API keys of " <strong>{offer.organisation.clone()}</strong> " as " <strong>{offer.role.clone()}</strong> "."
        </p>
    };
    let next = match (offer.signed_in, offer.for_you) {
        (true, true) => view! { <AcceptInvitationForm secret/> }.into_any(),
        (true, false) => view! {
            <p class="alert alert-error" role="alert">
                {format!("This invitation is for {}. Sign out, then sign in or sign up with that address to accept it.", offer.email)}
            </p>
        }
        .into_any(),
        (false, _) => view! {
            <p>"Sign in with " <strong>{offer.email.clone()}</strong> " to accept, or create an account with that address."</p>
            <p class="actions">
                <a class="button button-primary" href=format!("/sign-in?next={here}")>"Sign in"</a>
                <a class="button" href=format!("/sign-up?next={here}")>"Sign up"</a>
            </p>
        }
        .into_any(),
    };
    view! { {what} {next} }
}

/// "Accept invitation"; on success, the organisation.
#[island(lazy)]
fn AcceptInvitationForm(
    /// The invitation link's secret.
    secret: String,
) -> impl IntoView {
    crate::ui::live::island_live();
    let accept = ServerAction::<AcceptInvitation>::new();
    reload_on_success(move || accept.value().get(), Clone::clone);
    let value = accept.value();
    let result = refusal(value);
    view! {
        <ActionForm action=accept attr:class="form">
            <FormAlert result/>
            <input type="hidden" name="secret" value=secret/>
            <button type="submit" class="button button-primary button-block">"Accept invitation"</button>
        </ActionForm>
    }
}
