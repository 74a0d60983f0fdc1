//! `/portal/unusable`: where a portal link from the provider's app lands when it cannot sign anyone in.

use crate::api::site::use_site;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Says why the link did not work (`?reason=used|expired|email_taken`, anything else: not a link) and leads
/// back to the provider's app, where a fresh link is one click away.
#[component]
pub fn PortalLinkUnusablePage() -> impl IntoView {
    let site = use_site();
    let reason = use_query_map().get_untracked().get("reason").unwrap_or_default();
    let app = if site.product_named { site.product_name.clone() } else { "the app you came from".to_owned() };
    let (title, explanation) = match reason.as_str() {
        "used" => {
            ("This link has already been used", "Each sign-in link works once, so that a copy of it is worthless.")
        }
        "expired" => ("This link has expired", "Sign-in links work for a few minutes only."),
        "email_taken" => (
            "This link cannot sign you in",
            "Another account here already uses your email address. Ask your administrator to sort it out.",
        ),
        _ => (
            "This link does not work",
            "It may be incomplete: open the page again from the app rather than a copied address.",
        ),
    };
    let back = site.return_home.clone();
    view! {
        <Title text=title/>
        <section class="auth-card" aria-labelledby="portal-link-title" data-testid="portal-link-unusable">
            <h1 id="portal-link-title">{title}</h1>
            <p class="lede">{explanation}</p>
            <p>{format!("Go back to {app} and open “Manage API keys” again for a fresh link.")}</p>
            {match back {
                Some(href) => view! {
                    <a class="button button-primary button-block" href=href.clone() rel="external">{site.back_to(&href)}</a>
                }.into_any(),
                None => view! { <a class="button button-block" href="/sign-in">"Sign in"</a> }.into_any(),
            }}
        </section>
    }
}
