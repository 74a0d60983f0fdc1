//! `/verify-email/:secret`: the link from the verification message.

use crate::api::recovery::verify_email;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// Verifies the address as the page loads and says how it went.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let secret = use_params_map().get_untracked().get("secret").unwrap_or_default();
    let outcome = Resource::new(move || secret.clone(), verify_email);
    view! {
        <Title text="Verify your email address"/>
        <section class="auth-card" aria-labelledby="verify-title">
            <h1 id="verify-title">"Verify your email address"</h1>
            <Suspense fallback=|| view! { <p class="loading">"Verifying…"</p> }>
                {move || Suspend::new(async move {
                    match outcome.await {
                        Ok(()) => view! {
                            <p class="alert alert-success" role="status" data-testid="email-verified">"Thank you: your email address is verified."</p>
                            <a class="button button-primary button-block" href="/">"Go to your keys"</a>
                        }.into_any(),
                        Err(err) => view! {
                            <p class="alert alert-error" role="alert">{err.to_string()}</p>
                            <p class="muted">"Sign in and use “Send again” in the banner for a fresh link."</p>
                            <a class="button button-block" href="/">"Continue"</a>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
